import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult, get_date_max

pytestmark = pytest.mark.django_db


@pytest.fixture
def db_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _failed_job():
    return DBTaskResult.objects.create(
        status="FAILED",
        args_kwargs={"args": [7], "kwargs": {"_attempt": 2}},
        task_path="kvartal.ops.tests.jobs_for_tests.flaky",
        backend_name="default",
        run_after=get_date_max(),
        exception_class_path="builtins.RuntimeError",
        traceback="Traceback…\nRuntimeError: the service is down\n",
    )


def test_the_administrator_sees_failed_jobs_and_retries_one(client, admin_user, db_queue):
    failed = _failed_job()
    client.force_login(admin_user)
    page = client.get(reverse("ops:jobs")).content.decode()
    assert "flaky" in page and "RuntimeError: the service is down" in page
    response = client.post(reverse("ops:job-retry", args=[failed.pk]))
    assert response.status_code == 302
    again = DBTaskResult.objects.exclude(pk=failed.pk).get()
    assert again.status == "READY" and again.args_kwargs == {"args": [7], "kwargs": {}}
    assert DBTaskResult.objects.get(pk=failed.pk).status == "FAILED"  # the record stays
    queued = client.get(reverse("ops:jobs") + "?status=READY").content.decode()
    assert "flaky" in queued


def test_a_job_that_did_not_fail_is_not_retried(client, admin_user, db_queue):
    failed = _failed_job()
    DBTaskResult.objects.filter(pk=failed.pk).update(status="SUCCESSFUL")
    client.force_login(admin_user)
    response = client.post(reverse("ops:job-retry", args=[failed.pk]), follow=True)
    assert "nothing to retry" in response.content.decode()
    assert DBTaskResult.objects.count() == 1


def test_only_administrators_see_the_job_queue(client, manager, director, db_queue):
    failed = _failed_job()
    for user in (manager, director):
        client.force_login(user)
        assert client.get(reverse("ops:jobs")).status_code == 403
        assert client.post(reverse("ops:job-retry", args=[failed.pk])).status_code == 403
    assert DBTaskResult.objects.count() == 1
