from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import CALLS_PANEL
from kvartal.core.nav import NavEntry, register

register(NavEntry("calls", _("Calls"), "callcentre:panel", CALLS_PANEL, order=105))
