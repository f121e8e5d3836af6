"""The sales statistics and price per m² reports against a hand-built history; expected
figures written out by hand."""

from datetime import date
from decimal import Decimal

import pytest

from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.periods import Step
from kvartal.testing import make_building, make_project

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


def test_one_deal_of_three_units_is_three_units_sold_its_money_split_by_their_prices(db):
    """An apartment, a parking space and a storage room in one deal, sold today: the sales
    figures count three units and the deal's money once, each unit at its own price in the
    deal (its share of the manual discount included)."""
    from django.utils import timezone

    from kvartal.accounts.models import Role
    from kvartal.analytics.facts import sales
    from kvartal.sales.models import DealUnit
    from kvartal.sales.services.deals import BuyerShare, deal_open
    from kvartal.sales.tests.factories import deal_reach, make_client, make_unit_set
    from kvartal.testing import make_user

    units = make_unit_set()
    flat, parking, storage = units["apartments"][0], units["parkings"][0], units["storages"][0]
    manager = make_user(Role.SALES_MANAGER)
    deal = deal_open(
        by=manager,
        units=[flat, parking, storage],
        buyers=[BuyerShare(make_client(manager=manager))],
        manual_discount=Decimal("10000"),
    )
    deal_reach(deal, "signed")
    deal_reach(deal, "registered")
    today = timezone.localdate()
    params = Params.of(today.replace(day=1), today, Step.MONTH)
    rows = sales(params)
    assert {s.unit_id: s.price for s in rows} == dict(
        DealUnit.objects.filter(deal=deal).values_list("unit_id", "price")
    )
    assert {s.deal_id for s in rows} == {deal.pk}
    assert sum(s.price for s in rows) == deal.price
    assert sum(s.list_price for s in rows) == deal.list_price
    total = REPORTS["sales"].result(params).table("by_step").total
    assert (total["count"], total["amount"]) == (3, deal.price)


def test_the_sums_of_the_database_are_exact_to_the_kopeck(settings, django_assert_num_queries):
    """The sales statistics sum in SQL (a row per day and type, not per sale): on SQLite,
    which adds money as REAL, awkward fractions sold on one day still give the exact sum of
    the sales, the same as adding the rows one by one. One query, whatever the sales."""
    from kvartal.analytics.facts import sales

    settings.TIME_ZONE = "Europe/Moscow"
    units = make_floor_units(floors=2)
    prices = [Decimal("4781446.55"), Decimal("5999668.90"), Decimal("7354811.99")]
    prices += [Decimal("6824348.65"), Decimal("8311578.79"), Decimal("5100000.01")]
    for n, (unit, price) in enumerate(zip(units, prices, strict=False)):
        sell(unit, msk(2026, 2, 10, 10 + n, 0), price=price)
    params = Params.of(date(2026, 2, 1), date(2026, 2, 28))
    with django_assert_num_queries(1):
        result = REPORTS["sales"].result(params)
    total = result.table("by_step").total
    rows = sales(params)
    assert total["amount"] == sum(prices) == sum(s.price for s in rows)
    assert total["area"] == sum(s.area for s in rows)
    assert total["count"] == len(prices)
    by_type = {r["type"]: r["amount"] for r in result.table("by_type").rows}
    assert sum(by_type.values()) == sum(prices)
    with django_assert_num_queries(1):
        per_m2 = REPORTS["price-m2"].result(params).table("by_step").total
    assert per_m2["count"] == len(prices)


def test_the_manager_filter_on_the_sums(history):
    """The sums in SQL keep the manager (and the viewer's team) filter of the rows."""
    from kvartal.sales.models import Deal

    deal = Deal.objects.order_by("pk").first()
    result = run("sales", date(2026, 1, 1), date(2026, 3, 31), manager=deal.manager)
    assert result.table("by_step").total["count"] == 1
    mine = Params.of(date(2026, 1, 1), date(2026, 3, 31), team=frozenset({deal.manager_id}))
    assert REPORTS["sales"].result(mine).table("by_step").total["count"] == 1
    nobody = Params.of(date(2026, 1, 1), date(2026, 3, 31), team=frozenset())
    assert REPORTS["sales"].result(nobody).table("by_step").total["count"] == 0


@pytest.mark.parametrize("step", list(Step))
def test_every_step_sums_what_the_sales_rows_roll_up_to(settings, step):
    """The database groups the sales by the local week, month, quarter or year a step is made
    of (``facts.GROUPING``), not by day: for every step, the table is the sales one by one
    (``facts.sales``) rolled up by ``Period.bucket``, with sales at local midnights that UTC
    puts on the other side of a week, month, quarter, half-year and year."""
    from collections import Counter

    from kvartal.analytics.facts import sales

    settings.TIME_ZONE = "Europe/Moscow"
    units = make_floor_units(floors=3)
    moments = [
        msk(2025, 12, 31, 23, 30),  # a year's last half-hour: 20:30 UTC
        msk(2026, 1, 1, 0, 10),  # a year's first minutes: the day before in UTC
        msk(2026, 3, 29, 23, 50),  # a Sunday night
        msk(2026, 3, 30, 0, 5),  # the Monday after, the day before in UTC
        msk(2026, 3, 31, 23, 59),  # a quarter's last minute
        msk(2026, 4, 1, 0, 1),  # the next quarter's first
        msk(2026, 6, 30, 23, 45),  # a half-year's last minutes
        msk(2026, 7, 1, 0, 15),  # the next half-year's first
    ]
    for unit, at in zip(units, moments, strict=False):
        sell(unit, at)
    params = Params.of(date(2025, 12, 1), date(2026, 7, 31), step)
    expected = Counter(params.period.bucket(s.day) for s in sales(params))
    assert sum(expected.values()) == len(moments)
    rows = REPORTS["sales"].result(params).table("by_step").rows
    counts = dict(zip(params.period.steps(), [r["count"] for r in rows], strict=True))
    assert {s: n for s, n in counts.items() if n} == dict(expected)
