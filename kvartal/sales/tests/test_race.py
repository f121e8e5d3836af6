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
from kvartal.core.testing import make_building, make_section, make_user
from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.sales.models import Hold, HoldEvent, SalesSettings
from kvartal.sales.services.holds import UnitNotAvailable, hold_create

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
    assert all("already held" in message or "not available" in message for _, message in refused)

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
