"""The door into the job queue (Django's Tasks API, the ``django-tasks`` backport).

A job is a thin door into a service: it takes ids (never model instances), calls one service,
and is idempotent — running it twice, or for a row deleted meanwhile, ends cleanly. Jobs are
defined in each app's ``tasks.py`` with ``@job`` and enqueued with ``enqueue_on_commit`` so
that a worker never sees a row before the transaction that wrote it has committed.

Usage::

    from kvartal.core.jobs import enqueue_on_commit, job

    @job()
    def feed_build(feed_id: int) -> None:
        feed = Feed.objects.filter(pk=feed_id).first()
        if feed is not None:
            services.feed_build(feed=feed)

    enqueue_on_commit(feed_build, feed.pk)

A job that raises is tried again later, ``retries`` times, waiting ``backoff`` seconds, then
twice that, and so on (on a backend that can defer: the database queue and RQ; the immediate
backend of the tests raises at once).

Periodic jobs (a feed rebuilt every hour, backups at night) are registered, not looped::

    from kvartal.core.jobs import register_periodic

    register_periodic("feeds-build", feeds_build_all, every=timedelta(hours=1))
    register_periodic("backup", backup_run, cron={"hour": 3, "minute": 30})

``register_periodic`` goes in the app's ``tasks.py`` (every app's ``tasks`` module is imported
by the scheduler and the workers). The callable takes no arguments and calls a service. The
scheduler (``manage.py ops_scheduler``, kvartal.ops) runs it once per period however many
servers run a scheduler: each period is claimed in the database before it is enqueued.
"""

import functools
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task as _task

__all__ = ["PERIODIC", "Periodic", "enqueue_on_commit", "job", "register_periodic"]

RETRIES = 3
BACKOFF_SECONDS = 30


def job(function=None, *, retries: int = RETRIES, backoff: float = BACKOFF_SECONDS, **options):
    """``@job()`` (or ``@job(retries=5, backoff=60, priority=…, queue_name=…)``): make a
    module-level function a job of the queue, retried with exponential backoff."""

    def wrap(f):
        @functools.wraps(f)
        def run(*args, _attempt: int = 0, **kwargs):
            try:
                return f(*args, **kwargs)
            except Exception:
                _retry_later(holder["task"], args, kwargs, _attempt, retries, backoff)
                raise

        holder = {"task": _task(**options)(run)}
        return holder["task"]

    return wrap(function) if function is not None else wrap


def _retry_later(task, args, kwargs, attempt: int, retries: int, backoff: float) -> None:
    if attempt >= retries:
        return
    if not task.get_backend().supports_defer:
        return
    when = timezone.now() + timedelta(seconds=backoff * 2**attempt)
    task.using(run_after=when).enqueue(*args, _attempt=attempt + 1, **kwargs)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Enqueue ``task(*args, **kwargs)`` once the current transaction commits (at once when
    there is none)."""
    transaction.on_commit(lambda: task.enqueue(*args, **kwargs))


@dataclass(frozen=True)
class Periodic:
    """A job run once per period: ``every`` (a timedelta) or ``cron`` (APScheduler's cron
    fields: ``{"hour": 3, "minute": 30}``, in the company's time zone)."""

    name: str
    function: object
    every: timedelta | None = None
    cron: dict = field(default_factory=dict)


PERIODIC: dict[str, Periodic] = {}


def register_periodic(name: str, function, *, every: timedelta | None = None, cron=None):
    """Register ``function`` (no arguments; it calls a service) to run once per period."""
    if (every is None) == (not cron):
        raise ValueError("a periodic job has either every= or cron=")
    PERIODIC[name] = Periodic(name=name, function=function, every=every, cron=dict(cron or {}))
    return function
