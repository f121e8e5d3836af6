from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import CLIENTS_VIEW
from kvartal.core.nav import NavEntry, register

# The client list itself is a sales page (it shows deals): see kvartal/sales/nav.py.
register(
    NavEntry("leads", _("Leads"), "clients:lead-list", CLIENTS_VIEW, order=50),
    NavEntry("tasks", _("Tasks"), "clients:my-tasks", CLIENTS_VIEW, order=60),
)
