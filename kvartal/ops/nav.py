from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import ADMIN_SITE
from kvartal.core.nav import NavEntry, register

register(NavEntry("ops", _("Operations"), "ops:backups", ADMIN_SITE, order=1010))
