from django.utils.translation import gettext_lazy as _

from kvartal.core.nav import NavEntry, register

register(
    NavEntry(
        "admin", _("Administration"), "admin:index", None, order=1000, visible=lambda u: u.is_staff
    )
)
