"""The reservations report against holds made through the hold services at chosen Moscow
moments; expected figures written out by hand (the arithmetic in the comments)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kvartal.accounts.models import Role
from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.reports import reservations as report
from kvartal.sales.models import HoldKind
from kvartal.sales.services import holds as svc
from kvartal.sales.tests.factories import make_client
from kvartal.testing import make_building, make_project, make_user

from .factories import make_floor_units, msk

pytestmark = pytest.mark.django_db

# The report's "now" in the history tests: long after every hold of the history ended.
LATER = msk(2026, 6, 1, 12, 0)
# The report's "now" in the tests of the holds ending soon.
NOW = msk(2026, 5, 10, 12, 0)


def hold(unit, manager, start, *, days=None, until=None, kind=HoldKind.ORAL, basis="other"):
    """A hold made by ``manager`` at ``start`` through the service (its history included)."""
    paid = {"amount": Decimal("50000"), "receipt_number": "R-1"} if kind == HoldKind.PAID else {}
    return svc.hold_create(
        unit=unit,
        client=make_client(manager=manager),
        manager=manager,
        by=manager,
        kind=kind,
        basis=basis,
        days=days,
        expires_at=until,
        at=start,
        **paid,
    )


@pytest.fixture
def people(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    anna = make_user(Role.SALES_MANAGER, username="anna", first_name="Анна", last_name="Морозова")
    boris = make_user(Role.SALES_MANAGER, username="boris", first_name="Борис", last_name="Никитин")
    return anna, boris


@pytest.fixture
def history(people):
    """Period 1 Feb – 31 Mar 2026 (Moscow). Units 27.50 / 38.40 / 56.20 / 78.90 m² at
    150 000 ₽/m²: 4 125 000, 5 760 000, 8 430 000 and 11 835 000 ₽."""
    anna, boris = people
    project = make_project()
    building = make_building(project, name="Корпус 1")
    units = make_floor_units(building, floors=2)
    studio, one, two, three, studio2 = units[:5]
    # H1 starts before the period, is cancelled inside it: counted, clipped to 1 Feb 00:00
    h1 = hold(studio, anna, msk(2026, 1, 25, 10, 0), days=10, kind="free", basis="mortgage")
    svc.hold_cancel(hold=h1, by=anna, reason="changed their mind", at=msk(2026, 2, 3, 10, 0))
    # H2 runs out exactly when the period starts: not counted
    hold(one, anna, msk(2026, 1, 20, 12, 0), until=msk(2026, 2, 1, 0, 0))
    # H3 (finalises H2 as expired at its end), turned into a deal two days later
    h3 = hold(one, boris, msk(2026, 2, 10, 9, 0), days=14, kind="paid", basis="funds")
    svc.hold_convert(hold=h3, by=boris, at=msk(2026, 2, 12, 9, 0))
    # H4 runs past the period and is never finalised: it reads as expired at 5 Apr 00:00
    hold(two, anna, msk(2026, 3, 25, 0, 0), until=msk(2026, 4, 5, 0, 0), basis="trade_in")
    # H5 starts at 23:00 Moscow on 31 Mar (20:00 UTC): a March hold, one hour inside
    h5 = hold(three, boris, msk(2026, 3, 31, 23, 0), days=1, kind="free", basis="mortgage")
    svc.hold_cancel(hold=h5, by=boris, reason="bank refused", at=msk(2026, 4, 1, 10, 0))
    # H6 starts at the first moment after the period: not counted
    hold(studio2, anna, msk(2026, 4, 1, 0, 0), days=3)
    # H7: another project's hold in February
    other = make_floor_units(make_building(make_project(), name="Корпус 9"))
    hold(other[0], anna, msk(2026, 2, 15, 12, 0), days=5)
    return project, building, units


def run(start=date(2026, 2, 1), end=date(2026, 3, 31), *, now=LATER, **filters):
    return report.reservations(Params.of(start, end, **filters), now=now)


def label(building, unit):
    return f"{building.name} · {unit.number}"


def test_the_holds_of_the_period_clipped_to_it_in_start_order(history):
    project, building, (studio, one, two, three, *_rest) = history
    rows = run(project=project).table("units").rows
    assert [
        (r["unit"], str(r["type"]), r["area"], r["price"], r["manager"], str(r["kind"]))
        for r in rows
    ] == [
        (label(building, studio), "Studio", Decimal("27.50"), Decimal("4125000"), "Анна Морозова",
         "Free reservation"),
        (label(building, one), "1-room", Decimal("38.40"), Decimal("5760000"), "Борис Никитин",
         "Paid reservation"),
        (label(building, two), "2-room", Decimal("56.20"), Decimal("8430000"), "Анна Морозова",
         "Oral hold"),
        (label(building, three), "3-room", Decimal("78.90"), Decimal("11835000"),
         "Борис Никитин", "Free reservation"),
    ]  # fmt: skip
    assert [(str(r["basis"]), r["start"], r["end"], r["days"], str(r["state"])) for r in rows] == [
        # 1 Feb 00:00 → 3 Feb 10:00 = 2 d 10 h = 2.42 days (the January days are cut off)
        ("Mortgage review", msk(2026, 1, 25, 10), msk(2026, 2, 3, 10), Decimal("2.4"),
         "Cancelled"),
        # 10 Feb 09:00 → 12 Feb 09:00
        ("Gathering funds", msk(2026, 2, 10, 9), msk(2026, 2, 12, 9), Decimal("2.0"),
         "Turned into a deal"),
        # 25 Mar 00:00 → 1 Apr 00:00 (cut at the period's end); never finalised, reads expired
        ("Trade-in of a secondary flat", msk(2026, 3, 25), msk(2026, 4, 5), Decimal("7.0"),
         "Expired"),
        # 31 Mar 23:00 → 1 Apr 00:00 = 1 h = 0.04 days
        ("Mortgage review", msk(2026, 3, 31, 23), msk(2026, 4, 1, 10), Decimal("0.0"),
         "Cancelled"),
    ]  # fmt: skip


def test_a_hold_ending_when_the_period_starts_or_starting_when_it_ends_is_out(history):
    project, building, (_studio, one, _two, _three, studio2, *_rest) = history
    rows = run(project=project).table("units").rows
    # H2 (ended 1 Feb 00:00) and H6 (started 1 Apr 00:00) are not listed; one's only row is H3
    assert [r["unit"] for r in rows].count(label(building, one)) == 1
    assert label(building, studio2) not in [r["unit"] for r in rows]
    # one day earlier in the period, H2's last day is inside: now it counts
    january = run(date(2026, 1, 31), date(2026, 3, 31), project=project).table("units").rows
    assert [r["unit"] for r in january].count(label(building, one)) == 2


def test_holds_started_by_month_and_type_in_local_time(history):
    project, _building, _units = history
    result = run(project=project)
    table = result.table("by_step")
    assert [c.key for c in table.columns] == ["step", "type_1", "type_2", "type_3", "total"]
    # H1 started in January (before the period) and is not a start of this period;
    # H5 at 23:00 on 31 Mar Moscow is a March start although it is 20:00 UTC
    assert [(r["step"], r["type_1"], r["type_2"], r["type_3"], r["total"]) for r in table.rows] == [
        ("February 2026", 1, 0, 0, 1),
        ("March 2026", 0, 1, 1, 2),
    ]
    assert (table.total["type_1"], table.total["type_2"], table.total["total"]) == (1, 1, 3)
    chart = result.charts[0]
    assert chart.labels == ["February 2026", "March 2026"]
    assert [(s.name, s.values) for s in chart.series] == [
        ("1-room", [1, 0]),
        ("2-room", [0, 1]),
        ("3-room", [0, 1]),
    ]


def test_the_longest_holds_first(history):
    project, _building, _units = history
    rows = run(project=project).table("longest").rows
    # days inside the period: H4 7.0, H1 2.4, H3 2.0, H5 0.0
    assert [(str(r["type"]), r["days"]) for r in rows] == [
        ("2-room", Decimal("7.0")),
        ("Studio", Decimal("2.4")),
        ("1-room", Decimal("2.0")),
        ("3-room", Decimal("0.0")),
    ]


def test_holds_by_manager_with_states_basis_kind_and_type(history):
    project, _building, _units = history
    table = run(project=project).table("managers")
    keys = ["manager", "holds", "active", "converted", "expired", "cancelled", "conversion"]
    assert [tuple(r[k] for k in keys) for r in table.rows] == [
        # Анна: H1 cancelled, H4 expired → 0 of 2 ended into a deal
        ("Анна Морозова", 2, 0, 0, 1, 1, Decimal("0.0")),
        # Борис: H3 converted, H5 cancelled → 1 of 2 = 50 %
        ("Борис Никитин", 2, 0, 1, 0, 1, Decimal("50.0")),
    ]
    by_basis = ["basis_mortgage", "basis_trade_in", "basis_funds", "basis_other"]
    by_kind = ["kind_oral", "kind_free", "kind_paid"]
    assert [[r[k] for k in by_basis + by_kind] for r in table.rows] == [
        [1, 1, 0, 0, 1, 1, 0],  # H1 mortgage/free, H4 trade-in/oral
        [1, 0, 1, 0, 0, 1, 1],  # H3 funds/paid, H5 mortgage/free
    ]
    # a tie (one each) goes to the type listed first: studio before 2-room, 1- before 3-room
    assert [r["type"] for r in table.rows] == ["Studio", "1-room"]
    total = table.total
    assert (total["holds"], total["converted"], total["expired"], total["cancelled"]) == (
        4,
        1,
        1,
        2,
    )
    assert total["conversion"] == Decimal("25.0")  # 1 of 4 ended holds
    assert [total[k] for k in by_basis + by_kind] == [2, 1, 1, 0, 1, 2, 1]


def test_the_figures(history):
    project, _building, _units = history
    figures = {str(f.label): f.value for f in run(project=project).figures}
    # lengths: H1 25 Jan 10:00 → 3 Feb 10:00 = 9 d; H3 2 d; H4 25 Mar → 5 Apr = 11 d;
    # H5 11 h = 0.4583 d; (9 + 2 + 11 + 0.4583) ÷ 4 = 5.61 days
    assert figures == {
        "Holds in the period": 4,
        "Units held": 4,
        "Average hold length, days": Decimal("5.6"),
        "Conversion to a deal": Decimal("25.0"),
        "Ending within 24 h": 0,
    }


def test_the_project_filter_keeps_other_projects_out(history):
    project, _building, _units = history
    everyone = run().table("units").rows
    # H7 is another project's (Корпус 9), in February
    assert len(everyone) == 5
    assert [r["unit"].split(" · ")[0] for r in everyone].count("Корпус 9") == 1
    mine = run(project=project).table("units").rows
    assert "Корпус 9" not in [r["unit"].split(" · ")[0] for r in mine]


def test_the_manager_filter(history, people):
    anna, _boris = people
    project, _building, _units = history
    rows = run(project=project, manager=anna).table("managers").rows
    assert [(r["manager"], r["holds"]) for r in rows] == [("Анна Морозова", 2)]
    assert len(run(project=project, manager=anna).table("units").rows) == 2


def test_a_live_hold_is_active_and_clipped_at_now(history):
    project, building, (_studio, _one, two, three, studio2, *_rest) = history
    now = msk(2026, 4, 3, 12, 0)
    result = run(date(2026, 3, 1), date(2026, 4, 30), now=now, project=project)
    rows = {r["unit"]: r for r in result.table("units").rows}
    # H4: 25 Mar 00:00 → now 3 Apr 12:00 = 9.5 days, still on
    assert (rows[label(building, two)]["days"], str(rows[label(building, two)]["end"])) == (
        Decimal("9.5"),
        "active",
    )
    assert str(rows[label(building, two)]["state"]) == "Active"
    # H5: 31 Mar 23:00 → 1 Apr 10:00 = 11 h = 0.46 days
    assert rows[label(building, three)]["days"] == Decimal("0.5")
    # H6: 1 Apr 00:00 → now = 2.5 days; it ends 4 Apr 00:00, 12 h from now (H4: 36 h)
    assert rows[label(building, studio2)]["days"] == Decimal("2.5")
    expiring = result.table("expiring").rows
    assert [(r["unit"], r["hours_left"]) for r in expiring] == [(studio2.number, Decimal("12.0"))]


@pytest.fixture
def ending(people):
    """Holds around ``NOW``: ending in 2 h, 23 h, exactly 24 h and 25 h, one already ended,
    one cancelled, and another project's."""
    anna, boris = people
    project = make_project()
    building = make_building(project, name="Корпус 2")
    units = make_floor_units(building, floors=2)
    hour = timedelta(hours=1)
    hold(units[0], anna, NOW - hour, until=NOW + 23 * hour)
    hold(units[1], anna, NOW - hour, until=NOW + 25 * hour)
    hold(units[2], boris, NOW - 5 * hour, until=NOW - hour)
    hold(units[3], boris, NOW - 2 * hour, until=NOW + 2 * hour)
    cancelled = hold(units[4], boris, NOW - 2 * hour, until=NOW + 5 * hour)
    svc.hold_cancel(hold=cancelled, by=boris, reason="no", at=NOW - hour / 2)
    hold(units[5], anna, NOW - hour, until=NOW + 24 * hour)
    other = make_floor_units(make_building(make_project()))
    hold(other[0], boris, NOW - hour, until=NOW + 3 * hour)
    return project, building, units


