"""Never held twice: many clients at once race for the same few units.

Each thread has its own database connection (Django's connections are per thread) and goes
through the same service as the pages. On SQLite the test database is a file (settings
``DATABASES["default"]["TEST"]["NAME"]``), so the threads contend as in production; on
PostgreSQL the unit's row lock decides.
"""

import threading
from collections import Counter

import pytest
from django.db import connection

from kvartal.accounts.models import Role
from kvartal.clients.services import client_create
from kvartal.core.errors import DomainError
from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.sales.models import Deal, DealEvent, Hold, HoldEvent, HoldState, SalesSettings
from kvartal.sales.services.deals import BuyerShare, deal_open
from kvartal.sales.services.holds import UnitNotAvailable, hold_create
from kvartal.sales.tests.factories import default_scheme
from kvartal.testing import make_building, make_section, make_user

THREADS = 18
UNITS = 3


@pytest.mark.django_db(transaction=True)
def test_of_many_clients_racing_for_a_unit_exactly_one_holds_it():
    SalesSettings.current()  # the settings row exists before the race
    building = make_building()
    make_section(building, floors=1, per_floor=UNITS)
    units = list(Unit.objects.filter(building=building).order_by("pk"))
    managers = [make_user(Role.SALES_MANAGER) for _ in range(4)]
    contenders = []
    for n in range(THREADS):
        manager = managers[n % len(managers)]
        buyer = client_create(
            by=manager, last_name=f"Покупатель{n}", first_name="И", phone=f"+7913{n:07d}"
        )
        contenders.append((units[n % UNITS], buyer, manager))
    history_before = StatusChange.objects.count()

    start = threading.Barrier(THREADS)
    won: list[tuple[int, int]] = []  # (unit id, hold id)
    refused: list[tuple[int, str]] = []
    other: list[BaseException] = []
    lock = threading.Lock()

    def contend(unit, buyer, manager):
        try:
            start.wait()
            hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
            with lock:
                won.append((unit.pk, hold.pk))
        except UnitNotAvailable as error:
            with lock:
                refused.append((unit.pk, str(error)))
        except BaseException as error:  # noqa: BLE001 - every other outcome fails the test
            with lock:
                other.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=contend, args=c) for c in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not other, other
    assert Counter(unit_id for unit_id, _ in won) == {u.pk: 1 for u in units}
    assert len(refused) == THREADS - UNITS
    assert all("already held" in message or "not on sale" in message for _, message in refused)

    winners = {hold_id for _, hold_id in won}
    assert set(Hold.objects.values_list("pk", flat=True)) == winners
    assert set(HoldEvent.objects.values_list("hold_id", flat=True)) == winners
    assert HoldEvent.objects.count() == UNITS
    moves = StatusChange.objects.order_by("pk")[history_before:]
    assert sorted((m.unit_id, m.old_status, m.new_status) for m in moves) == [
        (u.pk, UnitStatus.AVAILABLE, UnitStatus.RESERVED) for u in units
    ]
    for unit in units:
        unit.refresh_from_db()
        hold = Hold.objects.get(unit=unit)
        assert (unit.status, unit.hold_until) == (UnitStatus.RESERVED, hold.expires_at)


def _contenders(count: int, units: list[Unit]):
    managers = [make_user(Role.SALES_MANAGER) for _ in range(4)]
    rows = []
    for n in range(count):
        manager = managers[n % len(managers)]
        buyer = client_create(
            by=manager, last_name=f"Покупатель{n}", first_name="И", phone=f"+7914{n:07d}"
        )
        rows.append((n, units[n % len(units)], buyer, manager))
    return rows


def _race(contenders, act):
    """Run ``act(n, unit, buyer, manager)`` in one thread per contender, all released at once.
    Returns (results, refusals, other errors)."""
    start = threading.Barrier(len(contenders))
    won, refused, other = [], [], []
    lock = threading.Lock()

    def contend(n, unit, buyer, manager):
        try:
            start.wait()
            result = act(n, unit, buyer, manager)
            with lock:
                won.append((unit.pk, result))
        except DomainError as error:
            with lock:
                refused.append((unit.pk, str(error)))
        except BaseException as error:  # noqa: BLE001 - every other outcome fails the test
            with lock:
                other.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=contend, args=c) for c in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return won, refused, other


@pytest.mark.django_db(transaction=True)
def test_of_many_managers_opening_deals_on_the_same_units_exactly_one_wins_each():
    SalesSettings.current()
    default_scheme()
    building = make_building()
    make_section(building, floors=1, per_floor=UNITS)
    units = list(Unit.objects.filter(building=building).order_by("pk"))
    contenders = _contenders(THREADS, units)

    won, refused, other = _race(
        contenders,
        lambda n, unit, buyer, manager: (
            deal_open(by=manager, unit=unit, buyers=[BuyerShare(buyer)]).pk
        ),
    )

    assert not other, other
    assert Counter(unit_id for unit_id, _ in won) == {u.pk: 1 for u in units}
    assert len(refused) == THREADS - UNITS
    assert all("is in a deal" in message for _, message in refused), refused
    winners = {deal_id for _, deal_id in won}
    assert set(Deal.objects.values_list("pk", flat=True)) == winners
    assert len({d.number for d in Deal.objects.all()}) == UNITS
    assert set(
        Unit.objects.filter(pk__in=[u.pk for u in units]).values_list("status", flat=True)
    ) == {UnitStatus.IN_DEAL}
    # Every winner has its schedule, and only the winners have events.
    for deal in Deal.objects.all():
        assert sum(line.amount for line in deal.schedule.all()) == deal.total_due
    assert set(DealEvent.objects.values_list("deal_id", flat=True)) == winners


