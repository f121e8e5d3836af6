"""Dynamic pricing: recommendations from absorption, stock and the plan's pace, explained,
capped, above the floor price; sent for approval, never applied without it; the backtest."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.analytics.periods import local_midnight, local_today
from kvartal.core.testing import make_building, make_section, typical_risers
from kvartal.inventory.models import Unit, UnitStatus
from kvartal.inventory.services import SectionPlan, section_generate
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.ops.periodic import discover
from kvartal.pricing import dynamic, services
from kvartal.pricing.models import (
    BatchSource,
    BatchStatus,
    Recommendation,
    RecommendationStatus,
    Rule,
    SalesPlan,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def studios(keeper):
    """Ten studios of 27.50 m² at 100 000 ₽/m² (2 750 000 ₽), one per floor."""
    return make_section(floors=10, per_floor=1, price_per_m2=Decimal("100000"), by=keeper)


def _sell(units, days_ago, by):
    for unit in units:
        set_sales_state(
            unit=unit,
            status=UnitStatus.SOLD,
            by=by,
            at=timezone.now() - timedelta(days=days_ago),
        )


def _plan(project, units, by):
    services.plan_save(
        project=project,
        unit_type="studio",
        months=[services.PlanMonth(local_today().replace(day=1), units, Decimal(0), Decimal(0))],
        by=by,
    )


def _rule(project, **fields):
    fields.setdefault("weeks", 4)
    return Rule.objects.create(name="Студии", project=project, unit_type="studio", **fields)


def _weekly(units: int) -> Decimal:
    """A month's plan in units a week, as the rule reads it."""
    first = local_today().replace(day=1)
    days = ((first + timedelta(days=32)).replace(day=1) - first).days
    return (Decimal(units) / (Decimal(days) / 7)).quantize(Decimal("0.01"))


def test_selling_faster_than_plan_with_little_stock_recommends_a_raise(studios, keeper, sales_head):
    project = studios.building.project
    units = list(studios.units.order_by("floor__index"))
    _sell(units[:4], 3, keeper)  # 4 sold in the last 4 weeks: 1 a week
    _plan(project, 2, sales_head)  # ~0.45 a week
    _rule(project, raise_percent=Decimal(2))
    assert services.recommendations_compute() == 1
    reco = Recommendation.objects.get()
    assert (reco.sold, reco.pace, reco.stock) == (4, Decimal("1.00"), 6)
    assert reco.plan_pace == _weekly(2)
    assert reco.days_to_sell_out == 42 and reco.move_percent == Decimal(2)
    assert "Sold 4 in 4 weeks" in reco.explanation and "raise by 2" in reco.explanation

    batch = services.recommendation_propose(recommendation=reco, by=sales_head)
    assert batch.source == BatchSource.RECOMMENDATION and batch.lines.count() == 6
    assert {ln.new_price for ln in batch.lines.all()} == {Decimal("2805000")}
    assert set(studios.units.exclude(status=UnitStatus.SOLD).values_list("price", flat=True)) == {
        Decimal("2750000")
    }  # nothing changes without approval
    services.batch_approve(batch=batch, by=sales_head)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED
    assert set(studios.units.exclude(status=UnitStatus.SOLD).values_list("price", flat=True)) == {
        Decimal("2805000")
    }


def test_a_slow_segment_is_lowered_but_not_below_the_floor_price(studios, sales_head):
    project = studios.building.project
    _plan(project, 8, sales_head)
    _rule(project, lower_percent=Decimal(3), min_per_m2=Decimal("98500"))
    services.recommendations_compute()
    reco = Recommendation.objects.get()
    assert reco.move_percent == Decimal(-3) and "Slower than the plan" in reco.explanation
    batch = services.recommendation_propose(recommendation=reco, by=sales_head)
    # 2 750 000 × 0.97 = 2 667 500, but the floor is 27.50 × 98 500 = 2 708 750 → 2 709 000
    assert {ln.new_price for ln in batch.lines.all()} == {Decimal("2709000")}


