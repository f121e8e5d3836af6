"""The promotions report against a hand-built history; expected figures by hand.

Units of project A (150 000 ₽/m² list): studio 27.50 m², 1-room 38.40, 2-room 56.20,
3-room 78.90 on each floor. The period is 1 January – 31 March 2026, Moscow time.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.analytics.base import REPORTS, Params
from kvartal.sales.tests.factories import make_promotion
from kvartal.testing import make_building, make_project

from .factories import make_floor_units, msk, sell

pytestmark = pytest.mark.django_db

D = Decimal
START, END = date(2026, 1, 1), date(2026, 3, 31)


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    project, elsewhere = make_project(), make_project()
    s1, o1, t1, th1, s2, o2, *_rest = make_floor_units(make_building(project), floors=2)
    far = make_floor_units(make_building(elsewhere))
    spring = make_promotion(
        name="Весна", starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31), min_price=D("5000000")
    )
    winter = make_promotion(name="Зима", starts_on=date(2026, 1, 1), ends_on=date(2026, 2, 28))
    make_promotion(
        name="Другой ЖК",
        starts_on=date(2026, 2, 1),
        ends_on=date(2026, 12, 31),
        projects=[elsewhere],
    )
    make_promotion(
        name="Кладовые",
        starts_on=date(2026, 2, 2),
        ends_on=date(2026, 12, 31),
        units=[far[3]],
    )
    make_promotion(
        name="Выключена", starts_on=date(2026, 1, 1), ends_on=date(2026, 3, 31), is_active=False
    )
    autumn = make_promotion(name="Осень", starts_on=date(2025, 10, 1), ends_on=date(2025, 12, 31))
    make_promotion(name="Лето", starts_on=date(2025, 6, 1), ends_on=date(2025, 8, 31))
    # project A, in the period
    sell(s1, msk(2026, 3, 31, 23, 30), price=D("4000000"), promotion=spring)  # below its minimum
    sell(t1, msk(2026, 3, 10, 12, 0), price=D("8000000"), promotion=spring)
    sell(o1, msk(2026, 2, 1, 0, 10))  # no promotion: 38.40 × 150 000 = 5 760 000
    # opened under "Осень" in December, registered in January: it counts under "Осень"
    sell(th1, msk(2026, 1, 15, 12, 0), price=D("11000000"), promotion=autumn,
         opened=msk(2025, 12, 20, 12, 0))  # fmt: skip
    # project A, outside the period
    sell(s2, msk(2026, 4, 1, 0, 0), price=D("4000000"), promotion=spring)
    sell(o2, msk(2025, 12, 31, 23, 59), price=D("5000000"), promotion=autumn)
    # the other project, in the period: 27.50 × 150 000 = 4 125 000
    sell(far[0], msk(2026, 2, 10, 12, 0), promotion=winter)
    return project


def run(**kwargs):
    return REPORTS["promotions"].result(Params.of(START, END, **kwargs))


def test_sales_under_each_promotion_against_all_sales_and_the_floor(history):
    result = run(project=history, min_price_m2=D("145000"))
    table = result.table("by_promotion")
    rows = {str(r["promotion"]): r for r in table.rows}
    # running in the period and able to cover project A, or selling in it; "Другой ЖК" and
    # "Кладовые" cover only the other project, "Выключена" is off, "Лето" ended
    assert [str(r["promotion"]) for r in table.rows] == [
        "Весна",
        "Осень",
        "Зима",
        "Without a promotion",
    ]
    spring = rows["Весна"]
    assert (spring["starts_on"], spring["ends_on"]) == (date(2026, 3, 1), date(2026, 3, 31))
    # 4 000 000 + 8 000 000 over 27.50 + 56.20 m² = 12 000 000 ÷ 83.70 = 143 369.18
    assert (spring["count"], spring["area"], spring["amount"]) == (2, D("83.70"), D("12000000"))
    assert spring["per_m2"] == D("143369.18")
    # all sold: 28 760 000 ÷ 201.00 = 143 084.58; (143 369.18 − 143 084.58) ÷ 143 084.58 = 0.2 %
    assert spring["vs_all"] == D("0.2")
    assert (spring["min_price"], spring["lowest"], spring["below_min"]) == (
        D("5000000"),
        D("4000000"),
        1,
    )
    # (143 369.18 − 145 000) ÷ 145 000 = −1.12 %
    assert spring["vs_floor"] == D("-1.1")
    autumn = rows["Осень"]
    # 11 000 000 ÷ 78.90 = 139 416.98; −3 667.60 ÷ 143 084.58 = −2.56 %; −5 583.02 ÷ 145 000
    assert (autumn["count"], autumn["per_m2"], autumn["vs_all"]) == (1, D("139416.98"), D("-2.6"))
    assert autumn["vs_floor"] == D("-3.9")
    assert (autumn["min_price"], autumn["lowest"], autumn["below_min"]) == (
        None,
        D("11000000"),
        None,
    )
    winter = rows["Зима"]  # running, sold nothing in project A
    assert (winter["count"], winter["per_m2"], winter["lowest"]) == (0, None, None)
    plain = rows["Without a promotion"]
    # 5 760 000 ÷ 38.40 = 150 000; 6 915.42 ÷ 143 084.58 = 4.83 %; 5 000 ÷ 145 000 = 3.45 %
    assert (plain["count"], plain["per_m2"], plain["vs_all"], plain["vs_floor"]) == (
        1,
        D("150000.00"),
        D("4.8"),
        D("3.4"),
    )
    total = table.total
    # 4 000 000 + 8 000 000 + 5 760 000 + 11 000 000 over 27.50 + 56.20 + 38.40 + 78.90
    assert (total["count"], total["area"], total["amount"]) == (4, D("201.00"), D("28760000"))
    assert (total["per_m2"], total["vs_floor"]) == (D("143084.58"), D("-1.3"))
    figures = [(str(f.label), f.value) for f in result.figures]
    # 3 of 4 units; (12 000 000 + 11 000 000) ÷ (83.70 + 78.90) = 141 451.41
    assert figures == [
        ("Units sold under promotions", 3),
        ("Share of all units sold", D("75.0")),
        ("Average price per m² under promotions", D("141451.41")),
        ("Average price per m² of all sales", D("143084.58")),
        ("Economists' floor per m²", D("145000")),
    ]


def test_the_chart_is_drawn_from_the_promotion_rows(history):
    result = run(project=history)
    chart = result.charts[0]
    assert chart.kind == "bar"
    assert chart.labels == ["Весна", "Осень", "Зима"]
    assert [(s.name, s.values) for s in chart.series] == [
        ("Promotion units", [D("143369.18"), D("139416.98"), None]),
        ("All units sold", [D("143084.58")] * 3),
    ]
    # without a floor there is no floor column
    assert "vs_floor" not in [c.key for c in result.table("by_promotion").columns]


def test_without_the_project_filter_every_running_promotion_is_listed(history):
    table = run().table("by_promotion")
    assert [(str(r["promotion"]), r["count"]) for r in table.rows] == [
        ("Весна", 2),
        ("Осень", 1),
        ("Зима", 1),  # the other project's studio
        ("Другой ЖК", 0),
        ("Кладовые", 0),
        ("Without a promotion", 1),
    ]
    assert table.total["count"] == 5


def test_a_building_filter_hides_a_promotion_of_another_building(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project()
    here, there = make_building(project), make_building(project)
    make_floor_units(here)
    make_promotion(name="Корпус 2", starts_on=START, ends_on=END, buildings=[there])
    make_promotion(name="Студии", starts_on=START, ends_on=END, rooms=[0])
    make_promotion(name="Везде", starts_on=START, ends_on=END)

    def listed(**kwargs):
        return [str(r["promotion"]) for r in run(**kwargs).table("by_promotion").rows]

    # same dates: by name; "Корпус 2" covers the other building only
    assert listed(building=here) == ["Везде", "Студии", "Without a promotion"]
    # 2-rooms anywhere in the project: not a studio promotion
    assert listed(project=project, unit_types=["2"]) == ["Везде", "Корпус 2", "Without a promotion"]
    assert listed(project=project, unit_types=["commercial"]) == [
        "Везде",
        "Корпус 2",
        "Without a promotion",
    ]


def test_nothing_running_and_nothing_sold_gives_an_empty_table(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    table = run().table("by_promotion")
    assert table.rows == [] and table.empty


def test_the_page_and_the_exports_render(client, director, history):
    client.force_login(director)
    query = "?date_from=2026-01-01&date_to=2026-03-31&min_price_m2=145000"
    page = client.get(reverse("analytics:report", args=["promotions"]) + query)
    assert page.status_code == 200
    assert "Весна" in page.content.decode()
    xlsx = client.get(reverse("analytics:export", args=["promotions", "xlsx"]) + query)
    assert (xlsx.status_code, xlsx.content[:2]) == (200, b"PK")
    pdf = client.get(reverse("analytics:export", args=["promotions", "pdf"]) + query)
    assert (pdf.status_code, pdf.content[:4]) == (200, b"%PDF")


def _queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as captured:
        run(**kwargs)
    return len(captured)


def test_the_query_count_does_not_grow_with_the_sales(settings, django_assert_max_num_queries):
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project()
    units = make_floor_units(make_building(project), floors=3)
    promotions = [make_promotion(starts_on=START, ends_on=END, units=[u]) for u in units[:4]]
    # the fourth never sells: both runs ask which units the unsold promotions name
    sell(units[0], msk(2026, 2, 1, 12, 0), promotion=promotions[0])
    one = _queries(project=project)
    for i, unit in enumerate(units[1:5]):
        sell(unit, msk(2026, 2, 2 + i, 12, 0), promotion=promotions[i % 3])
    assert _queries(project=project) == one
    # the sales and their deals, the promotions and their projects and buildings, the units
    with django_assert_max_num_queries(6):
        run(project=project)


def test_automatic_discounts_have_their_own_table(settings):
    """A promotion with a condition is applied by the pricing rule, not chosen on the deal:
    its discount on the units sold is summed in its own table, and the main table (the
    deals' chosen promotions) does not list it as a promotion that sold nothing."""
    from kvartal.accounts.models import Role
    from kvartal.sales.services.deals import BuyerShare, deal_open
    from kvartal.sales.tests.factories import deal_reach, make_client
    from kvartal.testing import make_user

    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project()
    studio, one_room, two_rooms, *_rest = make_floor_units(make_building(project))
    second = make_promotion(
        name="Второй объект −10 %",
        starts_on=START,
        ends_on=END,
        condition="extra_unit",
        value=D("10"),
    )
    manager = make_user(Role.SALES_MANAGER)
    deal = deal_open(
        by=manager,
        units=[one_room, studio],
        buyers=[BuyerShare(make_client(manager=manager))],
        at=msk(2026, 2, 1, 12, 0),
    )
    deal_reach(deal, "signed", at=msk(2026, 2, 2, 12, 0))
    deal_reach(deal, "registered", at=msk(2026, 2, 10, 12, 0))
    sell(two_rooms, msk(2026, 2, 11, 12, 0))  # no discount of any kind
    # the cheaper unit, the studio: 27.50 × 150 000 = 4 125 000; 10 % = 412 500
    result = run(project=project)
    automatic = next(t for t in result.tables if t.key == "automatic")
    assert automatic.rows == [
        {
            "promotion": "Второй объект −10 %",
            "condition": "A second (or further) unit in one deal",
            "count": 1,
            "amount": D("412500"),
        }
    ]
    assert (automatic.total["count"], automatic.total["amount"]) == (1, D("412500"))
    main = next(t for t in result.tables if t.key == "by_promotion")
    assert second.name not in [str(r["promotion"]) for r in main.rows]
    # outside the period the table is empty and says so
    later = REPORTS["promotions"].result(Params.of(date(2026, 4, 1), date(2026, 4, 30)))
    empty = next(t for t in later.tables if t.key == "automatic")
    assert empty.rows == [] and empty.empty
