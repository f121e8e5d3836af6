"""How many queries the sales writers take: pinned, so that the hold path (and what the demo
loader replays thousands of times) cannot silently grow again.

Counted inside the test's transaction, so each service's own ``atomic`` shows as one
``SAVEPOINT`` and one ``RELEASE`` (in production: BEGIN/COMMIT, not counted). Each budget
holds one INSERT more since the audit log: the rows of one service call (with the services
it calls) are written by one ``bulk_create``, built from what the service loaded (no read).
Before the rework (issue #3 §10): hold_create 20, hold_cancel 16, deal_open 32 (from a hold) / 24,
deal_move 11, payment_record 7, holds_expire 18 for one hold.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.inventory.models import StatusChange, UnitStatus
from kvartal.sales.models import DealEvent, HoldState, QueueEntry, QueueState, SalesSettings
from kvartal.sales.services.deals import deal_move, deal_open
from kvartal.sales.services.holds import (
    hold_cancel,
    hold_create,
    holds_expire,
)
from kvartal.sales.services.payments import payment_record
from kvartal.testing import make_user

from .factories import make_client, make_deal, make_unit, stage


@pytest.fixture
def settings_row(db):
    return SalesSettings.current()


@pytest.fixture
def unit(settings_row):
    return make_unit()


@pytest.fixture
def buyer(manager):
    return make_client(manager=manager)


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries]


def test_hold_create_locks_and_reads_the_unit_once_and_writes_it_once(
    unit, buyer, manager, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as ctx:
        hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)

    sql = _statements(ctx)
    # settings, the lock, one check (live hold, deal, queue), hold, event, history, unit
    assert sum(s.startswith('SELECT "inventory_unit"') for s in sql) == 1
    assert sum(s.startswith('UPDATE "inventory_unit"') for s in sql) == 1
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1  # the function's own atomic only
    assert not any("sales_queueentry" in s and s.startswith("UPDATE") for s in sql)
    unit.refresh_from_db()
    assert (unit.status, unit.hold_until) == (UnitStatus.RESERVED, hold.expires_at)
    change = StatusChange.objects.filter(unit=unit).latest("pk")
    assert (change.old_status, change.new_status) == (UnitStatus.AVAILABLE, UnitStatus.RESERVED)


def test_hold_create_for_a_waiting_client_costs_one_more_query(
    unit, buyer, manager, django_assert_max_num_queries
):
    # A waiting entry on an available unit (left by data from before the queue moved on).
    entry = QueueEntry.objects.create(unit=unit, client=buyer, manager=manager)
    with django_assert_max_num_queries(11):
        hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    entry.refresh_from_db()
    assert (entry.state, entry.hold) == (QueueState.GRANTED, hold)


def test_hold_cancel_query_count(unit, buyer, manager, django_assert_max_num_queries):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    with django_assert_max_num_queries(9):
        hold_cancel(hold=hold, by=manager, reason="changed their mind")
    unit.refresh_from_db()
    assert (unit.status, unit.hold_until) == (UnitStatus.AVAILABLE, None)


def test_holds_expire_query_count_for_one_hold(unit, buyer, manager, django_assert_max_num_queries):
    hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    with django_assert_max_num_queries(11):
        assert holds_expire(timezone.now() + timedelta(days=2)) == 1
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE


def test_deal_open_query_counts(unit, buyer, manager, django_assert_max_num_queries):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    # + the default schedule laid out with the deal (its lines and its event); the year's
    # first deal also creates the year's number counter (3 more: the last number, the row,
    # the counter taken again); the deal's unit row (``DealUnit``) and the running promotions
    # with a condition (the pricing rule); the deal's ``owes_from`` read from its rows and
    # written (``sales.owing``)
    with django_assert_max_num_queries(26):
        deal = deal_open(by=manager, buyers=[(buyer,)], hold=hold)
    hold.refresh_from_db()
    assert (deal.hold, hold.state) == (hold, HoldState.CONVERTED)
    other = make_unit()
    with django_assert_max_num_queries(21):
        deal_open(by=manager, buyers=[(buyer,)], unit=other)


def test_deal_move_query_count(manager, settings_row, django_assert_max_num_queries):
    deal = make_deal(manager=manager)
    signed = stage("signed")
    # the deal's units (read before their locks), lock, deal, transition, the schedule's
    # total (leaving the first stage), deal update, event (the unit's status does not change
    # here), and the agencies' listener releasing commissions held back until a stage (one
    # read)
    with django_assert_max_num_queries(11):
        deal_move(deal=deal, stage=signed, by=manager)
    deal.unit.refresh_from_db()
    assert deal.unit.status == signed.unit_status


def test_payment_record_query_count(manager, settings_row, django_assert_max_num_queries):
    cashier = make_user(Role.CASHIER)
    deal = make_deal(manager=manager)
    payment_record(deal=deal, amount="1000.50", received_on=timezone.localdate(), by=cashier)
    # … and the agencies' listener accruing the manager's commission on the money received
    # (the manager's rule, else the default rule: two reads); the deal's ``owes_from`` read
    # from its rows (written only when it moves)
    with django_assert_max_num_queries(10):
        payment_record(deal=deal, amount="2000", received_on=timezone.localdate(), by=cashier)
    event = DealEvent.objects.filter(deal=deal, kind="payment").latest("pk")
    assert Decimal(event.data["outstanding"]) == deal.total_due - Decimal("3000.50")
