"""The HTTP race through the API: 32 clients hold the same 5 units at once over real HTTP —
one winner per unit, every loser a 409, no server error."""

import threading
import time
from collections import Counter

import pytest
import requests

from kvartal.accounts.models import Role
from kvartal.api.models import ApiToken
from kvartal.clients.services import client_create
from kvartal.core.testing import make_building, make_section, make_user
from kvartal.inventory.models import Unit
from kvartal.sales.models import Hold, HoldState, SalesSettings

CLIENTS = 32
UNITS = 5


@pytest.mark.django_db(transaction=True)
def test_32_clients_holding_5_units_by_api_one_winner_each(live_server):
    SalesSettings.current()
    building = make_building()
    make_section(building, floors=1, per_floor=UNITS)
    units = list(Unit.objects.filter(building=building).order_by("pk"))
    contenders = []
    for n in range(CLIENTS):
        manager = make_user(Role.SALES_MANAGER)
        buyer = client_create(
            by=manager, last_name=f"Покупатель{n}", first_name="И", phone=f"+7913{n:07d}"
        )
        key = ApiToken.new_key()
        token = ApiToken(name=f"t{n}", user=manager, scopes=["holds:write"], rate=1000)
        token.set_key(key)
        token.save()
        contenders.append((units[n % UNITS].pk, buyer.pk, key))

    start = threading.Barrier(CLIENTS)
    results: list[tuple[int, int, dict]] = []
    lock = threading.Lock()

    def contend(unit_id, client_id, key):
        # The test server's listen queue is short and resets some of 32 connections at once;
        # a client does what a real one should: it retries with the same Idempotency-Key, so
        # a request that did reach the server is never done twice.
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"race-{client_id}"}
        start.wait()
        outcome = (unit_id, 0, {"error": "no attempt"})
        for attempt in range(6):
            try:
                response = requests.post(
                    f"{live_server.url}/api/v1/holds",
                    json={"unit": unit_id, "client": client_id, "days": 2},
                    headers=headers,
                    timeout=60,
                )
                outcome = (unit_id, response.status_code, response.json())
                break
            except requests.ConnectionError as error:
                outcome = (unit_id, 0, {"error": repr(error)})
                time.sleep(0.05 * (attempt + 1))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=contend, args=c) for c in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = Counter(status for _, status, _ in results)
    assert statuses == {201: UNITS, 409: CLIENTS - UNITS}, results
    winners = Counter(unit for unit, status, _ in results if status == 201)
    assert winners == {u.pk: 1 for u in units}
    assert all(body["code"] == "unit_not_available" for _, status, body in results if status == 409)
    assert Hold.objects.filter(state=HoldState.ACTIVE).count() == UNITS
