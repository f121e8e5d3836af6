"""Who sees which report: ``analytics.view`` opens the reports; a director's login sees only
the reports an administrator chose for it (no choice made: all of them)."""

from kvartal.accounts.models import Role
from kvartal.accounts.permissions import ANALYTICS_VIEW, has_capability

from .base import REPORTS, Report
from .models import ReportAccess


def chosen_reports(user) -> list[str] | None:
    """The report keys chosen for a director's login, or None (not limited)."""
    if user.role != Role.DIRECTOR or user.is_superuser:
        return None
    access = ReportAccess.objects.filter(user=user).first()
    return None if access is None else list(access.reports)


def visible_reports(user) -> list[Report]:
    if not has_capability(user, ANALYTICS_VIEW):
        return []
    chosen = chosen_reports(user)
    return [r for key, r in REPORTS.items() if chosen is None or key in chosen]


def report_for(user, key: str) -> Report | None:
    """The report ``key`` if ``user`` may see it."""
    return next((r for r in visible_reports(user) if r.key == key), None)


def reports_choose(user, keys: list[str] | None) -> None:
    """Limit a director's login to the reports ``keys`` (unknown keys dropped), or lift the
    limit with ``None``."""
    if keys is None:
        ReportAccess.objects.filter(user=user).delete()
        return
    chosen = [k for k in keys if k in REPORTS]
    ReportAccess.objects.update_or_create(user=user, defaults={"reports": chosen})
