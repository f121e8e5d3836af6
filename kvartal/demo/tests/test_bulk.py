"""The bulk loader: its rows tell one consistent story, as the services' would."""

import dataclasses
import random
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Q, Sum

from kvartal.accounts.models import Role
from kvartal.clients.models import Lead, LeadStatus, Task
from kvartal.demo import bulk
from kvartal.demo.create import create
from kvartal.demo.data import END, SIZES
from kvartal.demo.plan import plan
from kvartal.inventory.models import (
    Building,
    Floor,
    PriceChange,
    Project,
    StatusChange,
    Unit,
    UnitChange,
    UnitStatus,
)
from kvartal.sales.models import (
    Deal,
    Hold,
    HoldEvent,
    HoldEventKind,
    HoldState,
    Payment,
    PaymentLine,
)

pytestmark = pytest.mark.django_db


def test_the_command_loads_in_bulk():
    """First in the module: the others share one load (``loaded``), kept until the end."""
    out = StringIO()
    call_command("seed_demo", "--size", "XS", "--no-users", "--seed", "3", stdout=out)
    text = out.getvalue()
    assert "status changes" in text
    assert "deals" in text
    assert "history in bulk" in text
    assert Unit.objects.count() >= 100
    # the history went in without the services: one audit row says so, none claims a call
    from kvartal.audit.models import AuditEvent

    loaded = AuditEvent.objects.get(action="seed_demo")
    assert "in bulk" in loaded.object_repr and loaded.data["deals"] == Deal.objects.count()
    assert not AuditEvent.objects.filter(action__in=["deal_open", "payment_record"]).exists()


def inventory_and_history() -> dict[str, list]:
    """Everything ``create`` writes, by natural keys, history rows in the order written."""
    place = ("building__project__name", "building__name", "kind", "number")
    unit = tuple(f"unit__{x}" for x in place)
    return {
        "projects": list(Project.objects.order_by("pk").values_list("name", "address")),
        "buildings": list(
            Building.objects.order_by("pk").values_list(
                "project__name", "name", "kind", "object_code", "readiness", "serves__name"
            )
        ),
        "floors": list(
            Floor.objects.order_by("pk").values_list(
                "section__building__name", "section__number", "index", "label", "is_typical"
            )
        ),
        "units": list(
            Unit.objects.order_by(*place).values_list(
                *place, "code", "rooms", "total_area", "price", "status", "status_changed_at",
                "created_at", "view", "finishing", "ceiling_height", "has_balcony", "length",
                "principal__name",
            )
        ),
        "status": list(
            StatusChange.objects.order_by("pk").values_list(
                *unit, "at", "old_status", "new_status", "price", "reason"
            )
        ),
        "prices": list(
            PriceChange.objects.order_by("pk").values_list(
                *unit, "at", "old_price", "new_price", "batch__description", "batch__units_count"
            )
        ),
        "data": list(UnitChange.objects.order_by("pk").values_list(*unit, "at", "changes")),
    }  # fmt: skip


def test_the_bulk_inventory_is_what_create_writes(keeper):
    """``create_inventory`` writes what ``create`` writes through the services, row by row."""
    people = {Role.INVENTORY_KEEPER: keeper}
    spec = dataclasses.replace(SIZES["S"], units=UNITS)
    sid = transaction.savepoint()
    create(plan(spec, random.Random(SEED)), people, lambda s: None)
    expected = inventory_and_history()
    transaction.savepoint_rollback(sid)
    assert not Unit.objects.exists()
    bulk.create_inventory(plan(spec, random.Random(SEED)), people)
    written = inventory_and_history()
    assert len(expected["units"]) > UNITS
    assert len(expected["status"]) > len(expected["units"])  # closed floors
    assert expected["prices"] and expected["data"]
    for name, rows in expected.items():
        assert written[name] == rows, name


