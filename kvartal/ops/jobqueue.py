"""What the administrator sees of the job queue: queued, running, failed and done jobs, and
a retry of a failed one. The database queue is read from its table; RQ from its registries."""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from kvartal.core.errors import DomainError

STATUSES = ("READY", "RUNNING", "FAILED", "SUCCESSFUL")


class RetryRefused(DomainError):
    pass


@dataclass
class JobRow:
    id: str
    name: str
    status: str
    args: list
    kwargs: dict = field(default_factory=dict)
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run_after: datetime | None = None
    error: str = ""

    @property
    def attempt(self) -> int:
        return int(self.kwargs.get("_attempt", 0)) + 1

    @property
    def arguments(self) -> str:
        shown = [repr(a) for a in self.args]
        shown += [f"{k}={v!r}" for k, v in self.kwargs.items() if k != "_attempt"]
        return ", ".join(shown)


def backend_kind() -> str:
    backend = settings.TASKS["default"]["BACKEND"]
    if "rq" in backend.lower():
        return "rq"
    if "DatabaseBackend" in backend:
        return "db"
    return "other"


def counts() -> dict[str, int]:
    kind = backend_kind()
    if kind == "db":
        from django.db.models import Count
        from django_tasks_db.models import DBTaskResult

        found = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("pk")).order_by())
        return {s: found.get(s, 0) for s in STATUSES}
    if kind == "rq":
        queue, registries = _rq()
        return {
            "READY": queue.count + registries["scheduled"].count,
            "RUNNING": registries["started"].count,
            "FAILED": registries["failed"].count,
            "SUCCESSFUL": registries["finished"].count,
        }
    return dict.fromkeys(STATUSES, 0)


def jobs(status: str, limit: int = 100) -> list[JobRow]:
    kind = backend_kind()
    if kind == "db":
        from django_tasks_db.models import DBTaskResult, get_date_max

        rows = DBTaskResult.objects.filter(status=status)
        rows = rows.order_by("-enqueued_at") if status != "READY" else rows.order_by("run_after")
        return [
            JobRow(
                id=str(r.id),
                name=r.task_path.rsplit(".", 1)[-1],
                status=r.status,
                args=r.args_kwargs.get("args", []),
                kwargs=r.args_kwargs.get("kwargs", {}),
                enqueued_at=r.enqueued_at,
                started_at=r.started_at,
                finished_at=r.finished_at,
                run_after=None if r.run_after == get_date_max() else r.run_after,
                error=_last_line(r.traceback),
            )
            for r in rows[:limit]
        ]
    if kind == "rq":
        return _rq_jobs(status, limit)
    return []


def _last_line(traceback: str) -> str:
    lines = [line for line in (traceback or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def retry(job_id: str) -> str:
    """Enqueue a failed job again (as its first attempt); the failed record stays."""
    kind = backend_kind()
    if kind == "db":
        from django_tasks_db.models import DBTaskResult

        row = DBTaskResult.objects.filter(pk=job_id, status="FAILED").first()
        if row is None:
            raise RetryRefused(_("This job has not failed (or is gone): nothing to retry."))
        kwargs = {k: v for k, v in row.args_kwargs.get("kwargs", {}).items() if k != "_attempt"}
        try:
            task = row.task.using(run_after=None)
        except ImportError as error:
            raise RetryRefused(_("This job no longer exists in the code.")) from error
        result = task.enqueue(*row.args_kwargs.get("args", []), **kwargs)
        return str(result.id)
    if kind == "rq":
        queue, registries = _rq()
        if job_id not in registries["failed"].get_job_ids():
            raise RetryRefused(_("This job has not failed (or is gone): nothing to retry."))
        registries["failed"].requeue(job_id)
        return job_id
    raise RetryRefused(_("This job queue cannot retry jobs."))


# --- RQ -----------------------------------------------------------------------------------


def _rq():
    import django_rq
    from rq.registry import (
        FailedJobRegistry,
        FinishedJobRegistry,
        ScheduledJobRegistry,
        StartedJobRegistry,
    )

    queue = django_rq.get_queue("default")
    return queue, {
        "started": StartedJobRegistry(queue=queue),
        "failed": FailedJobRegistry(queue=queue),
        "finished": FinishedJobRegistry(queue=queue),
        "scheduled": ScheduledJobRegistry(queue=queue),
    }


def _rq_jobs(status: str, limit: int) -> list[JobRow]:
    from rq.job import Job

    queue, registries = _rq()
    if status == "READY":
        ids = queue.get_job_ids()[:limit] + registries["scheduled"].get_job_ids()[:limit]
    else:
        key = {"RUNNING": "started", "FAILED": "failed", "SUCCESSFUL": "finished"}[status]
        ids = registries[key].get_job_ids()[-limit:][::-1]
    rows = []
    for job in Job.fetch_many(ids[:limit], connection=queue.connection):
        if job is None:
            continue
        rows.append(
            JobRow(
                id=job.id,
                name=(job.func_name or "").rsplit(".", 1)[-1],
                status=status,
                args=list(job.args or []),
                kwargs=dict(job.kwargs or {}),
                enqueued_at=job.enqueued_at,
                started_at=job.started_at,
                finished_at=job.ended_at,
                error=_last_line(job.exc_info or ""),
            )
        )
    return rows
