"""The collections report against hand-built schedules and payments; figures by hand.

The period is January – March 2026 by month. ``collections(params, today=…)`` fixes the day
the report is read on, so nothing depends on the clock.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.periods import Step
from kvartal.analytics.reports.collections import collections
from kvartal.sales.models import LineKind, Payment, PaymentLine
from kvartal.sales.tests.factories import deal_reach, make_deal
from kvartal.testing import make_building, make_project, make_user

from .factories import make_floor_units, msk

pytestmark = pytest.mark.django_db

D = Decimal
START, END = date(2026, 1, 1), date(2026, 3, 31)
M = D("1000000")


def make_money_deal(unit, *, number, price, at, manager=None, lines=(), payments=()):
    """A deal with the given schedule ``[(due date, amount)]`` and payments ``[(received
    on, amount)]`` (payments tied to no line), written as rows."""
    deal = make_deal(unit=unit, manager=manager, number=number, price=price, at=at, schedule=False)
    for due, amount in lines:
        PaymentLine.objects.create(deal=deal, due_date=due, amount=amount, kind=LineKind.INSTALMENT)
    for received, amount in payments:
        Payment.objects.create(deal=deal, received_on=received, amount=amount)
    return deal


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project(name="ЖК Север")
    building = make_building(project, name="Корпус 1")
    studio, one, two, _three = make_floor_units(building)
    manager = make_user(Role.SALES_MANAGER, last_name="Петрова", first_name="Анна")
    make_money_deal(
        studio,
        number="A-1",
        price=6 * M,
        at=msk(2025, 12, 1, 12, 0),
        manager=manager,
        lines=[
            (date(2025, 12, 20), M),  # before the period: not planned in it, but owed
            (date(2026, 1, 31), M),  # the last day of January belongs to January
            (date(2026, 2, 28), 2 * M),
            (date(2026, 3, 31), 2 * M),
        ],
        payments=[
            (date(2025, 12, 19), M),
            (date(2026, 2, 1), M),  # the January line, paid a day late: February's money
            (date(2026, 3, 5), D("500000")),
        ],
    )
    terminated = make_money_deal(
        one,
        number="B-2",
        price=3 * M,
        at=msk(2026, 1, 10, 12, 0),
        lines=[(date(2026, 1, 15), M), (date(2026, 2, 15), M), (date(2026, 3, 15), M)],
        payments=[
            (date(2026, 1, 15), M),
            (date(2026, 2, 20), D("200000")),
            (date(2026, 3, 12), D("-1200000")),  # the refund after the termination
        ],
    )
    # terminated at 00:30 on 1 March Moscow time (21:30 UTC on 28 February): it still owed
    # at the end of February, and no longer in March
    deal_reach(terminated, "terminated", at=msk(2026, 3, 1, 0, 30))
    make_money_deal(
        two,
        number="C-3",
        price=4 * M,
        at=msk(2026, 1, 20, 12, 0),
        lines=[(date(2026, 2, 1), 4 * M)],
        payments=[(date(2026, 3, 20), M)],
    )
    elsewhere = make_floor_units(make_building(make_project()))
    make_money_deal(
        elsewhere[0],
        number="D-4",
        price=D("500000"),
        at=msk(2026, 1, 5, 12, 0),
        lines=[(date(2026, 1, 31), D("500000"))],
    )
    return project


def step_rows(result):
    return [
        (r["planned"], r["received"], r["received_pct"], r["overdue"])
        for r in result.table("by_step").rows
    ]


def test_planned_received_and_overdue_by_month(history):
    result = collections(Params.of(START, END, project=history), today=date(2026, 3, 20))
    assert [r["step"] for r in result.table("by_step").rows] == [
        "January 2026",
        "February 2026",
        "March 2026",
    ]
    assert step_rows(result) == [
        # planned: A 31 Jan 1 M + B 15 Jan 1 M; received: B 1 M; 50 %
        # overdue at 31 Jan: A 2 M due − 1 M paid = 1 M; B 1 M − 1 M = 0
        (2 * M, M, D("50.0"), M),
        # planned: A 2 M + B 1 M + C 4 M; received: A 1 M + B 0.2 M; 1.2 ÷ 7 = 17.1 %
        # overdue at 28 Feb: A 4 M − 2 M = 2 M; B 2 M − 1.2 M = 0.8 M; C 4 M − 0 = 4 M
        (7 * M, D("1200000"), D("17.1"), D("6800000")),
        # planned: A 31 Mar 2 M (B's 15 Mar line falls after its termination)
        # received: A 0.5 M − B's refund 1.2 M + C 1 M = 0.3 M; 15 %
        # overdue today (20 Mar): A 4 M due before today − 2.5 M = 1.5 M; C 4 M − 1 M = 3 M;
        # B terminated
        (2 * M, D("300000"), D("15.0"), D("4500000")),
    ]
    total = result.table("by_step").total
    # 11 M planned, 2.5 M received: 22.7 %
    assert (total["planned"], total["received"], total["received_pct"]) == (
        11 * M,
        D("2500000"),
        D("22.7"),
    )
    chart = result.charts[0]
    assert [(s.name, s.values) for s in chart.series] == [
        ("Planned payments", [2 * M, 7 * M, 2 * M]),
        ("Money received", [M, D("1200000"), D("300000")]),
        ("Overdue at the end", [M, D("6800000"), D("4500000")]),
    ]


def test_the_deals_overdue_today_largest_first(history):
    result = collections(Params.of(START, END, project=history), today=date(2026, 3, 20))
    table = result.table("overdue_deals")
    assert [
        (r["number"], r["unit"], r["building"], r["overdue"], r["since"], r["days"])
        for r in table.rows
    ] == [
        # C owes 3 M of its 1 February line: 28 + 19 = 47 days
        ("C-3", "Apartment 3", "ЖК Север, Корпус 1", 3 * M, date(2026, 2, 1), 47),
        # A's 2.5 M covered December, January and 0.5 M of 28 February: 20 days
        ("A-1", "Apartment 1", "ЖК Север, Корпус 1", D("1500000"), date(2026, 2, 28), 20),
    ]
    assert table.rows[1]["manager"] == "Петрова А."
    assert (table.total["number"], table.total["overdue"]) == ("2 deals", D("4500000"))
    figures = {str(f.label): f.value for f in result.figures}
    # the overdue of today's month and of the list agree
    assert figures["Overdue today"] == D("4500000")
    assert figures["Deals overdue today"] == 2


def test_a_line_due_on_the_last_day_is_overdue_at_the_end_of_its_month(history):
    params = Params.of(START, END, project=history)
    after = collections(params, today=date(2026, 4, 15))
    # at 31 March: A 6 M due − 2.5 M = 3.5 M (its 31 March line counts); C 3 M
    assert [r[3] for r in step_rows(after)] == [M, D("6800000"), D("6500000")]
    # read in February: February as of 10 Feb, March not yet
    before = collections(params, today=date(2026, 2, 10))
    # A: 2 M due up to 9 Feb − 2 M paid = 0; B: 1 M − 1 M = 0; C: 4 M due 1 Feb − 0 = 4 M
    assert [r[3] for r in step_rows(before)] == [M, 4 * M, None]


def test_the_overdue_at_a_day_does_not_depend_on_the_step(history):
    days = collections(Params.of(START, END, Step.DAY, project=history), today=date(2026, 4, 15))
    overdue = {r["step"]: r["overdue"] for r in days.table("by_step").rows}
    # the month ends as above; on 30 January A owed only its December line: 1 M − 1 M = 0
    assert (overdue["01/30/2026"], overdue["01/31/2026"]) == (0, M)
    assert (overdue["02/28/2026"], overdue["03/31/2026"]) == (D("6800000"), D("6500000"))
    # 1 March: B's termination at 00:30 takes its 0.8 M away; C's 1 March is still 4 M
    assert overdue["03/01/2026"] == D("6000000")
    assert len(overdue) == 90


def test_the_registered_report_reads_today(history):
    result = REPORTS["collections"].result(Params.of(START, END, project=history))
    # any day after March: the same as read on 15 April
    assert [r[3] for r in step_rows(result)] == [M, D("6800000"), D("6500000")]
    assert result.title == "Collections"


def test_the_project_filter(history):
    everyone = collections(Params.of(START, END), today=date(2026, 3, 20))
    # D (another project): 0.5 M planned on 31 January, nothing paid, overdue from then on
    assert step_rows(everyone)[0] == (D("2500000"), M, D("40.0"), D("1500000"))
    assert [r[3] for r in step_rows(everyone)] == [D("1500000"), D("7300000"), D("5000000")]
    assert [r["number"] for r in everyone.table("overdue_deals").rows] == ["C-3", "A-1", "D-4"]
    other = collections(
        Params.of(START, END, project=history, unit_types=["studio"]), today=date(2026, 3, 20)
    )
    # only A's studio
    assert step_rows(other)[1] == (2 * M, M, D("50.0"), 2 * M)
    assert [r["number"] for r in other.table("overdue_deals").rows] == ["A-1"]


def test_the_manager_filter(history):
    manager = make_user(Role.SALES_MANAGER)
    result = collections(Params.of(START, END, manager=manager), today=date(2026, 3, 20))
    assert step_rows(result)[0] == (D(0), D(0), None, D(0))
    assert result.table("overdue_deals").rows == []


def test_the_page_and_the_exports_render(client, director, history):
    client.force_login(director)
    query = "?date_from=2026-01-01&date_to=2026-03-31&step=month"
    page = client.get(reverse("analytics:report", args=["collections"]) + query)
    assert page.status_code == 200
    assert "C-3" in page.content.decode()
    xlsx = client.get(reverse("analytics:export", args=["collections", "xlsx"]) + query)
    assert (xlsx.status_code, xlsx.content[:2]) == (200, b"PK")
    pdf = client.get(reverse("analytics:export", args=["collections", "pdf"]) + query)
    assert (pdf.status_code, pdf.content[:4]) == (200, b"%PDF")


def _queries(params, today) -> int:
    with CaptureQueriesContext(connection) as captured:
        collections(params, today=today)
    return len(captured)


def test_the_query_count_does_not_grow_with_the_deals(settings, django_assert_num_queries):
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project()
    units = make_floor_units(make_building(project), floors=2)
    params, today = Params.of(START, END, project=project), date(2026, 3, 20)

    def owing(unit, n):
        make_money_deal(
            unit,
            number=f"Q-{n}",
            price=2 * M,
            at=msk(2026, 1, 1, 12, 0),
            lines=[(date(2026, 1, 10), M), (date(2026, 2, 10), M)],
            payments=[(date(2026, 1, 10), D("300000"))],
        )

    owing(units[0], 0)
    one = _queries(params, today)
    for n, unit in enumerate(units[1:6], start=1):
        owing(unit, n)
    assert _queries(params, today) == one
    # planned, received, the overdue by step, the overdue deals with their oldest due line
    with django_assert_num_queries(4):
        collections(params, today=today)


def test_a_schedule_paid_in_full_in_awkward_fractions_owes_nothing(settings):
    """SQLite keeps DecimalField money as REAL: three lines less two payments that add up to
    them leave 4.7e-10, which counted as owed. Balances are rounded to the kopeck in SQL."""
    settings.TIME_ZONE = "Europe/Moscow"
    unit = make_floor_units(make_building(make_project()))[0]
    lines = [D("781446.55"), D("999668.90"), D("354811.99")]
    payments = [D("824348.65"), D("1311578.79")]
    assert sum(lines) == sum(payments)
    make_money_deal(
        unit,
        number="E-5",
        price=sum(lines),
        at=msk(2025, 12, 1, 12, 0),
        lines=list(
            zip([date(2026, 1, 10), date(2026, 1, 20), date(2026, 1, 30)], lines, strict=True)
        ),
        payments=list(zip([date(2026, 2, 5), date(2026, 2, 10)], payments, strict=True)),
    )
    result = collections(Params.of(START, END), today=date(2026, 3, 20))
    figures = {str(f.label): f.value for f in result.figures}
    assert (figures["Overdue today"], figures["Deals overdue today"]) == (0, 0)
    assert [r[3] for r in step_rows(result)] == [sum(lines), 0, 0]
    assert result.table("overdue_deals").rows == []


def test_the_cashiers_list_drops_a_deal_paid_in_full_in_awkward_fractions(settings):
    """The cashier's desk compares the sums in SQL too: five payments that add up to the
    price exactly left 1.86e-9 owed on SQLite and kept the deal on the desk as overdue."""
    from kvartal.sales.selectors.payments import cashier_totals, deals_with_money_due

    settings.TIME_ZONE = "Europe/Moscow"
    unit = make_floor_units(make_building(make_project()))[0]
    price = D("13806971.38")
    payments = [D("2323400.49"), D("3261157.91"), D("4092460.01"), D("4118646.20"), D("11306.77")]
    assert sum(payments) == price
    deal = make_money_deal(
        unit,
        number="E-6",
        price=price,
        at=msk(2025, 12, 1, 12, 0),
        lines=[(date(2026, 1, 10), price)],
        payments=[(date(2026, 1, 5 + n), amount) for n, amount in enumerate(payments)],
    )
    cashier = make_user(Role.CASHIER)
    due = deals_with_money_due(cashier, today=date(2026, 3, 20))
    assert deal.pk not in {d.pk for d in due}
    assert cashier_totals(due)["overdue_count"] == 0


JAN, FEB, MAR, APR = date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 10)


def awkward_schedules() -> list:
    """Deals ``S-0`` … ``S-9`` on schedules that test the allocation rule, read on 20 March
    2026: payments tied to a line (short, in excess, a refund), money tied to no line, a
    negative line, lines due the same day, awkward fractions; and deals owing nothing."""
    units = make_floor_units(make_building(make_project()), floors=3)
    jan, feb, mar, apr = JAN, FEB, MAR, APR
    cases = [
        # (lines, loose payments, tied payments [(line index, amount)])
        ([(jan, M), (feb, M), (mar, M)], [D("1500000")], []),
        ([(jan, M), (feb, M), (mar, M)], [], [(1, 2 * M)]),  # its excess covers January
        ([(jan, M), (feb, M), (mar, M)], [], [(2, M)]),  # March paid, January owed
        ([(jan, M), (feb, D("-200000")), (mar, M)], [D("1800000")], []),  # a negative line
        ([(jan, M), (jan, M), (feb, M)], [D("1500000")], []),  # two lines the same day
        ([(jan, M), (feb, M)], [M], [(0, D("-300000"))]),  # a refund tied to January
        (
            [(jan, D("781446.55")), (feb, D("999668.90")), (mar, D("354811.99"))],
            [D("824348.65"), D("1311578.79")],
            [],
        ),  # paid in full in awkward fractions
        (
            [(jan, D("781446.55")), (feb, D("999668.90")), (apr, D("354811.99"))],
            [D("800000.00")],
            [(1, D("957114.80"))],
        ),  # February short by 24 000.65 once January is paid
        ([(apr, M)], [], []),  # nothing due yet
        ([], [M], []),  # no schedule
    ]
    deals = []
    for n, (lines, loose, tied) in enumerate(cases):
        deal = make_money_deal(
            units[n], number=f"S-{n}", price=5 * M, at=msk(2025, 12, 1, 12, 0), lines=lines
        )
        rows = list(PaymentLine.objects.filter(deal=deal).order_by("due_date", "pk"))
        for amount in loose:
            Payment.objects.create(deal=deal, received_on=date(2026, 3, 1), amount=amount)
        for index, amount in tied:
            Payment.objects.create(
                deal=deal, line=rows[index], received_on=date(2026, 3, 1), amount=amount
            )
        deals.append(deal)
    return deals


def test_the_oldest_overdue_line_follows_the_cashiers_allocation(settings):
    """``overdue_since`` (one statement) gives the oldest overdue due date that
    ``payment_states`` (the cashier's allocation in Python) gives, on every schedule of
    ``awkward_schedules``."""
    from kvartal.analytics.reports.collections import overdue_since
    from kvartal.sales.selectors import payment_states

    settings.TIME_ZONE = "Europe/Moscow"
    deals, today = awkward_schedules(), date(2026, 3, 20)
    jan, feb, mar = JAN, FEB, MAR
    states = payment_states({d.pk: d.price for d in deals}, today)
    expected = {pk: s.overdue_since for pk, s in states.items() if s.overdue_since}
    assert overdue_since([d.pk for d in deals], today) == expected
    by_number = {d.number: expected.get(d.pk) for d in deals}
    assert by_number == {
        "S-0": feb,
        "S-1": mar,
        "S-2": jan,
        "S-3": mar,
        "S-4": jan,
        "S-5": jan,
        "S-6": None,
        "S-7": feb,
        "S-8": None,
        "S-9": None,
    }


def test_the_overdue_deals_owe_what_the_cashier_sees_overdue(settings):
    """The report's list takes each deal's overdue amount from its own overdue statement;
    on every schedule of ``awkward_schedules`` it is the cashier's ``overdue_amount``."""
    from kvartal.sales.selectors.payments import deals_with_money_due

    settings.TIME_ZONE = "Europe/Moscow"
    awkward_schedules()
    today = date(2026, 3, 20)
    cashier = make_user(Role.CASHIER)
    expected = {
        d.number: d.overdue_amount
        for d in deals_with_money_due(cashier, today=today)
        if d.overdue_amount > 0
    }
    assert len(expected) == 6  # S-0, S-1, S-2, S-4, S-5 and S-7
    rows = collections(Params.of(START, END), today=today).table("overdue_deals").rows
    assert {r["number"]: r["overdue"] for r in rows} == expected
    assert [r["overdue"] for r in rows] == sorted(expected.values(), reverse=True)


def test_a_deal_terminated_after_the_day_read_is_listed_as_owing_on_it(history):
    """Read as of 20 February, deal B-2 (terminated on 1 March) owed its February line: the
    list names it, as the count of deals overdue does."""
    result = collections(Params.of(START, END, project=history), today=date(2026, 2, 20))
    rows = result.table("overdue_deals").rows
    figures = {str(f.label): f.value for f in result.figures}
    assert figures["Deals overdue today"] == len(rows)
    assert "B-2" in {r["number"] for r in rows}
    assert sum(r["overdue"] for r in rows) == figures["Overdue today"]
