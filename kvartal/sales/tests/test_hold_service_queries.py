"""A hold through the service costs a fixed set of statements — the unit under its lock, the
rule's facts, the rows it must write, one audit insert — and one cache command after the
commit: pinned by counting them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kvartal.inventory.models import StatusChange, UnitStatus
from kvartal.sales.models import Hold, HoldEvent, SalesSettings
from kvartal.sales.services.holds import hold_create
from kvartal.showcase import cache

from .factories import make_client, make_unit

pytestmark = pytest.mark.django_db


def test_a_hold_is_the_lock_the_rule_its_rows_and_one_audit_insert(
    manager, django_capture_on_commit_callbacks
):
    SalesSettings.current()
    buyer = make_client(manager=manager)
    unit = make_unit()
    with (
        django_capture_on_commit_callbacks() as callbacks,
        CaptureQueriesContext(connection) as ctx,
    ):
        hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    sql = [q["sql"] for q in ctx.captured_queries]
    # savepoint (the test's transaction around it), the unit under its lock, the rule's
    # facts (hold, deal, queue) in one statement, the hold, its event, the unit's history
    # row, the unit's update, the audit rows in one insert, release
    assert len(sql) == 9, "\n".join(sql)
    units = [q for q in sql if q.startswith("SELECT") and 'FROM "inventory_unit"' in q]
    assert len(units) == 1
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in units[0]
    # the unit's row alone: a join would lock the section's and floor's rows too
    assert " JOIN " not in units[0] and "ORDER BY" not in units[0]
    assert sum('INTO "audit_auditevent"' in q for q in sql) == 1
    assert not any("sales_salessettings" in q or "sales_holdterm" in q for q in sql)
    # after the commit: one callback forgets the unit's showcase pages, with one command
    forgets = [c for c in callbacks if isinstance(c, cache._Pending)]
    assert len(forgets) == 1 and forgets[0].ids == {unit.pk}
    # and everything a hold guarantees is there
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED and unit.hold_until == hold.expires_at
    assert HoldEvent.objects.filter(hold=hold, kind="created").count() == 1
    assert StatusChange.objects.filter(unit=unit, new_status=UnitStatus.RESERVED).count() == 1
    assert Hold.objects.get().price == unit.price


def test_locking_a_unit_that_does_not_exist_raises_does_not_exist(manager):
    from django.db import transaction

    from kvartal.inventory.models import Unit
    from kvartal.inventory.services import SALES_FIELDS, unit_lock

    with transaction.atomic(), pytest.raises(Unit.DoesNotExist):
        unit_lock(unit_id=987654, fields=SALES_FIELDS)


def test_the_locked_unit_reads_as_the_orm_reads_it(manager):
    from django.db import transaction

    from kvartal.inventory.models import Unit
    from kvartal.inventory.services import SALES_FIELDS, unit_lock

    unit = make_unit()
    expected = Unit.objects.get(pk=unit.pk)
    with transaction.atomic():
        few = unit_lock(unit_id=unit.pk, fields=SALES_FIELDS)
        whole = unit_lock(unit_id=unit.pk)
    for name in SALES_FIELDS:
        assert getattr(few, name) == getattr(expected, name), name
    assert few.get_deferred_fields() >= {"total_area", "building_id"}
    for field in Unit._meta.concrete_fields:
        assert getattr(whole, field.attname) == getattr(expected, field.attname), field.name
