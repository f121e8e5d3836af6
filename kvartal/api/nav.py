from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import INTEGRATIONS
from kvartal.core.nav import NavEntry, register

register(
    NavEntry("integrations", _("Integrations"), "integrations:index", INTEGRATIONS, order=1008)
)