@pytest.mark.django_db(transaction=True)
def test_holds_and_deals_racing_for_the_same_units_never_overlap():
    """Half the contenders hold, half open a deal straight from sale: on each unit either
    one hold or one deal wins (or a deal takes over nothing), never both for different
    clients."""
    SalesSettings.current()
    default_scheme()
    building = make_building()
    make_section(building, floors=1, per_floor=UNITS)
    units = list(Unit.objects.filter(building=building).order_by("pk"))
    contenders = _contenders(THREADS, units)

    def act(n, unit, buyer, manager):
        if n % 2:
            return (
                "hold",
                hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3).pk,
            )
        return ("deal", deal_open(by=manager, unit=unit, buyers=[BuyerShare(buyer)]).pk)

    won, refused, other = _race(contenders, act)

    assert not other, other
    assert len(won) + len(refused) == THREADS
    for unit in units:
        unit.refresh_from_db()
        deals = list(Deal.objects.filter(unit=unit, is_active=True))
        live = list(Hold.objects.filter(unit=unit, state=HoldState.ACTIVE))
        assert len(deals) <= 1 and len(live) <= 1
        assert not (deals and live), "a unit both held and in a deal"
        assert deals or live
        if deals:
            assert unit.status == UnitStatus.IN_DEAL
        else:
            assert unit.status == UnitStatus.RESERVED
    # Exactly one winner per unit.
    assert Counter(unit_id for unit_id, _ in won) == {u.pk: 1 for u in units}


@pytest.mark.django_db(transaction=True)
def test_deals_opened_at_once_on_free_units_all_get_a_number():
    """Numbering never refuses a valid deal: 32 managers open deals at once on 32 different
    free units; every deal opens, numbers one to 32 of the year without a gap. (The counter
    row is locked; reading the last number and adding one refused a quarter of them.)"""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    count = 32
    SalesSettings.current()
    default_scheme()
    building = make_building()
    make_section(building, floors=4, per_floor=count // 4)
    units = list(Unit.objects.filter(building=building).order_by("pk"))
    assert len(units) == count
    contenders = _contenders(count, units)

    won, refused, other = _race(
        contenders,
        lambda n, unit, buyer, manager: (
            deal_open(by=manager, unit=unit, buyers=[BuyerShare(buyer)]).number
        ),
    )

    assert not other, other
    assert not refused, refused
    numbers = sorted(number for _, number in won)
    year = numbers[0].split("-")[1]
    assert numbers == [f"Д-{year}-{n:05d}" for n in range(1, count + 1)]
    assert Deal.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_deals_of_several_units_racing_for_a_parking_space_one_wins_and_losers_change_nothing():
    """Each contender opens a deal of its own apartment and one of a few parking spaces:
    on each parking space exactly one deal wins; every other deal is refused whole, naming
    the parking space, and its apartment stays on sale."""
    from kvartal.sales.models import DealUnit
    from kvartal.sales.tests.factories import make_unit_set

    SalesSettings.current()
    default_scheme()
    spaces = make_unit_set(parkings=UNITS, storages=0)["parkings"]
    building = make_building()
    make_section(building, floors=3, per_floor=THREADS // 3)
    flats = list(Unit.objects.filter(building=building).order_by("pk"))
    contenders = _contenders(THREADS, spaces)
    flat_of = {n: flats[n] for n, *_rest in contenders}

    won, refused, other = _race(
        contenders,
        lambda n, unit, buyer, manager: (
            deal_open(by=manager, unit=flat_of[n], units=[unit], buyers=[BuyerShare(buyer)]).pk
        ),
    )

    assert not other, other
    assert Counter(unit_id for unit_id, _ in won) == {u.pk: 1 for u in spaces}
    assert len(refused) == THREADS - UNITS
    names = {u.pk: str(u) for u in spaces}
    assert all(message == f"{names[uid]} is in a deal." for uid, message in refused), refused
    winners = {deal_id for _, deal_id in won}
    assert set(Deal.objects.values_list("pk", flat=True)) == winners
    assert DealUnit.objects.filter(is_active=True).count() == 2 * UNITS
    taken = set(DealUnit.objects.values_list("unit_id", flat=True))
    for unit in flats:
        unit.refresh_from_db()
        assert unit.status == (UnitStatus.IN_DEAL if unit.pk in taken else UnitStatus.AVAILABLE)
    assert set(DealEvent.objects.values_list("deal_id", flat=True)) == winners
