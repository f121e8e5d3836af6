from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kvartal.core.jobs import PERIODIC, Periodic, register_periodic
from kvartal.ops import periodic
from kvartal.ops.models import PeriodicRun
from kvartal.ops.tests import jobs_for_tests

CALLED: list[str] = []


def _count():
    CALLED.append("x")
    return 7


@pytest.fixture
def counting_job():
    CALLED.clear()
    register_periodic("test-count", _count, every=timedelta(minutes=10))
    yield PERIODIC["test-count"]
    PERIODIC.pop("test-count")


def test_firings_near_one_boundary_belong_to_one_period():
    job = Periodic(name="x", function=_count, every=timedelta(minutes=10))
    boundary = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    early, late = boundary - timedelta(minutes=4), boundary + timedelta(minutes=4)
    assert periodic.slot_of(job, early) == periodic.slot_of(job, late) == boundary
    assert periodic.slot_of(job, boundary + timedelta(minutes=6)) == boundary + timedelta(
        minutes=10
    )


def test_a_cron_firing_belongs_to_its_scheduled_time(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    job = Periodic(name="x", function=_count, cron={"hour": 3, "minute": 30})
    fired = datetime(2026, 3, 1, 0, 30, 40, tzinfo=UTC)  # 03:30:40 in Moscow, 40 s late
    assert periodic.slot_of(job, fired) == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_two_schedulers_firing_one_period_run_it_once(
    counting_job, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        first = periodic.claim(counting_job, now)
        second = periodic.claim(counting_job, now + timedelta(seconds=3))
    assert first is not None and second is None
    run = PeriodicRun.objects.get()
    assert (run.runs, run.result, run.failed) == (1, "7", False)
    assert CALLED == ["x"]
    with django_capture_on_commit_callbacks(execute=True):
        assert periodic.claim(counting_job, now + timedelta(minutes=10)) is not None
    assert CALLED == ["x", "x"]


@pytest.mark.django_db
def test_a_period_whose_row_is_gone_ends_cleanly():
    from kvartal.ops.tasks import periodic_run

    assert periodic_run.call(12345) == "gone"


def test_periods_overridden_by_setting(settings):
    settings.KVARTAL_PERIODIC = "holds-expire=5, nothing=3"
    jobs = periodic.discover()
    assert jobs["holds-expire"].every == timedelta(seconds=5)
    assert "nothing" not in jobs
    assert jobs["tasks-remind"].every == timedelta(minutes=1)


def test_the_scheduler_lists_the_sales_jobs(capsys):
    call_command("ops_scheduler", "--list")
    out = capsys.readouterr().out
    assert "holds-expire: interval[0:01:00]" in out
    assert "tasks-remind: interval[0:01:00]" in out


@pytest.mark.django_db(transaction=True)  # the worker closes the connection between jobs
def test_a_failing_job_is_retried_later_with_backoff(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    jobs_for_tests.CALLS.clear()
    jobs_for_tests.flaky.enqueue(4)
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    # the first try failed; the second waits 10 s, so the batch worker stopped there
    failed, waiting = DBTaskResult.objects.order_by("enqueued_at")
    assert failed.status == "FAILED" and waiting.status == "READY"
    assert waiting.args_kwargs == {"args": [4], "kwargs": {"_attempt": 1}}
    delay = (waiting.run_after - failed.started_at).total_seconds()
    assert 9 < delay < 12
    assert jobs_for_tests.CALLS == [4]
    # the last try does not come back
    DBTaskResult.objects.all().delete()
    jobs_for_tests.flaky.enqueue(4, _attempt=2)
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["FAILED"]
