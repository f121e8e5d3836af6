from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import DOCUMENTS_GENERATE
from kvartal.core.nav import NavEntry, register

register(NavEntry("documents", _("Documents"), "documents:index", DOCUMENTS_GENERATE, order=95))
