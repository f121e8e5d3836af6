"""The platform's jobs and the periodic jobs of the sales office.

Each periodic job calls one service; the services are idempotent (a hold is finalised under
its unit's lock, a notice is claimed by a unique key before it is sent).
"""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from kvartal.core.jobs import job, register_periodic
from kvartal.ops.models import PeriodicRun


@job(retries=0)  # a failed period is tried again by the next one
def periodic_run(run_id: int) -> str:
    """Run the claimed period ``run_id`` of a periodic job (see kvartal.ops.periodic)."""
    from kvartal.ops.periodic import discover

    run = PeriodicRun.objects.filter(pk=run_id).first()
    if run is None:
        return "gone"
    periodic = discover().get(run.name)
    PeriodicRun.objects.filter(pk=run_id).update(runs=F("runs") + 1, started_at=timezone.now())
    if periodic is None:
        PeriodicRun.objects.filter(pk=run_id).update(
            finished_at=timezone.now(), result="not registered", failed=True
        )
        return "not registered"
    try:
        result = periodic.function()
    except Exception as error:
        PeriodicRun.objects.filter(pk=run_id).update(
            finished_at=timezone.now(), result=repr(error)[:300], failed=True
        )
        raise
    text = "" if result is None else str(result)[:300]
    PeriodicRun.objects.filter(pk=run_id).update(
        finished_at=timezone.now(), result=text, failed=False
    )
    return text


# --- the sales office's periodic jobs ----------------------------------------------------


def holds_expire() -> int:
    from kvartal.sales.services.holds import holds_expire as service

    return service()


def tasks_remind() -> int:
    """Due tasks, told in the app and/or by e-mail as each assignee chose."""
    from kvartal.ops.notifications import tasks_due_notify

    return tasks_due_notify()


register_periodic("holds-expire", holds_expire, every=timedelta(minutes=1))
register_periodic("tasks-remind", tasks_remind, every=timedelta(minutes=1))


# --- backups --------------------------------------------------------------------------


def backup_daily() -> str:
    from kvartal.ops.backups import backup_create, backups_rotate

    backup = backup_create()
    gone = backups_rotate()
    return f"{backup.file}: {'ok' if backup.verified_ok else 'FAILED'}; rotated {len(gone)}"


@job(retries=2, backoff=300)
def backup_now() -> str:
    """A backup asked for on the backups page."""
    return backup_daily()


def _backup_at() -> dict:
    from django.conf import settings

    hour, _colon, minute = getattr(settings, "KVARTAL_BACKUP_AT", "03:30").partition(":")
    return {"hour": int(hour), "minute": int(minute or 0)}


register_periodic("backup", backup_daily, cron=_backup_at())


# --- notifications ----------------------------------------------------------------------


@job(retries=5, backoff=60)
def notification_email(delivery_id: int) -> bool:
    from kvartal.ops.notifications import notification_email_send

    return notification_email_send(delivery_id=delivery_id)


def holds_warn() -> int:
    from kvartal.ops.notifications import holds_warn as service

    return service()


def payments_overdue() -> int:
    from kvartal.ops.notifications import payments_overdue_notify

    return payments_overdue_notify()


def deals_approval() -> int:
    from kvartal.ops.notifications import deals_approval_notify

    return deals_approval_notify()


register_periodic("holds-warn", holds_warn, every=timedelta(minutes=5))
register_periodic("payments-overdue", payments_overdue, cron={"hour": 9, "minute": 0})
register_periodic("deals-approval", deals_approval, every=timedelta(minutes=5))
