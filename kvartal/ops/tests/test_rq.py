"""The job queue's page on RQ, against the Redis of this machine (skipped without one)."""

import pytest
from django.urls import reverse

from kvartal.ops import jobqueue
from kvartal.ops.tests import jobs_for_tests

REDIS = "redis://127.0.0.1:6379/12"


@pytest.fixture
def rq_queue(settings):
    import redis

    connection = redis.Redis.from_url(REDIS)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    connection.flushdb()
    settings.RQ_QUEUES = {"default": {"URL": REDIS}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    yield connection
    connection.flushdb()


def _work_off(connection):
    from django_tasks_rq import Job
    from rq import Queue, SimpleWorker

    class BurstWorker(SimpleWorker):
        """Works the queue off once, without the channel a worker takes commands on: its
        listening thread (redis-py's, waiting up to 60 s for a message) held the end of
        every burst for a minute, and a burst takes no commands."""

        def subscribe(self):
            pass

        def unsubscribe(self):
            pass

    queue = Queue("default", connection=connection, job_class=Job)
    BurstWorker([queue], connection=connection, job_class=Job).work(burst=True)


@pytest.mark.django_db
def test_a_failed_rq_job_is_listed_and_retried(rq_queue, client, admin_user):
    result = jobs_for_tests.flaky.enqueue(5)
    _work_off(rq_queue)
    counts = jobqueue.counts()
    assert counts["FAILED"] == 1
    assert counts["READY"] == 1  # the automatic retry, deferred by its backoff
    (failed,) = jobqueue.jobs("FAILED")
    assert failed.id == result.id and failed.args == [5]
    assert "the service is down" in failed.error
    client.force_login(admin_user)
    assert "flaky" in client.get(reverse("ops:jobs") + "?status=FAILED").content.decode()
    client.post(reverse("ops:job-retry", args=[result.id]))
    counts = jobqueue.counts()
    assert counts["FAILED"] == 0 and counts["READY"] == 2
    with pytest.raises(jobqueue.RetryRefused):
        jobqueue.retry(result.id)
