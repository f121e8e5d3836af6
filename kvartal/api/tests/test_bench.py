"""The floor of ``bench_api`` does the API's work without the API: the same rows serialized
the same way, the same service making the hold (no timing asserted here)."""

import pytest
from django.test import override_settings

from kvartal.api.bench_urls import MANAGER
from kvartal.sales.models import Hold

pytestmark = pytest.mark.django_db


@override_settings(ROOT_URLCONF="kvartal.api.bench_urls")
def test_the_floor_lists_the_same_units_and_holds_through_the_same_service(
    client, token_for, units, buyer, manager
):
    manager.username = MANAGER
    manager.save()
    headers = token_for(manager, ["inventory:read", "holds:write"])
    api = client.get("/api/v1/units?status=available&limit=3", **headers).json()["items"]
    floor = client.get("/bench-floor/units/?limit=3").json()["items"]
    assert floor == api and len(floor) == 3
    body = {"unit": units[0].pk, "client": buyer.pk, "days": 1}
    response = client.post("/bench-floor/holds/", body, content_type="application/json")
    assert response.status_code == 201
    assert Hold.objects.get().unit_id == units[0].pk
    again = client.post("/bench-floor/holds/", body, content_type="application/json")
    assert again.status_code == 409


def test_the_hold_page_floor_writes_the_rows_of_a_hold(client, units, buyer, manager):
    from kvartal.api.bench_urls import floor_hold_writes  # noqa: F401 - mounted below
    from kvartal.inventory.models import StatusChange, Unit, UnitStatus
    from kvartal.sales.models import HoldEvent

    unit = units[0]
    form = {"client": buyer.pk, "manager": manager.pk, "kind": "oral", "basis": "other"}
    with override_settings(ROOT_URLCONF="kvartal.api.bench_urls"):
        response = client.post(f"/bench-floor/units/{unit.pk}/hold/", form)
        again = client.post(f"/bench-floor/units/{unit.pk}/hold/", form)
    assert response.status_code == 302 and again.status_code == 409
    hold = Hold.objects.get()
    assert (hold.unit_id, hold.client_id, hold.manager_id, hold.price) == (
        unit.pk,
        buyer.pk,
        manager.pk,
        unit.price,
    )
    assert HoldEvent.objects.get().hold == hold
    unit = Unit.objects.get(pk=unit.pk)
    assert (unit.status, unit.hold_until) == (UnitStatus.RESERVED, hold.expires_at)
    change = StatusChange.objects.filter(unit=unit).latest("pk")
    assert change.new_status == UnitStatus.RESERVED


@pytest.mark.django_db(transaction=True)
def test_bench_api_prints_each_floor_and_ratio_on_a_tiny_data_set():
    import re
    from io import StringIO

    from django.core.management import call_command

    from kvartal.sales.models import SalesSettings
    from kvartal.testing import make_building, make_section

    SalesSettings.current()
    make_section(make_building(), floors=5, per_floor=6)
    out = StringIO()
    call_command(
        "bench_api", clients=2, requests=4, rounds=2, workers=2, warmup=1, limit=5, stdout=out
    )
    text = out.getvalue()
    for target in HOLD_TARGETS:
        assert re.search(
            rf"^{re.escape(target)} +[\d.]+ +[\d.]+ +[\d.]+ +\d+ +\d+  0$", text, re.M
        ), text
    assert re.search(
        r"ratio hold page: page / floor — p50 [\d.]+×, p95 [\d.]+×, req/s [\d.]+×", text
    )
    assert re.search(r"ratio unit list: API / floor", text)
    assert re.search(r"ratio hold: API / floor", text)
    assert "integrity: units with more than one active hold or deal: 0" in text
    assert not Hold.objects.filter(state="active").exists()


HOLD_TARGETS = [
    "unit list: floor",
    "unit list: API",
    "hold: floor",
    "hold: API",
    "hold page: floor",
    "hold page",
]
