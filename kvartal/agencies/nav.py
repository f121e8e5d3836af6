from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import AGENCIES_MANAGE, AGENCY_CABINET, COMMISSIONS_SETTLE
from kvartal.core.nav import NavEntry, register

register(
    NavEntry("cabinet", _("Agency cabinet"), "agencies:cabinet", AGENCY_CABINET, order=5),
    NavEntry("partners", _("Partners"), "agencies:desk", AGENCIES_MANAGE, order=105),
    NavEntry(
        "commissions", _("Commissions"), "agencies:statement-list", COMMISSIONS_SETTLE, order=106
    ),
)