def test_the_holds_ending_within_24_hours_whatever_the_period(ending):
    project, building, units = ending
    # January's period: the list is about now, not about the period
    result = run(date(2026, 1, 1), date(2026, 1, 31), now=NOW, project=project, hours=24)
    table = result.table("expiring")
    assert str(table.title) == "Holds ending within 24 h (from now, whatever the period)"
    # 2 h and 23 h are in; 24 h (the window's end is open), 25 h, the ended one, the
    # cancelled one and the other project's are out
    assert [
        (r["unit"], r["building"], str(r["type"]), r["price"], r["manager"], r["expires_at"],
         r["hours_left"])
        for r in table.rows
    ] == [
        (units[3].number, "Корпус 2", "3-room", Decimal("11835000"), "Борис Никитин",
         NOW + timedelta(hours=2), Decimal("2.0")),
        (units[0].number, "Корпус 2", "Studio", Decimal("4125000"), "Анна Морозова",
         NOW + timedelta(hours=23), Decimal("23.0")),
    ]  # fmt: skip
    figures = {str(f.label): f.value for f in result.figures}
    assert figures["Ending within 24 h"] == 2
    assert figures["Holds in the period"] == 0


def test_the_ending_list_follows_hours_and_manager(ending, people):
    anna, _boris = people
    project, _building, units = ending
    within_26 = run(now=NOW, project=project, hours=26).table("expiring").rows
    assert [r["unit"] for r in within_26] == [
        units[3].number,  # 2 h
        units[0].number,  # 23 h
        units[5].number,  # 24 h
        units[1].number,  # 25 h
    ]
    annas = run(now=NOW, project=project, manager=anna).table("expiring").rows
    assert [r["unit"] for r in annas] == [units[0].number]
    everyone = run(now=NOW).table("expiring").rows
    assert len(everyone) == 3  # with the other project's, 3 h


