from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import SHOWCASE_MANAGE
from kvartal.core.nav import NavEntry, register

register(NavEntry("showcase", _("Showcase"), "showcase-office:home", SHOWCASE_MANAGE, order=102))
