"""The call-centre report against hand-computed figures; it is in the analytics registry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.periods import local_today
from kvartal.clients.models import Channel, Lead

from ..models import Call, CallOutcome, CallState, FirstContact, Script, ScriptVariant
from ..report import operator_rows, script_tests, variant_rows
from .factories import make_operator, make_system

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(db):
    """Variant A: 10 calls, 3 visits + 1 oral hold (4 converted), 2 lost, 4 without outcome.
    Variant B: 10 calls, 1 request (1 converted), 9 lost. Operators: Анна answered 12 calls
    with 1 oral hold, Борис answered 6 with none; 2 calls missed."""
    script = Script.objects.create(name="Входящий")
    a = ScriptVariant.objects.create(script=script, name="A", weight=1)
    b = ScriptVariant.objects.create(script=script, name="B", weight=1)
    anna = make_operator("101", last_name="Аннова")
    boris = make_operator("102", last_name="Борисов")
    system = make_system()
    now = timezone.now() - timedelta(hours=1)
    plan = (
        [(a, CallOutcome.VISIT)] * 3
        + [(a, CallOutcome.ORAL_HOLD)]
        + [(a, CallOutcome.LOST)] * 2
        + [(a, "")] * 4
        + [(b, CallOutcome.REQUEST)]
        + [(b, CallOutcome.LOST)] * 9
    )
    for i, (variant, outcome) in enumerate(plan):
        operator = anna if i < 12 else boris
        missed = i in (18, 19)
        Call.objects.create(
            system=system,
            external_id=f"r{i}",
            variant=variant,
            operator=operator,
            outcome=outcome,
            state=CallState.MISSED if missed else CallState.ENDED,
            started_at=now,
            answered_at=None if missed else now,
        )
    channel = Channel.objects.get(code="call")
    for seconds, who in ((30, anna), (90, anna), (600, anna), (45, boris)):
        lead = Lead.objects.create(channel=channel, phone="+79000000000")
        FirstContact.objects.create(lead=lead, at=now, by=who, seconds=seconds)
    return anna, boris


def params():
    today = local_today()
    return Params.of(today - timedelta(days=7), today)


def test_variants_against_hand_computed_figures(calls):
    rows = {r["variant"]: r for r in variant_rows(params())}
    assert (rows["A"]["calls"], rows["A"]["converted"], rows["A"]["none"]) == (10, 4, 4)
    assert rows["A"]["visit"] == 3 and rows["A"]["oral_hold"] == 1 and rows["A"]["lost"] == 2
    assert rows["A"]["conversion"] == Decimal("40.0")
    assert (rows["B"]["calls"], rows["B"]["converted"], rows["B"]["lost"]) == (10, 1, 9)
    assert rows["B"]["conversion"] == Decimal("10.0")
    # χ² by hand: table [[4, 6], [1, 9]]; expected 2.5 and 7.5 in each row:
    # (1.5²/2.5 + 1.5²/7.5) × 2 = (0.9 + 0.3) × 2 = 2.4; p(χ²₁ ≥ 2.4) = 0.1213
    (note,) = script_tests(list(rows.values()))
    assert "χ² = 2.40, df = 1, p = 0.1213" in note
    assert "no significant difference" in note


def test_operators_against_hand_computed_figures(calls):
    rows = {r["operator"]: r for r in operator_rows(params())}
    anna = next(v for k, v in rows.items() if k.startswith("Аннова"))
    boris = next(v for k, v in rows.items() if k.startswith("Борисов"))
    assert (anna["calls"], anna["answered"], anna["oral"]) == (12, 12, 1)
    assert anna["oral_rate"] == Decimal("8.3")  # 1 of 12 answered
    assert (anna["leads"], anna["speed_median"], anna["speed_mean"]) == (3, 90, Decimal("240.0"))
    assert (boris["calls"], boris["answered"], boris["missed"], boris["oral"]) == (8, 6, 2, 0)
    assert boris["oral_rate"] == Decimal("0.0") and boris["speed_median"] == 45


def test_the_report_is_in_the_analytics_registry_and_opens(calls, client, director):
    assert "callcentre" in REPORTS
    client.force_login(director)
    page = client.get(reverse("analytics:report", args=["callcentre"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Scripts and variants" in html and "χ² = 2.40" in html