def test_the_monthly_cap_counts_the_moves_already_sent(studios, keeper, sales_head):
    project = studios.building.project
    _sell(list(studios.units.order_by("floor__index"))[:4], 3, keeper)
    _plan(project, 2, sales_head)
    rule = _rule(project, raise_percent=Decimal(2), monthly_cap_percent=Decimal(3))
    services.recommendations_compute()
    services.recommendation_propose(recommendation=Recommendation.objects.get(), by=sales_head)
    segment = dynamic.Segment(project, "studio")
    numbers = dynamic.numbers_now(segment, rule.weeks, local_today())
    decision = dynamic.decide(rule, numbers, dynamic.moved_this_month(rule, segment, local_today()))
    assert decision.move == Decimal(1)
    assert "monthly cap of 3 % leaves 1 %" in decision.explanation


def test_without_a_plan_nothing_is_recommended(studios):
    _rule(studios.building.project)
    services.recommendations_compute()
    reco = Recommendation.objects.get()
    assert reco.move_percent == 0 and "No plan for this month" in reco.explanation
    with pytest.raises(services.BatchStateError):
        services.recommendation_propose(recommendation=reco, by=None)


def test_recomputing_keeps_a_decided_recommendation(studios, sales_head):
    _plan(studios.building.project, 8, sales_head)
    _rule(studios.building.project)
    services.recommendations_compute()
    reco = Recommendation.objects.get()
    services.recommendation_dismiss(recommendation=reco, by=sales_head)
    services.recommendations_compute()
    reco.refresh_from_db()
    assert reco.status == RecommendationStatus.DISMISSED
    assert Recommendation.objects.count() == 1


def _launched_before_last_month(keeper):
    """This month's and last month's first days, and ten studios (one a floor) put on sale
    40 days before last month began."""
    this_month = local_today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    plan = SectionPlan(
        number=1,
        floors=10,
        typical_from=1,
        risers=typical_risers(1),
        price_per_m2=Decimal("100000"),
    )
    launch = local_midnight(last_month) - timedelta(days=40)
    section = section_generate(building=make_building(), plan=plan, by=keeper, at=launch)
    return this_month, last_month, section


def test_the_backtest_shows_the_recommendation_and_the_sales_that_followed(keeper):
    this_month, last_month, section = _launched_before_last_month(keeper)
    units = list(section.units.order_by("floor__index"))
    for unit in units[:3]:  # sold in the middle of last month
        set_sales_state(
            unit=unit,
            status=UnitStatus.SOLD,
            by=keeper,
            at=local_midnight(last_month) + timedelta(days=10),
        )
    rule = _rule(section.building.project)
    rows = dynamic.backtest(rule, months=2, today=local_today())
    by_month = {r.month: r for r in rows}
    assert by_month[last_month].sold_next == 3 and by_month[last_month].stock == 10
    assert by_month[this_month].stock == 7 and by_month[this_month].sold == 3


def test_the_backtest_reads_a_projects_history_once_not_per_segment(keeper):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kvartal.inventory.models import StatusChange

    building = make_building()
    plan = SectionPlan(
        number=1, floors=3, typical_from=1, risers=typical_risers(2), price_per_m2=Decimal("1")
    )
    section_generate(building=building, plan=plan, by=keeper)
    rule = _rule(building.project)
    rule.unit_type = ""
    rule.save()
    segments = dynamic.segments_of(rule)
    assert len(segments) == 2  # two types of flats in one project
    with CaptureQueriesContext(connection) as captured:
        dynamic.backtest(rule, months=3, today=local_today())
    table = StatusChange._meta.db_table
    history_reads = [q for q in captured if f'FROM "{table}"' in q["sql"]]
    assert len(history_reads) == 1  # the project's, once for its segments and months
    plan_reads = [q for q in captured if f'FROM "{SalesPlan._meta.db_table}"' in q["sql"]]
    assert len(plan_reads) <= len(segments) + 1  # per type, and the project's, not per month


