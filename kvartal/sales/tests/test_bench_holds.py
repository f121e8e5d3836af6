"""A tiny run of the holds benchmark: it runs, prints figures, and keeps the guarantee."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from kvartal.core.testing import make_building, make_section
from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.sales.models import Hold, SalesSettings


@pytest.mark.django_db(transaction=True)
def test_bench_holds_smoke_run_prints_figures_and_no_unit_is_taken_twice():
    SalesSettings.current()
    make_section(make_building(), floors=2, per_floor=4)
    out = StringIO()

    call_command("bench_holds", threads=2, seconds=1, stdout=out)

    text = out.getvalue()
    assert re.search(r"service .*: \d+ holds in [\d.]+ s = [\d.]+ holds/s; latency p50", text)
    assert re.search(r"bare SQL .*: \d+ tx in [\d.]+ s = [\d.]+ tx/s", text)
    assert "errors 0" in text and "ratio: service" in text
    assert "integrity: units with more than one active hold or deal: 0" in text
    holds = int(re.search(r"(\d+) holds in", text).group(1))
    assert holds > 0 and Hold.objects.count() == holds
    # every hold was released and the baseline's rows removed
    assert not Hold.objects.filter(state="active").exists()
    assert set(Unit.objects.values_list("status", flat=True)) == {UnitStatus.AVAILABLE}
    assert not StatusChange.objects.filter(reason="bench_holds baseline").exists()
