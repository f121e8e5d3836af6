"""The managers report against a hand-built history; figures written out by hand."""

from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.reports.managers import sales_by_manager
from kvartal.clients.models import Channel
from kvartal.clients.services import lead_create, visit_register
from kvartal.inventory.models import UnitStatus
from kvartal.inventory.services import unit_set_sales_state
from kvartal.sales.models import Payment
from kvartal.sales.services.holds import hold_convert, hold_create
from kvartal.sales.tests.factories import deal_reach, make_client, make_deal
from kvartal.testing import make_building, make_project, make_user

from .factories import make_floor_units, msk, sell

pytestmark = pytest.mark.django_db

_phones = count(1)
KEYS = (
    "leads",
    "visits",
    "holds",
    "deals",
    "count",
    "area",
    "amount",
    "discount",
    "terminated",
    "conversion",
    "payments",
)


def lead(manager, at):
    return lead_create(
        by=None,
        channel=Channel.objects.get(code="call"),
        phone=f"+7913{next(_phones):07d}",
        manager=manager,
        at=at,
    )


def visit(received_by, at):
    client = make_client(manager=received_by)
    return visit_register(by=received_by, client=client, received_by=received_by, at=at)


def hold(unit, manager, at):
    return hold_create(
        unit=unit, client=make_client(manager=manager), manager=manager, by=manager, days=3, at=at
    )


def pay(deal, amount, on):
    return Payment.objects.create(deal=deal, received_on=on, amount=Decimal(amount))


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    anna = make_user(Role.SALES_MANAGER, first_name="Anna", last_name="Ivanova")
    boris = make_user(Role.SALES_MANAGER, first_name="Boris", last_name="Petrov")
    vera = make_user(Role.SALES_HEAD, first_name="Vera", last_name="Sidorova")
    idle = make_user(Role.SALES_MANAGER, first_name="Ivan", last_name="Idle")
    ours = make_project()
    # 1st floor: studio 4 125 000, 1-room 5 760 000, 2-room 8 430 000, 3-room 11 835 000
    studio, one, two, three, _s, one_up, *_rest = make_floor_units(make_building(ours), floors=2)
    elsewhere = make_floor_units(make_building(make_project()))[0]  # a studio, 4 125 000

    # Anna: two leads (the one at 23:59 on 31 December is outside), a visit, two holds of
    # which one became a deal, two sales, payments on both deals.
    lead(anna, msk(2026, 1, 10, 12, 0))
    lead(anna, msk(2026, 1, 31, 23, 30))
    lead(anna, msk(2025, 12, 31, 23, 59))
    visit(anna, msk(2026, 2, 2, 12, 0))
    h1 = hold(studio, anna, msk(2026, 1, 12, 10, 0))
    hold_convert(hold=h1, by=anna, at=msk(2026, 1, 13, 10, 0))
    d1 = sell(
        studio,
        msk(2026, 2, 1, 0, 10),  # 21:10 UTC on 31 January: a February sale
        price=Decimal("4000000"),  # 125 000 off the list price
        manager=anna,
        opened=msk(2026, 1, 13, 10, 0),
    )
    hold(one, anna, msk(2026, 1, 20, 10, 0))  # never became a deal
    d2 = sell(two, msk(2026, 2, 20, 12, 0), manager=anna, opened=msk(2026, 1, 31, 23, 30))
    pay(d1, "1000000", date(2026, 1, 31))
    pay(d1, "3000000", date(2026, 3, 1))  # after the period
    pay(d2, "8430000", date(2026, 2, 28))  # the period's last day

    # Boris: a lead; a hold turned into a deal, then terminated; a sale in another project.
    lead(boris, msk(2026, 2, 15, 9, 0))
    h3 = hold(three, boris, msk(2026, 2, 3, 10, 0))
    hold_convert(hold=h3, by=boris, at=msk(2026, 2, 4, 10, 0))
    d3 = make_deal(unit=three, manager=boris, at=msk(2026, 2, 4, 10, 0))
    deal_reach(d3, "terminated", at=msk(2026, 2, 25, 12, 0))
    d4 = sell(elsewhere, msk(2026, 1, 31, 23, 30), manager=boris, opened=msk(2026, 1, 20, 12, 0))
    pay(d4, "4125000", date(2026, 1, 25))

    # Vera (sales head): receives a visit at 23:59 on 28 February; opens a deal on 26
    # February registered at 00:00 on 1 March — a sale of March.
    visit(vera, msk(2026, 2, 28, 23, 59))
    sell(one_up, msk(2026, 3, 1, 0, 0), manager=vera, opened=msk(2026, 2, 26, 12, 0))

    # Ivan: only a lead at 00:00 on 1 March, outside the period.
    lead(idle, msk(2026, 3, 1, 0, 0))
    return {"anna": anna, "boris": boris, "vera": vera, "ours": ours}


def run(**kwargs):
    return REPORTS["managers"].result(Params.of(date(2026, 1, 1), date(2026, 2, 28), **kwargs))


def rows(result):
    return [(r["manager"], *(r[k] for k in KEYS)) for r in result.table("managers").rows]


