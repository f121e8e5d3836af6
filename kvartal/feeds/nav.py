from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import FEEDS_MANAGE
from kvartal.core.nav import NavEntry, register

register(NavEntry("feeds", _("Listing feeds"), "feeds:list", FEEDS_MANAGE, order=102))
