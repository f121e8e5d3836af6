"""Seed reports 1 and 2 against a hand-built history; expected figures written out by hand."""

from datetime import date
from decimal import Decimal

import pytest

from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.periods import Step
from kvartal.core.testing import make_building, make_project

from .factories import make_floor_units, msk, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project()
    building = make_building(project)
    studio, one, two, three = make_floor_units(building)
    sell(studio, msk(2026, 1, 31, 23, 30), price=Decimal("4000000"))  # Jan (20:30 UTC)
    sell(two, msk(2026, 2, 1, 0, 10))  # Feb (21:10 UTC on 31 Jan): 56.20 × 150 000
    sell(one, msk(2026, 3, 15, 12, 0))  # Mar: 38.40 × 150 000 = 5 760 000
    sell(three, msk(2026, 4, 1, 0, 0))  # the first moment after the period
    other = make_floor_units(make_building(make_project()))
    sell(other[0], msk(2025, 12, 31, 23, 59))  # before the period
    return project, building


def run(key, start, end, step=Step.MONTH, **kwargs):
    return REPORTS[key].result(Params.of(start, end, step, **kwargs))


def test_sales_by_month_in_local_time(history):
    result = run("sales", date(2026, 1, 1), date(2026, 3, 31))
    rows = result.table("by_step").rows
    assert [(r["count"], r["area"], r["amount"]) for r in rows] == [
        (1, Decimal("27.50"), Decimal("4000000")),
        (1, Decimal("56.20"), Decimal("8430000")),
        (1, Decimal("38.40"), Decimal("5760000")),
    ]
    total = result.table("by_step").total
    assert (total["count"], total["area"], total["amount"]) == (
        3,
        Decimal("122.10"),
        Decimal("18190000"),
    )
    # 18 190 000 ÷ 122.10 = 148 976.25 ₽/m²
    assert total["per_m2"] == Decimal("148976.25")


def test_by_type_and_the_chart_from_the_same_rows(history):
    result = run("sales", date(2026, 1, 1), date(2026, 3, 31), measure="amount")
    by_type = result.table("by_type").rows
    assert [(str(r["type"]), r["count"], r["amount"]) for r in by_type] == [
        ("Studio", 1, Decimal("4000000")),
        ("1-room", 1, Decimal("5760000")),
        ("2-room", 1, Decimal("8430000")),
    ]
    chart = result.charts[0]
    assert chart.labels == ["January 2026", "February 2026", "March 2026"]
    assert [(s.name, s.values) for s in chart.series] == [
        ("Studio", [Decimal("4000000"), 0, 0]),
        ("1-room", [0, 0, Decimal("5760000")]),
        ("2-room", [0, Decimal("8430000"), 0]),
    ]


def test_the_project_filter_and_the_period_edges(history):
    project, _building = history
    result = run("sales", date(2025, 12, 1), date(2026, 4, 30), project=project)
    counts = [r["count"] for r in result.table("by_step").rows]
    assert counts == [0, 1, 1, 1, 1]  # Dec's sale is another project's; Apr 00:00 is April
    everyone = run("sales", date(2025, 12, 1), date(2026, 4, 30))
    assert [r["count"] for r in everyone.table("by_step").rows] == [1, 1, 1, 1, 1]


def test_weeks_start_on_monday(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    units = make_floor_units()
    sell(units[0], msk(2026, 3, 1, 22, 0))  # Sunday
    sell(units[1], msk(2026, 3, 2, 9, 0))  # Monday
    result = run("sales", date(2026, 2, 23), date(2026, 3, 8), Step.WEEK)
    rows = result.table("by_step").rows
    assert [r["count"] for r in rows] == [1, 1]
    assert [r["step"] for r in rows] == ["week of 02/23/2026", "week of 03/02/2026"]


def test_average_price_per_m2_deal_and_list(history):
    result = run("price-m2", date(2026, 1, 1), date(2026, 3, 31), Step.QUARTER)
    (row,) = result.table("by_step").rows
    # deals 4 000 000 + 8 430 000 + 5 760 000 over 27.50 + 56.20 + 38.40 m²
    assert row["per_m2"] == Decimal("148976.25")
    # list prices 4 125 000 + 8 430 000 + 5 760 000 = 18 315 000 ÷ 122.10 = 150 000
    assert row["list_per_m2"] == Decimal("150000.00")
    assert row["type_studio"] == Decimal("145454.55")  # 4 000 000 ÷ 27.50
    assert row["type_2"] == Decimal("150000.00")


def test_a_long_chart_shows_one_series(history):
    result = run("sales", date(2026, 1, 1), date(2026, 3, 31), Step.DAY)
    (series,) = result.charts[0].series
    assert series.name == "All units"
    assert len(series.values) == 90  # 31 + 28 + 31 days
    assert sum(series.values) == 3
