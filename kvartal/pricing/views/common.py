from django.urls import reverse
from django.utils.translation import gettext as _


def crumbs(*tail):
    return [(reverse("pricing:index"), _("Pricing")), *tail]


def error_text(exc: Exception) -> str:
    return "; ".join(getattr(exc, "messages", None) or [str(exc)])