def test_the_backtest_of_a_floor_band_counts_the_band_against_its_share_of_the_plan(
    keeper, sales_head
):
    """Floors 8–10 of ten studios: the band's stock and sales, and its share of the type's
    plan (the band's stock ÷ the type's), month by month."""
    this_month, last_month, section = _launched_before_last_month(keeper)
    by_floor = {u.floor.index: u for u in section.units.select_related("floor")}
    for floor in (2, 9):  # one sale outside the band, one in it, last month
        set_sales_state(
            unit=by_floor[floor],
            status=UnitStatus.SOLD,
            by=keeper,
            at=local_midnight(last_month) + timedelta(days=5),
        )
    project = section.building.project
    _plan(project, 10, sales_head)  # this month's plan for studios
    rule = _rule(project, floor_from=8)

    rows = {r.month: r for r in dynamic.backtest(rule, months=2, today=local_today())}

    assert (rows[last_month].stock, rows[last_month].sold_next) == (3, 1)
    assert rows[last_month].plan_pace is None  # no plan last month
    now = rows[this_month]
    assert (now.stock, now.sold) == (2, 1)
    assert abs(now.plan_pace - _weekly(10) * 2 / 8) <= Decimal("0.01")  # 2 of the 8 on sale


def test_a_rule_with_the_slow_threshold_above_the_fast_one_is_refused(client, sales_head):
    client.force_login(sales_head)
    data = {
        "name": "x",
        "active": "on",
        "weeks": "8",
        "fast_ratio": "1.0",
        "low_stock_weeks": "26",
        "raise_percent": "2",
        "slow_ratio": "1.5",
        "lower_percent": "1",
        "monthly_cap_percent": "3",
    }
    response = client.post(reverse("pricing:rule-create"), data)
    assert response.status_code == 400 and "below the fast one" in response.text
    assert not Rule.objects.exists()
    data["slow_ratio"] = "0.7"
    client.post(reverse("pricing:rule-create"), data)
    assert Rule.objects.get().slow_ratio == Decimal("0.7")


def test_a_manager_cannot_edit_rules(client, manager):
    client.force_login(manager)
    assert client.get(reverse("pricing:rule-create")).status_code == 403


def test_the_pages_of_dynamic_pricing_open(client, studios, sales_head):
    _plan(studios.building.project, 8, sales_head)
    _rule(studios.building.project)
    client.force_login(sales_head)
    response = client.post(reverse("pricing:recommendation-list"), {"action": "compute"})
    assert response.status_code == 302 and Recommendation.objects.count() == 1
    for name in ("pricing:rule-list", "pricing:recommendation-list", "pricing:backtest"):
        assert client.get(reverse(name)).status_code == 200


def test_the_jobs_are_registered_with_the_scheduler():
    jobs = discover()
    assert jobs["pricing-apply-due"].every == timedelta(minutes=1)
    assert jobs["pricing-recommend"].cron == {"hour": 6, "minute": 0}


def test_a_floor_band_takes_its_share_of_the_type_plan(studios, keeper, sales_head):
    """The plan is set per unit type; a rule on a floor band compares the band with its share
    of that plan (its stock ÷ the type's stock), not with the whole type's plan."""
    project = studios.building.project
    _plan(project, 10, sales_head)
    _rule(project, floor_from=8)  # floors 8–10: 3 of the 10 studios on sale
    assert services.recommendations_compute() == 1
    reco = Recommendation.objects.get()
    assert reco.stock == 3
    assert abs(reco.plan_pace - _weekly(10) * 3 / 10) <= Decimal("0.01")


@pytest.mark.parametrize(("floor_from", "floor_to"), [(None, None), (2, None), (None, 2), (2, 3)])
def test_a_segment_takes_the_same_units_from_rows_already_read_as_from_its_query(
    keeper, floor_from, floor_to
):
    """``Segment.has`` (the backtest, on the history it read) and ``Segment.q`` (the rules,
    in SQL) pick the same units: every type of a section, with and without a floor band."""
    from kvartal.analytics.base import unit_type

    section = make_section(floors=4, per_floor=4, by=keeper)
    project = section.building.project
    units = list(section.units.select_related("floor"))
    for key in sorted({unit_type(u.kind, u.rooms) for u in units}):
        segment = dynamic.Segment(project, key, floor_from, floor_to)
        in_sql = set(Unit.objects.filter(segment.q()).values_list("pk", flat=True))
        in_python = {u.pk for u in units if segment.has(unit_type(u.kind, u.rooms), u.floor.index)}
        assert in_sql and in_python == in_sql, key