def test_the_list_is_capped_with_a_note(history, monkeypatch):
    project, _building, _units = history
    monkeypatch.setattr(report, "MAX_ROWS", 3)
    result = run(project=project)
    assert len(result.table("units").rows) == 3
    assert result.notes == [
        "“Holds in the period” lists the first 3 of 4 holds; narrow the filters to see the rest."
    ]


def test_the_registered_report_runs_with_the_clock(history):
    project, _building, _units = history
    result = REPORTS["holds"].result(
        Params.of(date(2026, 2, 1), date(2026, 3, 31), project=project)
    )
    assert result.title == "Reservations"
    assert result.figures[0].value == 4
    assert [t.key for t in result.tables] == ["by_step", "units", "longest", "managers", "expiring"]
    assert all(t.empty for t in result.tables)


def _queries(**filters) -> int:
    with CaptureQueriesContext(connection) as queries:
        run(**filters)
    return len(queries)


def test_the_query_count_does_not_grow_with_the_holds(people, django_assert_max_num_queries):
    anna, boris = people
    project = make_project()
    units = make_floor_units(make_building(project), floors=3)
    hold(units[0], anna, msk(2026, 2, 2, 10, 0), days=3)
    small = _queries(project=project)
    for i, unit in enumerate(units[1:7], start=1):
        manager = (anna, boris, make_user(Role.SALES_MANAGER))[i % 3]
        hold(unit, manager, msk(2026, 2, 2 + i, 10, 0), days=2 + i, kind="free")
    hold(units[8], anna, NOW - timedelta(hours=1), until=NOW + timedelta(hours=5))
    assert _queries(project=project, now=NOW) == small
    with django_assert_max_num_queries(7):
        run(project=project)
