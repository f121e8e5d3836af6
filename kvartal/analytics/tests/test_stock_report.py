"""The unsold units report against units put in known states through the services;
expected figures written out by hand (the arithmetic in the comments)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.periods import Period
from kvartal.analytics.reports import stock as report
from kvartal.inventory import services as inventory
from kvartal.inventory.models import UnitStatus
from kvartal.sales.services import holds as svc
from kvartal.sales.tests.factories import make_client, make_deal
from kvartal.testing import make_building, make_project

from .factories import make_floor_units, msk, sell

pytestmark = pytest.mark.django_db

# While the studio's hold (20 Mar → 3 Apr) lasts.
NOW = msk(2026, 3, 31, 12, 0)


@pytest.fixture
def stock(settings, manager, keeper):
    """Two floors of studio 27.50, 1-room 38.40, 2-room 56.20, 3-room 78.90 m² at
    150 000 ₽/m² (4 125 000 / 5 760 000 / 8 430 000 / 11 835 000 ₽).

    Floor 1: the studio sold in January for 4 000 000, the 2-room in February and the 1-room
    in March at the list price; the 3-room available. Floor 2: the studio held, the 1-room
    repriced to 160 000 ₽/m² (6 144 000), the 2-room in a deal (not unsold, not sold), the
    3-room closed for sale without a price. Another project: four units, one sold in February.
    """
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project(name="ЖК Северный")
    building = make_building(project, name="Корпус 1")
    units = make_floor_units(building, floors=2)
    studio, one, two, _three, studio2, one2, two2, three2 = units
    sell(studio, msk(2026, 1, 20, 12, 0), price=Decimal("4000000"))
    sell(two, msk(2026, 2, 10, 12, 0))
    sell(one, msk(2026, 3, 5, 12, 0))
    svc.hold_create(
        unit=studio2,
        client=make_client(manager=manager),
        manager=manager,
        by=manager,
        days=14,
        at=msk(2026, 3, 20, 10, 0),
    )
    inventory.unit_set_price(unit=one2, price=Decimal("6144000"), by=keeper, reason="new list")
    make_deal(unit=two2, manager=manager, at=msk(2026, 3, 25, 10, 0))
    inventory.unit_set_status(unit=three2, status=UnitStatus.NOT_FOR_SALE, by=keeper)
    inventory.unit_set_price(unit=three2, price=Decimal(0), by=keeper, reason="closed")
    other = make_floor_units(make_building(make_project(name="ЖК Южный"), name="Корпус 7"))
    sell(other[0], msk(2026, 2, 15, 12, 0))
    return project, building, units


def run(start=date(2026, 1, 1), end=date(2026, 3, 31), *, now=NOW, **filters):
    return report.unsold_units(Params.of(start, end, **filters), now=now)


KEYS = ["count", "available", "reserved", "not_for_sale", "area", "amount", "per_m2"]


def test_unsold_units_by_type_with_a_closed_unit(stock):
    project, _building, _units = stock
    table = run(project=project, discount=Decimal("10")).table("by_type")
    assert [(str(r["type"]), *(r[k] for k in KEYS)) for r in table.rows] == [
        # the held studio 4 125 000 ÷ 27.50
        ("Studio", 1, 0, 1, 0, Decimal("27.50"), Decimal("4125000"), Decimal("150000.00")),
        # the repriced 1-room 6 144 000 ÷ 38.40
        ("1-room", 1, 1, 0, 0, Decimal("38.40"), Decimal("6144000"), Decimal("160000.00")),
        # none left (one sold, one in a deal), but sold in the period: a row to compare
        ("2-room", 0, 0, 0, 0, Decimal("0"), Decimal("0"), None),
        # 78.90 + 78.90 m², the closed one without a price: 11 835 000 ÷ 78.90 priced m²
        ("3-room", 2, 1, 0, 1, Decimal("157.80"), Decimal("11835000"), Decimal("150000.00")),
    ]
    total = table.total
    # 4 125 000 + 6 144 000 + 11 835 000 = 22 104 000 over 27.50 + 38.40 + 78.90 = 144.80
    # priced m² (223.70 m² in all) = 152 651.93 ₽/m²
    assert [total[k] for k in KEYS] == [
        4,
        2,
        1,
        1,
        Decimal("223.70"),
        Decimal("22104000"),
        Decimal("152651.93"),
    ]


def test_the_forecast_with_a_10_percent_discount(stock):
    project, _building, _units = stock
    table = run(project=project, discount=Decimal("10")).table("by_type")
    assert [r["forecast"] for r in table.rows] == [
        Decimal("3712500.00"),  # 4 125 000 × 0.9
        Decimal("5529600.00"),  # 6 144 000 × 0.9
        Decimal("0.00"),
        Decimal("10651500.00"),  # 11 835 000 × 0.9
    ]
    assert table.total["forecast"] == Decimal("19893600.00")  # 22 104 000 × 0.9
    no_discount = run(project=project).table("by_type").total
    assert no_discount["forecast"] == Decimal("22104000.00")


def test_unsold_against_sold_price_per_m2(stock):
    project, _building, _units = stock
    result = run(project=project)
    table = result.table("by_type")
    assert [(r["sold_per_m2"], r["difference"]) for r in table.rows] == [
        # sold 4 000 000 ÷ 27.50 = 145 454.55; (150 000 − 145 454.55) ÷ 145 454.55 = +3.1 %
        (Decimal("145454.55"), Decimal("3.1")),
        # sold 5 760 000 ÷ 38.40 = 150 000; 160 000 is +6.7 %
        (Decimal("150000.00"), Decimal("6.7")),
        (Decimal("150000.00"), None),  # 8 430 000 ÷ 56.20; nothing unsold to compare
        (None, None),  # no 3-room sold
    ]
    # sold 18 190 000 ÷ 122.10 = 148 976.25; (152 651.93 − 148 976.25) ÷ 148 976.25 = +2.5 %
    assert (table.total["sold_per_m2"], table.total["difference"]) == (
        Decimal("148976.25"),
        Decimal("2.5"),
    )
    chart = result.charts[0]
    assert chart.labels == ["Studio", "1-room", "2-room", "3-room"]
    assert [(s.name, s.values) for s in chart.series] == [
        ("Unsold ₽/m²", [Decimal("150000.00"), Decimal("160000.00"), None, Decimal("150000.00")]),
        (
            "Sold ₽/m² in the period",
            [Decimal("145454.55"), Decimal("150000.00"), Decimal("150000.00"), None],
        ),
    ]


def test_the_figures_and_the_sell_out_time(stock):
    project, _building, _units = stock
    figures = {str(f.label): f.value for f in run(project=project, discount=Decimal("10")).figures}
    assert figures == {
        "Unsold units": 4,
        "Unsold m²": Decimal("223.70"),
        "Forecast revenue": Decimal("19893600.00"),
        "Average unsold ₽/m²": Decimal("152651.93"),
        "Average sold ₽/m² in the period": Decimal("148976.25"),
        # on sale: the 3-room, the held studio, the 1-room = 3; sold 3 in 3 months = 1 a
        # month; 3 ÷ 1 = 3.0 months (the closed 3-room is not on sale)
        "Sell-out time, months": Decimal("3.0"),
    }


def test_the_sell_out_time_over_part_of_a_month(stock):
    project, _building, _units = stock
    # 1 Jan – 7 Feb: 1 + 7/28 = 1.25 months, one sale (20 Jan): 3 × 1.25 ÷ 1 = 3.75 → 3.8
    figures = {str(f.label): f.value for f in run(end=date(2026, 2, 7), project=project).figures}
    assert figures["Sell-out time, months"] == Decimal("3.8")
    assert report.months_in(Period(date(2026, 1, 1), date(2026, 2, 14))) == Decimal("1.5")


def test_nothing_sold_in_the_period_gives_no_pace(stock):
    project, _building, _units = stock
    figures = {str(f.label): f.value for f in run(date(2026, 4, 1), date(2026, 4, 30)).figures}
    assert figures["Average sold ₽/m² in the period"] is None
    assert figures["Sell-out time, months"] is None
    assert (
        run(date(2026, 4, 1), date(2026, 4, 30), project=project)
        .table("by_type")
        .rows[0]["sold_per_m2"]
        is None
    )


def test_a_hold_that_ran_out_counts_as_available(stock):
    project, _building, _units = stock
    # the studio's hold ended 3 Apr 10:00, not yet finalised by the job
    rows = run(project=project, now=msk(2026, 4, 10, 12, 0)).table("by_type").rows
    assert (rows[0]["available"], rows[0]["reserved"]) == (1, 0)


def test_by_building_and_the_project_filter(stock):
    project, _building, _units = stock
    everyone = run().table("by_building")
    # the other project: 4 units at 150 000 ₽/m² less the one sold (a studio, 27.50 m²):
    # 38.40 + 56.20 + 78.90 = 173.50 m², 5 760 000 + 8 430 000 + 11 835 000 = 26 025 000
    assert [(r["building"], r["count"], r["area"], r["amount"]) for r in everyone.rows] == [
        ("ЖК Северный · Корпус 1", 4, Decimal("223.70"), Decimal("22104000")),
        ("ЖК Южный · Корпус 7", 3, Decimal("173.50"), Decimal("26025000")),
    ]
    # the Южный studio sold at 4 125 000 ÷ 27.50 = 150 000; 26 025 000 ÷ 173.50 = 150 000
    assert (everyone.rows[1]["sold_per_m2"], everyone.rows[1]["difference"]) == (
        Decimal("150000.00"),
        Decimal("0.0"),
    )
    assert everyone.total["count"] == 7
    mine = run(project=project).table("by_building")
    assert [r["building"] for r in mine.rows] == ["ЖК Северный · Корпус 1"]
    # the sold side follows the filter too: three sales here, four with Южный
    figures = {str(f.label): f.value for f in run(project=project).figures}
    assert figures["Average sold ₽/m² in the period"] == Decimal("148976.25")


def test_the_registered_report_runs_with_the_clock(stock):
    project, _building, _units = stock
    result = REPORTS["stock"].result(
        Params.of(date(2026, 1, 1), date(2026, 3, 31), project=project)
    )
    assert result.title == "Unsold units"
    assert result.figures[0].value == 4
    assert [t.key for t in result.tables] == ["by_type", "by_building"]
    assert all(t.empty for t in result.tables)


def test_nothing_unsold_says_so(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    result = run()
    assert result.table("by_type").rows == [] and result.table("by_type").total is None
    assert result.figures[0].value == 0


def _queries(**filters) -> int:
    with CaptureQueriesContext(connection) as queries:
        run(**filters)
    return len(queries)


def test_the_query_count_does_not_grow_with_the_units(settings, django_assert_max_num_queries):
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project()
    units = make_floor_units(make_building(project), floors=1)
    sell(units[0], msk(2026, 2, 1, 12, 0))
    small = _queries(project=project)
    more = make_floor_units(make_building(project), floors=3)
    for day, unit in enumerate(more[:5], start=2):
        sell(unit, msk(2026, 2, day, 12, 0))
    assert _queries(project=project) == small
    with django_assert_max_num_queries(5):
        run(project=project)
