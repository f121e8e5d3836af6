"""The scheduler of periodic jobs: APScheduler fires, the database decides.

Every server may run ``manage.py ops_scheduler``. At each firing a scheduler computes the
period the firing belongs to (the nearest boundary of an interval job; the cron time being
fired) and inserts ``PeriodicRun(name, slot)``. The unique pair lets one insert through: that
scheduler enqueues ``ops.tasks.periodic_run(name, slot)``; the others skip. So a period runs
once however many schedulers fire it, and a job late by less than half a period still
counts for its own period.
"""

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from kvartal.core.jobs import PERIODIC, Periodic, enqueue_on_commit
from kvartal.ops.models import PeriodicRun

log = logging.getLogger(__name__)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
CRON_LATE = timedelta(minutes=5)


def discover() -> dict[str, Periodic]:
    """Import every app's ``tasks`` module (where periodic jobs register) and return the
    registry, with the periods overridden by ``KVARTAL_PERIODIC`` ("name=seconds,…")."""
    from importlib import import_module

    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "tasks"):
            import_module(f"{config.name}.tasks")
    jobs = dict(PERIODIC)
    for name, seconds in overrides().items():
        if name in jobs:
            jobs[name] = Periodic(name=name, function=jobs[name].function, every=seconds)
    return jobs


def overrides() -> dict[str, timedelta]:
    found = {}
    for item in getattr(settings, "KVARTAL_PERIODIC", "").split(","):
        name, _eq, seconds = item.strip().partition("=")
        if name and seconds:
            found[name] = timedelta(seconds=float(seconds))
    return found


def trigger_of(periodic: Periodic):
    if periodic.every is not None:
        return IntervalTrigger(
            seconds=periodic.every.total_seconds(), start_date=EPOCH, timezone=UTC
        )
    return CronTrigger(timezone=settings.TIME_ZONE, **periodic.cron)


def slot_of(periodic: Periodic, now: datetime) -> datetime:
    """The period a firing at ``now`` belongs to."""
    if periodic.every is not None:
        every = periodic.every.total_seconds()
        n = round((now - EPOCH).total_seconds() / every)
        return EPOCH + timedelta(seconds=n * every)
    fire = trigger_of(periodic).get_next_fire_time(None, now - CRON_LATE)
    return fire.astimezone(UTC).replace(microsecond=0)


def claim(periodic: Periodic, now: datetime | None = None) -> PeriodicRun | None:
    """Claim the current period of ``periodic`` and enqueue its run (after commit). None when
    another scheduler claimed it first."""
    now = now or timezone.now()
    slot = slot_of(periodic, now)
    try:
        with transaction.atomic():
            run = PeriodicRun.objects.create(name=periodic.name, slot=slot, enqueued_at=now)
            from kvartal.ops.tasks import periodic_run

            enqueue_on_commit(periodic_run, run.pk)
    except IntegrityError:
        return None
    return run


def fire(name: str) -> None:
    """APScheduler's callback: claim and enqueue; a database hiccup is logged, the next
    firing tries again."""
    from django.db import close_old_connections

    close_old_connections()
    try:
        jobs = discover()
        if name in jobs and claim(jobs[name]) is not None:
            log.info("periodic job %s enqueued", name)
    except Exception:  # noqa: BLE001 - a scheduler must outlive one failed firing
        log.exception("periodic job %s could not be enqueued", name)
    finally:
        close_old_connections()
