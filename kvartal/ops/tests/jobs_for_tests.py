"""Jobs the tests enqueue (a job must live at module level to be importable by a worker)."""

from kvartal.core.jobs import job

CALLS: list[int] = []


@job(retries=2, backoff=10)
def flaky(n: int) -> int:
    CALLS.append(n)
    raise RuntimeError("the service is down")
