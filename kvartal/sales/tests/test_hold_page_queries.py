"""The hold page's POST reads the unit once — under its lock, in the service — and only the
columns the hold needs: pinned by counting the queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kvartal.inventory.models import UnitStatus
from kvartal.sales.models import Hold, HoldTerm, SalesSettings

from .factories import make_client, make_unit

pytestmark = pytest.mark.django_db


def _form(manager, buyer) -> dict:
    until = timezone.localtime() + timedelta(days=1)
    return {
        "client": buyer.pk,
        "manager": manager.pk,
        "kind": "oral",
        "basis": "other",
        "term": "custom",
        "expires_at": until.strftime("%Y-%m-%dT%H:%M"),
    }


def test_the_hold_page_post_reads_the_unit_once_under_its_lock_and_only_what_it_needs(
    client, manager
):
    SalesSettings.current()
    HoldTerm.offered()  # remembered per process, as the sales settings
    buyer = make_client(manager=manager)
    unit = make_unit()
    client.force_login(manager)
    url = reverse("sales:hold-create", args=[unit.pk])
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url, _form(manager, buyer))
    assert response.status_code == 302, response.content.decode()[:2000]
    sql = [q["sql"] for q in ctx.captured_queries]
    # the session with its user, client (the hold terms are remembered as the sales settings
    # are, the manager is the user: no query); savepoint, the unit under its lock, the
    # check (hold, deal, queue), hold, event, history row, unit update, audit row, release.
    # 15 before: the view read the whole unit (with its place) before the service locked it;
    # 14 with the hold terms and the manager read; 12 with the user read apart.
    assert len(sql) == 11, "\n".join(sql)
    units = [q for q in sql if q.startswith("SELECT") and 'FROM "inventory_unit"' in q]
    assert len(units) == 1
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in units[0]
    assert " JOIN " not in units[0]  # the unit's row alone under the lock
    # the columns of the sales state only, not the whole row (areas, finishing, plan …)
    assert '"total_area"' not in units[0] and '"special_conditions"' not in units[0]
    assert Hold.objects.get().unit_id == unit.pk
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED


def test_holding_a_unit_that_does_not_exist_is_a_404_and_writes_nothing(client, manager):
    SalesSettings.current()
    buyer = make_client(manager=manager)
    client.force_login(manager)
    url = reverse("sales:hold-create", args=[987654])
    assert client.post(url, _form(manager, buyer)).status_code == 404
    assert not Hold.objects.exists()
