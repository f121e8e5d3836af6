"""Sign-in lockouts (django-axes) as the administrator sees them, and lifting one."""

from datetime import timedelta

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from . import record
from .models import Kind


def _recent():
    since = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    return AccessAttempt.objects.filter(attempt_time__gte=since)


def locked(field: str) -> list[dict]:
    """Locked logins (``field="username"``) or addresses (``"ip_address"``): the failures in
    the cool-off window reached the limit."""
    return list(
        _recent()
        .values(field)
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last")
    )


@transaction.atomic
def lockout_lift(*, by, username: str = "", address: str = "") -> int:
    """Lift the lock of a login or an address (its failed attempts are forgotten); logged."""
    if not username and not address:
        return 0
    count = reset(username=username or None, ip=address or None)
    record(
        "lockout_lift",
        by=by,
        kind=Kind.UNLOCK,
        object_type="accounts.user" if username else "",
        object_repr=username or address,
        data={"username": username, "address": address, "attempts": count},
    )
    return count
