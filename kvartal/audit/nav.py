from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import AUDIT_VIEW
from kvartal.core.nav import NavEntry, register

register(NavEntry("audit", _("Audit log"), "audit:event-list", AUDIT_VIEW, order=1005))