# S-shaped buildings until ~500 units; seed 4 plans a reopening of closed floors, so that
# every kind of move shows up.
UNITS, SEED = 500, 4


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """One load for the module's tests (≈3 s), rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield bulk.generate_bulk(size="S", seed=SEED, users=False, units=UNITS)
        transaction.set_rollback(True)


def chains() -> dict[int, list[tuple]]:
    rows = defaultdict(list)
    for unit_id, at, old, new, price in StatusChange.objects.order_by(
        "unit_id", "at", "pk"
    ).values_list("unit_id", "at", "old_status", "new_status", "price"):
        rows[unit_id].append((at, old, new, price))
    return rows


def test_every_unit_is_where_its_status_history_left_it(loaded):
    history = chains()
    units = list(Unit.objects.values_list("pk", "status", "status_changed_at"))
    assert len(units) >= UNITS
    for pk, status, changed_at in units:
        rows = history[pk]
        assert rows[0][1] == "", f"unit {pk}: the first row is its creation"
        for before, after in zip(rows, rows[1:], strict=False):
            assert after[1] == before[2], f"unit {pk}: {before} then {after}"
        assert rows[-1][2] == status, pk
        assert rows[-1][0] == changed_at, pk


def test_the_history_has_every_kind_of_move(loaded):
    moves = set(StatusChange.objects.values_list("old_status", "new_status").distinct())
    for move in [
        ("", UnitStatus.AVAILABLE),
        (UnitStatus.AVAILABLE, UnitStatus.NOT_FOR_SALE),
        (UnitStatus.NOT_FOR_SALE, UnitStatus.AVAILABLE),
        (UnitStatus.AVAILABLE, UnitStatus.RESERVED),
        (UnitStatus.RESERVED, UnitStatus.AVAILABLE),
        (UnitStatus.RESERVED, UnitStatus.IN_DEAL),
        (UnitStatus.AVAILABLE, UnitStatus.IN_DEAL),
        (UnitStatus.IN_DEAL, UnitStatus.SOLD),
    ]:
        assert move in moves, move
    assert Hold.objects.filter(state=HoldState.ACTIVE).exists()
    assert Hold.objects.filter(state=HoldState.CANCELLED).exists()
    assert Hold.objects.filter(state=HoldState.CONVERTED).exists()
    assert Hold.objects.filter(state=HoldState.EXPIRED).exists()
    assert HoldEvent.objects.filter(kind=HoldEventKind.EXTENDED).exists()
    assert PriceChange.objects.filter(batch__isnull=False).exists()
    # Every buyer first called as a lead, converted when they came; most leads bought
    # nothing: lost with the manager's reason, or recent and still being worked on.
    statuses = Counter(Lead.objects.values_list("status", flat=True))
    open_ = (LeadStatus.NEW, LeadStatus.IN_WORK)
    assert set(statuses) <= {LeadStatus.CONVERTED, LeadStatus.LOST, *open_}
    assert 0.2 < statuses[LeadStatus.CONVERTED] / statuses.total() < 0.45
    assert statuses[LeadStatus.LOST] > statuses[LeadStatus.CONVERTED]
    assert not Lead.objects.filter(status=LeadStatus.LOST, lost_reason="").exists()
    stale = Lead.objects.filter(status__in=open_, created_at__lt=END - timedelta(days=14))
    assert not stale.exists()
    # A lead in work has its next step planned, due today or in the next days.
    working = Lead.objects.filter(status=LeadStatus.IN_WORK)
    assert working.exists() and not working.filter(tasks__isnull=True).exists()
    assert not Task.objects.filter(lead__in=working, due_at__lt=END).exists()
    # Units paid for in completed buildings are handed over, the act after the completion.
    handed = Deal.objects.filter(stage__code="handed_over")
    assert handed.exists()
    assert not handed.filter(
        Q(act_date__isnull=True)
        | Q(act_date__gte=END.date())
        | Q(act_date__lt=F("unit__building__completion_date"))
    ).exists()


def test_units_were_created_where_their_history_starts_and_the_past_board_shows_them(loaded):
    """The chessboard as of a past day was empty on the demo: its units were created now."""
    from datetime import timedelta

    from django.db.models import Min

    from kvartal.demo.data import END
    from kvartal.inventory.selectors import chessboard

    first = dict(
        StatusChange.objects.values("unit_id").annotate(at=Min("at")).values_list("unit_id", "at")
    )
    created = dict(Unit.objects.values_list("pk", "created_at"))
    assert created == first
    building = Building.objects.order_by("pk").first()
    then = (END - timedelta(days=60)).date()
    board = chessboard(building, as_of=then)
    shown = [c for s in board.sections for r in s.rows for c in r.cells if c]
    launched = building.units.filter(created_at__date__lte=then).count()
    assert launched and len(shown) == launched


def test_prices_follow_their_history(loaded):
    last = {}
    for unit_id, old, new in PriceChange.objects.order_by("unit_id", "at", "pk").values_list(
        "unit_id", "old_price", "new_price"
    ):
        if unit_id in last:
            assert old == last[unit_id], unit_id
        last[unit_id] = new
    prices = dict(Unit.objects.values_list("pk", "price"))
    for unit_id, price in last.items():
        assert prices[unit_id] == price, unit_id


def test_one_live_hold_or_deal_per_unit_and_the_unit_shows_it(loaded):
    assert (
        not Hold.objects.filter(state=HoldState.ACTIVE)
        .values("unit")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert (
        not Deal.objects.filter(is_active=True)
        .values("unit")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    held = Hold.objects.filter(state=HoldState.ACTIVE).select_related("unit")
    for hold in held:
        assert hold.unit.status == UnitStatus.RESERVED
        assert hold.unit.hold_until == hold.expires_at
        assert hold.ended_at is None
    reserved = set(Unit.objects.filter(status=UnitStatus.RESERVED).values_list("pk", flat=True))
    assert reserved == {h.unit_id for h in held}
    assert not Unit.objects.filter(~Q(status=UnitStatus.RESERVED), hold_until__isnull=False)
    for deal in Deal.objects.filter(is_active=True).select_related("unit", "stage"):
        assert deal.unit.status == deal.stage.unit_status, deal.number
    in_deal = {UnitStatus.IN_DEAL, UnitStatus.SOLD}
    taken = set(Unit.objects.filter(status__in=in_deal).values_list("pk", flat=True))
    assert taken == set(Deal.objects.filter(is_active=True).values_list("unit_id", flat=True))
    for hold in Hold.objects.exclude(state=HoldState.ACTIVE):
        assert hold.ended_at is not None and hold.ended_at <= hold.expires_at


def test_sold_deals_sold_their_unit(loaded):
    sold = Deal.objects.filter(stage__unit_status=UnitStatus.SOLD)
    assert sold.exists()
    for deal in sold:
        assert StatusChange.objects.filter(
            unit_id=deal.unit_id, new_status=UnitStatus.SOLD, at__gte=deal.created_at
        ).exists(), deal.number
    for deal in Deal.objects.filter(is_active=False):
        assert deal.closed_at is not None
        assert StatusChange.objects.filter(
            unit_id=deal.unit_id, new_status=UnitStatus.AVAILABLE, at=deal.closed_at
        ).exists(), deal.number


def test_schedules_plan_the_price_and_payments_stay_within_it(loaded):
    planned = dict(
        PaymentLine.objects.values_list("deal").annotate(s=Sum("amount")).values_list("deal", "s")
    )
    paid = dict(
        Payment.objects.values_list("deal").annotate(s=Sum("amount")).values_list("deal", "s")
    )
    deals = list(Deal.objects.values_list("pk", "price", "list_price", "promotion_discount"))
    assert deals
    for pk, price, list_price, promotion_discount in deals:
        assert planned[pk] == price, pk
        assert paid.get(pk, Decimal(0)) <= price, pk
        assert price <= list_price - promotion_discount
    # Some buyers pay late: a line due a while ago is not paid yet.
    assert Payment.objects.count() < PaymentLine.objects.count()


def test_a_deal_planned_to_be_terminated_is_never_handed_over():
    """A buyer who will terminate may pay in full first (the M demo has one): the act is not
    signed, or the termination would have to undo a handed-over deal, which the flow
    refuses. The handover's draws are made all the same, so the other deals keep theirs."""
    from kvartal.demo.sales import SalePath, SaleScript

    def planned(terminates: bool) -> list:
        script = SaleScript(people={Role.SALES_HEAD: None, Role.ADMIN: None}, managers=[], seed=1)
        paid = END - timedelta(days=300)
        kept, gone = SalePath(unit=1, buyer=0, manager=0), SalePath(unit=2, buyer=1, manager=0)
        gone.terminates = terminates
        for path in (gone, kept):
            script.hand_over_later(path, paid, paid.date())
        return [(at, action, path.unit) for at, _seq, action, path, _extra in script.later]

    both = planned(terminates=False)
    assert sorted(unit for _at, _action, unit in both) == [1, 2]
    assert planned(terminates=True) == [entry for entry in both if entry[2] == 1]
