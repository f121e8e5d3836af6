import pytest
from django.contrib.sessions.models import Session
from django.db import connections
from django.http import HttpResponse
from django.test import RequestFactory

from kvartal.accounts.models import User
from kvartal.ops.routers import (
    ReplicaForReportsMiddleware,
    ReplicaRouter,
    reading_replica,
    replica_wanted,
)
from kvartal.sales.models import Deal, Hold

router = ReplicaRouter()


@pytest.fixture
def replica(settings):
    settings.DATABASES = {**settings.DATABASES, "replica": dict(settings.DATABASES["default"])}


def test_without_a_replica_everything_reads_the_primary(settings):
    with reading_replica():
        assert router.db_for_read(Deal) == "default"


def test_reports_read_business_rows_from_the_replica_and_nothing_else(replica, monkeypatch):
    assert router.db_for_read(Deal) == "default"  # not asked for
    with reading_replica():
        assert router.db_for_read(Deal) == router.db_for_read(Hold) == "replica"
        assert router.db_for_read(User) == "default"  # sign-in, users: the primary
        assert router.db_for_read(Session) == "default"
        assert router.db_for_write(Deal) == "default"
        # inside a transaction on the primary (a sales service under its locks): the primary
        monkeypatch.setattr(connections["default"], "in_atomic_block", True)
        assert router.db_for_read(Deal) == "default"
        monkeypatch.undo()
        assert router.db_for_read(Deal) == "replica"
    assert router.db_for_read(Deal) == "default"
    assert router.allow_migrate("replica", "sales") is False
    assert router.allow_migrate("default", "sales") is True


@pytest.mark.parametrize(
    "method, path, expected",
    [
        ("get", "/app/reports/", True),
        ("get", "/app/reports/sales/export.xlsx", True),
        ("post", "/app/reports/access/", False),
        ("get", "/app/holds/", False),
        ("get", "/nowhere/at/all/", False),
    ],
)
def test_the_middleware_sends_report_pages_to_the_replica(replica, method, path, expected):
    seen = []

    def view(request):
        seen.append(replica_wanted())
        return HttpResponse()

    ReplicaForReportsMiddleware(view)(getattr(RequestFactory(), method)(path))
    assert seen == [expected]
    assert replica_wanted() is False