def test_each_managers_work_sorted_by_sum_sold(history):
    result = run()
    assert rows(result) == [
        # 27.50 + 56.20 m²; 4 000 000 + 8 430 000; discount 125 000 ÷ (4 125 000 +
        # 8 430 000) = 1.0 %; hold → deal 1 ÷ 2; paid 1 000 000 + 8 430 000
        ("Anna Ivanova", 2, 1, 2, 2, 2, Decimal("83.70"), Decimal("12430000"),
         Decimal("1.0"), 0, Decimal("50.0"), Decimal("9430000")),
        # deals opened: the terminated one and the sale elsewhere (23:30 on 31 January)
        ("Boris Petrov", 1, 0, 1, 2, 1, Decimal("27.50"), Decimal("4125000"),
         Decimal("0.0"), 1, Decimal("100.0"), Decimal("4125000")),
        ("Vera Sidorova", 0, 1, 0, 1, 0, Decimal(0), Decimal(0),
         None, 0, None, Decimal(0)),
    ]  # fmt: skip
    total = result.table("managers").total
    # 3 units, 111.20 m², 16 555 000; discount 125 000 ÷ 16 680 000 = 0.7 %; holds 2 of 3
    assert tuple(total[k] for k in KEYS) == (
        3, 2, 3, 5, 3, Decimal("111.20"), Decimal("16555000"),
        Decimal("0.7"), 1, Decimal("66.7"), Decimal("13555000"),
    )  # fmt: skip


def test_the_chart_is_the_sum_sold_column(history):
    chart = run().charts[0]
    assert chart.labels == ["Anna Ivanova", "Boris Petrov", "Vera Sidorova"]
    assert chart.series[0].values == [Decimal("12430000"), Decimal("4125000"), Decimal(0)]
    assert chart.kind == "bar" and chart.value_kind == "money"


def test_the_unit_filters_leave_leads_and_visits_alone(history):
    result = run(project=history["ours"])
    # Boris loses the deal, the sale and the payment in the other project; the terminated
    # deal and the hold are in ours. Leads and visits are not about units.
    assert rows(result)[1:] == [
        ("Boris Petrov", 1, 0, 1, 1, 0, Decimal(0), Decimal(0),
         None, 1, Decimal("100.0"), Decimal(0)),
        ("Vera Sidorova", 0, 1, 0, 1, 0, Decimal(0), Decimal(0), None, 0, None, Decimal(0)),
    ]  # fmt: skip
    assert run(unit_types=["3"]).table("managers").total["holds"] == 1  # Boris's 3-room


def test_a_sale_goes_to_the_manager_of_the_deal_open_at_that_moment(history):
    first, again, bare, *_rest = make_floor_units(make_building(history["ours"]))
    # a deal terminated, then the unit sold by someone else: the later deal's manager sells
    dropped = make_deal(unit=first, manager=history["anna"], at=msk(2026, 1, 3, 10, 0))
    deal_reach(dropped, "terminated", at=msk(2026, 1, 4, 10, 0))
    first.refresh_from_db()
    sell(first, msk(2026, 1, 20, 10, 0), manager=history["boris"], opened=msk(2026, 1, 5))
    # a deal opened after the sale does not count for it; a sale without any deal
    unit_set_sales_state(unit=bare, status=UnitStatus.SOLD, by=None, at=msk(2026, 1, 21))
    make_deal(unit=again, manager=history["vera"], at=msk(2026, 1, 25, 10, 0))
    params = Params.of(date(2026, 1, 1), date(2026, 3, 31))
    got = sales_by_manager(params)
    assert len(got) == 4  # Anna, Boris, Vera (with March) and the sale without a deal
    assert got[None].count == 1 and got[history["boris"].pk].count == 2


def test_a_quiet_period(history):
    result = run()
    quiet = REPORTS["managers"].result(Params.of(date(2025, 6, 1), date(2025, 6, 30)))
    assert quiet.table("managers").rows == [] and quiet.table("managers").empty
    assert quiet.charts == []
    assert result.figures[0].value == 3


def test_a_constant_number_of_queries(history):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            run()
        return len(captured.captured_queries)

    before = queries()
    units = make_floor_units(make_building(history["ours"]), floors=2)
    for i, unit in enumerate(units):
        manager = make_user(Role.SALES_MANAGER)
        lead(manager, msk(2026, 1, 5, 10, i))
        deal = sell(unit, msk(2026, 2, 10, 12, i), manager=manager)
        pay(deal, "1000", date(2026, 2, 11))
    assert queries() == before == 8
    assert len(run().table("managers").rows) == 3 + 8


def test_the_page_and_the_exports(history, client):
    client.force_login(make_user(Role.DIRECTOR))
    query = "?date_from=2026-01-01&date_to=2026-02-28"
    page = client.get(reverse("analytics:report", args=["managers"]) + query)
    assert page.status_code == 200
    assert "Managers" in page.content.decode() and "Boris Petrov" in page.content.decode()
    for kind, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        export = client.get(reverse("analytics:export", args=["managers", kind]) + query)
        assert export.status_code == 200 and export.content.startswith(magic)
