from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..models import ReportTemplate


def crumbs(*more) -> list:
    return [(reverse("analytics:index"), _("Reports")), *more] if more else [(None, _("Reports"))]


def templates_for(user):
    """The builder's templates ``user`` may open (``may_open_report_template``)."""
    return list(ReportTemplate.objects.for_user(user).select_related("owner"))
