"""Absorption from the status history against a hand-built history; figures by hand.

Units: section A of "Alpha" (2 floors: studio, 1-, 2-, 3-room twice) on sale since
1 December 2025; section B of "Alpha" (1 floor) and section C of "Beta" (1 floor) put on sale
during the period. Every move goes through the services (history rows with the chosen
moments); the flows into and out of sale are worked out by hand below.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.periods import Period, Step
from kvartal.analytics.reports.absorption import ENTERS, LEAVES, months_in
from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.inventory.services import SectionPlan, section_generate, unit_set_status
from kvartal.sales.services.holds import hold_create
from kvartal.sales.tests.factories import deal_reach, make_client, make_deal
from kvartal.testing import make_building, make_project, make_user, typical_risers

from .factories import msk, sell

pytestmark = pytest.mark.django_db


def units_on_sale(building, number, at, floors=1):
    """A section generated (and put on sale) at ``at``: studio, 1-, 2-, 3-room per floor."""
    plan = SectionPlan(
        number=number,
        floors=floors,
        typical_from=1,
        risers=typical_risers(4),
        price_per_m2=Decimal("150000"),
    )
    section = section_generate(building=building, plan=plan, by=None, at=at)
    return list(section.units.order_by("floor__index", "position"))


def fresh(unit):
    unit.refresh_from_db()
    return unit


def hold(unit, at, manager):
    client = make_client(manager=manager)
    return hold_create(unit=fresh(unit), client=client, manager=manager, by=manager, days=3, at=at)


def open_deal(unit, at, manager):
    return make_deal(unit=fresh(unit), manager=manager, at=at)


def sold(unit, at, *, opened, manager):
    return sell(fresh(unit), at, opened=opened, manager=manager)


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    manager = make_user(Role.SALES_MANAGER)
    alpha, beta = make_project(name="Alpha"), make_project(name="Beta")
    house = make_building(alpha)
    s1, r1a, r2a, r3a, s2, _r1b, _r2b, r3b = units_on_sale(house, 1, msk(2025, 12, 1, 10), 2)
    # before the period: 8 on sale, r1a into a deal (−1) → 7 on sale at 00:00 on 1 January
    sold(r1a, msk(2026, 1, 31, 23, 30), opened=msk(2025, 12, 20, 12), manager=manager)
    # January: r3b closed at 00:00 on 1 Jan (−1); s1 held (still on sale), into a deal (−1),
    # sold; s2 held (still on sale, to this day); r1a sold at 23:30 on 31 Jan (above);
    # section C of Beta on sale at 23:30 (+4).
    unit_set_status(unit=r3b, status=UnitStatus.NOT_FOR_SALE, by=None, at=msk(2026, 1, 1, 0, 0))
    hold(s1, msk(2026, 1, 5, 10), manager)
    hold(s2, msk(2026, 1, 20, 10), manager)
    sold(s1, msk(2026, 1, 20, 12), opened=msk(2026, 1, 10, 12), manager=manager)
    cs, _c1, _c2, _c3 = units_on_sale(make_building(beta), 1, msk(2026, 1, 31, 23, 30))
    # February: r2a into a deal at 00:10 on 1 Feb (−1), sold on the 10th; section B of Alpha
    # on sale at 00:10 (+4); B's studio into a deal (−1); Beta's studio into a deal (−1) and
    # terminated — back on sale (+1).
    sold(r2a, msk(2026, 2, 10, 12), opened=msk(2026, 2, 1, 0, 10), manager=manager)
    bs, _b1, _b2, _b3 = units_on_sale(house, 2, msk(2026, 2, 1, 0, 10))
    dropped = open_deal(cs, msk(2026, 2, 5, 12), manager)
    deal_reach(dropped, "terminated", at=msk(2026, 2, 20, 12))
    # March: B's studio sold at 00:00 on 1 Mar; r3b reopened (+1); Beta's studio into a
    # deal (−1) and sold at 23:59 on 31 Mar.
    sold(bs, msk(2026, 3, 1, 0, 0), opened=msk(2026, 2, 15, 12), manager=manager)
    unit_set_status(unit=fresh(r3b), status=UnitStatus.AVAILABLE, by=None, at=msk(2026, 3, 10))
    sold(cs, msk(2026, 3, 31, 23, 59), opened=msk(2026, 3, 5, 12), manager=manager)
    # After the period: r3a into a deal (−1) and sold, both at 00:00 on 1 April.
    after = msk(2026, 4, 1, 0, 0)
    sold(r3a, after, opened=after, manager=manager)
    return {"alpha": alpha, "beta": beta, "manager": manager}


def run(start=date(2026, 1, 1), end=date(2026, 3, 31), step=Step.MONTH, **kwargs):
    return REPORTS["absorption"].result(Params.of(start, end, step, **kwargs))


def by_step(result):
    keys = ("start", "entered", "exposed", "sold", "absorption")
    table = result.table("by_step")
    return [tuple(r[k] for k in keys) for r in table.rows], tuple(table.total[k] for k in keys)


def test_absorption_by_month(history):
    rows, total = by_step(run())
    assert rows == [
        (7, 4, 11, 2, Decimal("18.2")),  # Jan: 2 ÷ 11; net −1 −1 +4 = +2
        (9, 5, 14, 1, Decimal("7.1")),  # Feb: 4 from B + Beta's studio back; net −1 +4 −1 −1 +1
        (11, 1, 12, 2, Decimal("16.7")),  # Mar: r3b reopened; 2 ÷ 12; net +1 −1 = 0
    ]
    assert total == (7, 10, 17, 5, Decimal("29.4"))  # 5 ÷ 17


def test_the_chart_is_the_absorption_column(history):
    result = run()
    chart = result.charts[0]
    assert chart.kind == "line" and chart.value_kind == "percent"
    assert chart.labels == ["January 2026", "February 2026", "March 2026"]
    assert chart.series[0].values == [Decimal("18.2"), Decimal("7.1"), Decimal("16.7")]


def test_by_quarter(history):
    rows, total = by_step(run(step=Step.QUARTER))
    assert rows == [(7, 10, 17, 5, Decimal("29.4"))]


def test_by_project_and_type_with_the_sell_out_time(history):
    result = run()
    keys = ("project", "type", "exposed", "sold", "absorption", "now", "sell_out")
    table = result.table("by_project_type")
    # three months; sell-out = on sale now × 3 ÷ sold
    assert [tuple(str(r[k]) if k == "type" else r[k] for k in keys) for r in table.rows] == [
        # s1 s2 at the start, B's studio came; s1 and B's sold; s2 left: 1 × 3 ÷ 2
        ("Alpha", "Studio", 3, 2, Decimal("66.7"), 1, Decimal("1.5")),
        # r1b at the start (r1a was in a deal), B's came; r1a sold: 2 × 3 ÷ 1
        ("Alpha", "1-room", 2, 1, Decimal("50.0"), 2, Decimal("6.0")),
        ("Alpha", "2-room", 3, 1, Decimal("33.3"), 2, Decimal("6.0")),
        # r3a r3b at the start; B's came and r3b came back; none sold
        ("Alpha", "3-room", 4, 0, Decimal("0.0"), 2, None),
        # Beta's studio came twice (created, back after the termination), sold
        ("Beta", "Studio", 2, 1, Decimal("50.0"), 0, Decimal("0.0")),
        ("Beta", "1-room", 1, 0, Decimal("0.0"), 1, None),
        ("Beta", "2-room", 1, 0, Decimal("0.0"), 1, None),
        ("Beta", "3-room", 1, 0, Decimal("0.0"), 1, None),
    ]
    total = table.total
    assert (total["exposed"], total["sold"], total["now"]) == (17, 5, 10)
    assert total["sell_out"] == Decimal("6.0")  # 10 × 3 ÷ 5
    assert [f.value for f in result.figures] == [Decimal("29.4"), 17, 5, Decimal("6.0")]


def test_the_history_adds_up_to_the_units_status_today(history):
    """The report counts back from today's stock; that holds because the flows of all
    history (creation rows included) add up to the units on sale today."""
    changes = StatusChange.objects.filter(ENTERS | LEAVES)
    net = changes.filter(ENTERS).count() - changes.filter(LEAVES).count()
    on_sale = Unit.objects.filter(status__in=[UnitStatus.AVAILABLE, UnitStatus.RESERVED])
    assert net == on_sale.count() == 10  # Alpha: s2 r1b r2b r3b, B × 3; Beta × 3
    # and the report's stock at the start (counted back) is the flows before the period
    before = changes.filter(at__lt=msk(2026, 1, 1))
    assert before.filter(ENTERS).count() - before.filter(LEAVES).count() == 7
    assert run().table("by_step").rows[0]["start"] == 7


def test_the_unit_filters(history):
    rows, total = by_step(run(project=history["alpha"]))
    assert rows == [
        (7, 0, 7, 2, Decimal("28.6")),  # 2 ÷ 7; net −2
        (5, 4, 9, 1, Decimal("11.1")),  # 1 ÷ 9; net −1 +4 −1
        (7, 1, 8, 1, Decimal("12.5")),  # 1 ÷ 8
    ]
    assert total == (7, 5, 12, 4, Decimal("33.3"))
    _rows, studios = by_step(run(unit_types=["studio"]))
    # s1 s2 at the start; B's and Beta's studio came (Beta's twice); s1, B's, Beta's sold
    assert studios == (2, 3, 5, 3, Decimal("60.0"))


def test_a_period_starting_mid_month_starts_from_that_day(history):
    rows, _total = by_step(run(date(2026, 1, 15), date(2026, 2, 28)))
    # on 15 January: 7 − r3b − s1 (into a deal on the 10th) = 5
    assert [r[:2] for r in rows] == [(5, 4), (9, 5)]


def test_months_in_a_period():
    assert months_in(Period(date(2026, 1, 1), date(2026, 3, 31))) == 3
    assert months_in(Period(date(2026, 2, 15), date(2026, 2, 28))) == Decimal(14) / Decimal(28)


def test_a_constant_number_of_queries(history):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            run()
        return len(captured.captured_queries)

    before = queries()
    manager = history["manager"]
    for i, unit in enumerate(units_on_sale(make_building(make_project()), 1, msk(2026, 1, 2), 2)):
        sold(unit, msk(2026, 2, 2 + i, 12), opened=msk(2026, 1, 20 + i, 12), manager=manager)
    assert queries() == before == 3
    assert by_step(run())[1][3] == 5 + 8


def test_the_page_and_the_exports(history, client):
    client.force_login(make_user(Role.DIRECTOR))
    query = "?date_from=2026-01-01&date_to=2026-03-31"
    page = client.get(reverse("analytics:report", args=["absorption"]) + query)
    assert page.status_code == 200
    assert "Absorption" in page.content.decode() and "Sell-out, months" in page.content.decode()
    for kind, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        export = client.get(reverse("analytics:export", args=["absorption", kind]) + query)
        assert export.status_code == 200 and export.content.startswith(magic)
