"""A tiny run of the holds benchmark: client processes (forked, as on SQLite here, with the
connections closed before the fork) hold units, the run's holds are released, the figures are
printed and no unit is taken twice."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.sales.models import Hold, HoldEvent, SalesSettings
from kvartal.testing import make_building, make_section


@pytest.mark.django_db(transaction=True)
def test_bench_holds_smoke_run_prints_figures_and_no_unit_is_taken_twice():
    SalesSettings.current()
    make_section(make_building(), floors=4, per_floor=5)
    units = Unit.objects.count()
    before = {u.pk: (u.status, u.price, u.status_changed_at) for u in Unit.objects.all()}
    out = StringIO()

    call_command("bench_holds", clients=2, seconds=1, rounds=2, stdout=out)

    text = out.getvalue()
    assert "2 client processes" in text
    assert re.search(r"service .*: \d+ holds in [\d.]+ s = [\d.]+ holds/s; latency p50", text)
    assert re.search(r"floor \(bare Django function.*\): \d+ tx in [\d.]+ s = [\d.]+ tx/s", text)
    assert text.count("errors 0") == 2, text
    assert re.search(r"ratio service / floor: [\d.]+ holds/s / [\d.]+ tx/s = [\d.]+", text)
    # interleaved: the service's and the floor's phases alternate
    assert re.findall(r"round (\d) (service|floor)", text) == [
        ("1", "service"),
        ("1", "floor"),
        ("2", "service"),
        ("2", "floor"),
    ]
    assert "integrity: units with more than one active hold or deal: 0" in text
    holds = int(re.search(r"service \(.*\): (\d+) holds in", text).group(1))
    # hold-only: each unit at most once, and the run's holds are all released afterwards
    assert 0 < holds <= units
    assert Hold.objects.count() == holds
    assert set(Hold.objects.values_list("state", flat=True)) == {"cancelled"}
    assert Hold.objects.values("unit_id").distinct().count() == holds
    assert HoldEvent.objects.filter(kind="created").count() == holds
    assert f"released: {holds} holds" in text
    # the units are back on sale as they were; the baseline wrote nothing that stays
    assert set(Unit.objects.values_list("status", flat=True)) == {UnitStatus.AVAILABLE}
    assert not Unit.objects.exclude(hold_until=None).exists()
    for unit in Unit.objects.all():
        hold = unit.holds.first()
        if hold is None:  # written by the bare transactions only: its own values back
            assert (unit.status, unit.price, unit.status_changed_at) == before[unit.pk]
        else:  # held, then released
            assert (unit.price, unit.status_changed_at) == (before[unit.pk][1], hold.ended_at)
    assert not StatusChange.objects.filter(reason="bench_holds baseline").exists()
