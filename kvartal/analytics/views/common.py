from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import ANALYTICS_CONFIGURE, ANALYTICS_VIEW, has_capability

from ..models import ReportTemplate


def crumbs(*more) -> list:
    return [(reverse("analytics:index"), _("Reports")), *more] if more else [(None, _("Reports"))]


def templates_for(user):
    """The builder's templates ``user`` may open: their own and those shared with their role."""
    if not has_capability(user, ANALYTICS_VIEW):
        return []
    if has_capability(user, ANALYTICS_CONFIGURE):
        return list(ReportTemplate.objects.select_related("owner"))
    # A handful of rows; JSON "contains" is not available on SQLite, so the roles are read here.
    return [
        t
        for t in ReportTemplate.objects.select_related("owner")
        if t.owner_id == user.pk or user.role in t.roles()
    ]
