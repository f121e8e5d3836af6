from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import ANALYTICS_VIEW
from kvartal.core.nav import NavEntry, register

register(
    NavEntry("dashboard", _("Dashboard"), "analytics:dashboard", ANALYTICS_VIEW, order=110),
    NavEntry("reports", _("Reports"), "analytics:index", ANALYTICS_VIEW, order=120),
)
