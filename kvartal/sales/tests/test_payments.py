"""Payment schedules, received payments, overdue lines, the cashier's desk and the chessboard
marks of money (overdue; paid and part-paid parking spaces)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from kvartal.accounts.models import Role
from kvartal.core.money import money_text
from kvartal.inventory.models import Unit
from kvartal.sales.models import (
    DealEvent,
    LineKind,
    Payer,
    Payment,
    PaymentLine,
    PaymentMethod,
)
from kvartal.sales.selectors import allocate, deal_payment_state, payment_marks, payment_states
from kvartal.sales.services import deals as svc
from kvartal.sales.services.payments import (
    LinePaidInFull,
    MoreThanLeftOnLine,
    PaymentRefused,
    ScheduleLocked,
    add_months,
    payment_record,
    schedule_generate,
    schedule_line_delete,
    schedule_line_save,
)
from kvartal.sales.tests.factories import open_deal, refusal_state, stage
from kvartal.testing import make_building, make_section, make_user

from .factories import deal_reach, make_deal, make_unit, opened

D = Decimal
TODAY = timezone.localdate


@pytest.fixture
def cashier(db):
    return make_user(Role.CASHIER, username="cashier")


def schedule_of(deal):
    return list(deal.schedule.values_list("due_date", "amount", "kind", "payer"))


def money_rows(deal):
    return (
        schedule_of(deal),
        list(Payment.objects.filter(deal=deal).values_list("amount", "line_id")),
        DealEvent.objects.filter(deal=deal).count(),
    )


# --- schedules -----------------------------------------------------------------------------


def test_full_payment_is_one_lump_sum_of_the_total_due(manager):
    first = date(2026, 3, 10)
    deal = make_deal(
        manager=manager, price=D("5000000.00"), bti_adjustment=D("12345.67"), at=opened(first)
    )
    lines = schedule_generate(deal=deal, by=manager, first_due=first)
    assert [(x.due_date, x.amount, x.kind) for x in lines] == [
        (first, D("5012345.67"), LineKind.LUMP_SUM)
    ]
    event = DealEvent.objects.get(deal=deal, kind="schedule")
    assert event.unit_id == deal.unit_id and event.actor == manager


def test_mortgage_is_the_buyers_down_payment_and_the_banks_tranche(manager):
    deal = make_deal(
        manager=manager,
        price=D("6000000"),
        payment_method=PaymentMethod.MORTGAGE,
        at=opened(date(2026, 1, 31)),
    )
    schedule_generate(deal=deal, by=manager, first_due=date(2026, 1, 31), down_payment="15%")
    assert schedule_of(deal) == [
        (date(2026, 1, 31), D("900000.00"), LineKind.DOWN_PAYMENT, Payer.BUYER),
        (date(2026, 2, 28), D("5100000.00"), LineKind.MORTGAGE, Payer.BANK),
    ]


def test_subsidised_programme_takes_a_down_payment_amount(manager):
    deal = make_deal(
        manager=manager,
        price=D("4000000"),
        payment_method=PaymentMethod.SUBSIDISED,
        at=opened(date(2026, 5, 1)),
    )
    schedule_generate(deal=deal, by=manager, first_due=date(2026, 5, 1), down_payment=D("800000"))
    assert [a for _d, a, _k, _p in schedule_of(deal)] == [D("800000.00"), D("3200000.00")]


def test_instalments_are_n_monthly_payments_and_the_last_absorbs_the_kopecks(manager):
    deal = make_deal(
        manager=manager,
        price=D("5000000"),
        payment_method=PaymentMethod.INSTALMENTS,
        at=opened(date(2026, 1, 31)),
    )
    schedule_generate(
        deal=deal, by=manager, first_due=date(2026, 1, 31), down_payment="20%", months=3
    )
    assert schedule_of(deal) == [
        (date(2026, 1, 31), D("1000000.00"), LineKind.DOWN_PAYMENT, Payer.BUYER),
        (date(2026, 2, 28), D("1333333.33"), LineKind.INSTALMENT, Payer.BUYER),
        (date(2026, 3, 31), D("1333333.33"), LineKind.INSTALMENT, Payer.BUYER),
        (date(2026, 4, 30), D("1333333.34"), LineKind.INSTALMENT, Payer.BUYER),
    ]


@pytest.mark.parametrize("months", [1, 7, 12, 36, 120])
def test_instalment_schedules_sum_exactly_to_the_total_due(manager, months):
    deal = make_deal(
        manager=manager,
        price=D("7777777.77"),
        bti_adjustment=D("-1234.56"),
        payment_method=PaymentMethod.INSTALMENTS,
    )
    lines = schedule_generate(deal=deal, by=manager, down_payment="13%", months=months)
    assert len(lines) == months + 1
    assert sum(x.amount for x in lines) == deal.total_due == D("7776543.21")
    assert all(x.amount == x.amount.quantize(D("0.01")) for x in lines)


def test_a_new_schedule_replaces_the_old_one(manager):
    deal = make_deal(manager=manager, price=D("3000000"), payment_method=PaymentMethod.INSTALMENTS)
    schedule_generate(deal=deal, by=manager, months=12)
    schedule_generate(deal=deal, by=manager, months=2, payment_method=PaymentMethod.INSTALMENTS)
    assert deal.schedule.count() == 3
    assert DealEvent.objects.filter(deal=deal, kind="schedule").count() == 2


def test_schedule_lines_can_be_added_changed_and_deleted_before_signing(manager):
    deal = make_deal(
        manager=manager, price=D("1000000"), schedule=False, at=opened(date(2026, 6, 1))
    )
    line = schedule_line_save(
        deal=deal, by=manager, due_date=date(2026, 6, 1), amount="400 000,50", kind="instalment"
    )
    assert line.amount == D("400000.50")
    schedule_line_save(
        deal=deal,
        by=manager,
        line=line,
        due_date=date(2026, 7, 1),
        amount="600000",
        kind="lump_sum",
    )
    line.refresh_from_db()
    assert (line.due_date, line.amount) == (date(2026, 7, 1), D("600000.00"))
    schedule_line_delete(deal=deal, line=line, by=manager)
    assert not deal.schedule.exists()
    actions = [e.data["action"] for e in DealEvent.objects.filter(deal=deal, kind="schedule")]
    assert actions == ["added", "changed", "deleted"]


def test_a_planned_payment_cannot_fall_due_before_the_deals_date(manager):
    opened_on = TODAY() - timedelta(days=10)
    deal = make_deal(
        manager=manager,
        price=D("3000000"),
        payment_method=PaymentMethod.INSTALMENTS,
        at=opened(opened_on),
    )
    schedule_generate(deal=deal, by=manager, first_due=opened_on, down_payment="0", months=3)
    line = deal.schedule.first()
    before = money_rows(deal)
    years_before = add_months(opened_on, -36)
    for write, field in (
        (
            lambda due: schedule_line_save(
                deal=deal, by=manager, due_date=due, amount="1000", kind="instalment"
            ),
            "due_date",
        ),
        (
            lambda due: schedule_line_save(
                deal=deal, by=manager, line=line, due_date=due, amount="1000", kind="instalment"
            ),
            "due_date",
        ),
        (lambda due: schedule_generate(deal=deal, by=manager, first_due=due), "first_due"),
        (
            lambda due: schedule_generate(
                deal=deal,
                by=manager,
                first_due=due,
                payment_method=PaymentMethod.MORTGAGE,
                down_payment="10%",
            ),
            "first_due",
        ),
    ):
        for due in (years_before, opened_on - timedelta(days=1)):
            with pytest.raises(ValidationError) as refused:
                write(due)
            assert refused.value.message_dict == {
                field: [
                    "A planned payment cannot fall due before the deal's date "
                    f"({date_format(opened_on, 'SHORT_DATE_FORMAT')})."
                ]
            }
            assert money_rows(deal) == before
    deal.refresh_from_db()
    assert deal.payment_method == PaymentMethod.INSTALMENTS
    # on the deal's date itself it may fall due
    schedule_line_save(deal=deal, by=manager, due_date=opened_on, amount="1", kind="instalment")


def test_a_planned_payment_before_the_deals_date_is_refused_on_the_page(client, manager):
    opened_on = TODAY() - timedelta(days=10)
    deal = make_deal(manager=manager, price=D("3000000"), at=opened(opened_on))
    before = money_rows(deal)
    client.force_login(manager)
    url = reverse("sales:schedule-line-save", args=[deal.pk])
    response = client.post(
        url,
        {
            "line-due_date": add_months(opened_on, -24).isoformat(),
            "line-amount": "1000",
            "line-kind": "instalment",
            "line-payer": "buyer",
        },
    )
    assert response.status_code == 400
    shown = date_format(opened_on, "SHORT_DATE_FORMAT")
    assert response.context["line_form"].errors["due_date"] == [
        f"A planned payment cannot fall due before the deal's date ({shown})."
    ]
    response = client.post(
        reverse("sales:schedule-generate", args=[deal.pk]),
        {
            "plan-payment_method": "full",
            "plan-first_due": (opened_on - timedelta(days=1)).isoformat(),
            "plan-months": "12",
        },
    )
    assert response.status_code == 400
    assert "before the deal's date" in " ".join(
        response.context["schedule_form"].errors["first_due"]
    )
    assert money_rows(deal) == before


def test_the_refusal_of_an_early_planned_payment_reads_in_russian(manager):
    opened_on = TODAY() - timedelta(days=10)
    deal = make_deal(manager=manager, price=D("3000000"), at=opened(opened_on))
    with translation.override("ru"), pytest.raises(ValidationError) as refused:
        schedule_line_save(
            deal=deal, by=manager, due_date=add_months(opened_on, -12), amount="1", kind="lump_sum"
        )
    assert refused.value.messages == [
        f"Срок планового платежа не может быть раньше даты сделки ({opened_on:%d.%m.%Y})."
    ]


def test_schedule_cannot_change_after_signing_and_nothing_changes(manager):
    deal = make_deal(manager=manager, price=D("2000000"), payment_method=PaymentMethod.INSTALMENTS)
    schedule_generate(deal=deal, by=manager, months=4)
    line = deal.schedule.first()
    deal_reach(deal, "signed")
    before = money_rows(deal)
    with pytest.raises(ScheduleLocked, match="only before the contract is signed"):
        schedule_generate(deal=deal, by=manager, months=10)
    with pytest.raises(ScheduleLocked):
        schedule_line_save(deal=deal, by=manager, due_date=TODAY(), amount="1", kind="instalment")
    with pytest.raises(ScheduleLocked):
        schedule_line_save(
            deal=deal, by=manager, line=line, due_date=TODAY(), amount="1", kind="instalment"
        )
    with pytest.raises(ScheduleLocked):
        schedule_line_delete(deal=deal, line=line, by=manager)
    assert money_rows(deal) == before


@pytest.mark.parametrize(
    ("down", "months", "field"),
    [
        ("100%", 3, "down_payment"),
        ("abc", 3, "down_payment"),
        ("2000000", 3, "down_payment"),
        ("-5", 3, "down_payment"),
        ("20%", 0, "months"),
        ("20%", 400, "months"),
    ],
)
def test_impossible_schedule_figures_are_refused_and_nothing_changes(manager, down, months, field):
    deal = make_deal(manager=manager, price=D("2000000"), payment_method=PaymentMethod.INSTALMENTS)
    schedule_generate(deal=deal, by=manager, months=2)
    before = money_rows(deal)
    with pytest.raises(ValidationError) as error:
        schedule_generate(deal=deal, by=manager, down_payment=down, months=months)
    assert field in error.value.message_dict
    assert money_rows(deal) == before


def test_add_months_keeps_the_day_or_takes_the_last_day_of_the_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 15), 14) == date(2029, 2, 15)


# --- payments ------------------------------------------------------------------------------


def test_the_cashier_records_a_payment_and_the_outstanding_amount_falls(cashier, manager):
    deal = make_deal(manager=manager, price=D("3000000"))
    payment = payment_record(
        deal=deal, amount="1 000 000.25", received_on=TODAY(), by=cashier, document="ПП 17"
    )
    assert payment.amount == D("1000000.25") and payment.recorded_by == cashier
    state = deal_payment_state(deal)
    assert (state.received, state.outstanding) == (D("1000000.25"), D("1999999.75"))
    event = DealEvent.objects.get(deal=deal, kind="payment")
    assert event.data["amount"] == "1000000.25" and event.unit_id == deal.unit_id


def test_a_payment_above_the_outstanding_amount_is_refused_and_nothing_changes(cashier, manager):
    deal = make_deal(manager=manager, price=D("3000000"))
    payment_record(deal=deal, amount=D("2500000"), received_on=TODAY(), by=cashier)
    before = money_rows(deal)
    with pytest.raises(PaymentRefused, match="more than the outstanding 500,000.00"):
        payment_record(deal=deal, amount=D("500000.01"), received_on=TODAY(), by=cashier)
    assert money_rows(deal) == before
    payment_record(deal=deal, amount=D("500000"), received_on=TODAY(), by=cashier)
    assert deal_payment_state(deal).paid_in_full


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("0", PaymentRefused),
        ("-100", PaymentRefused),
        ("сто рублей", ValidationError),
        ("12.345", ValidationError),
        ("NaN", ValidationError),
    ],
)
def test_a_zero_negative_or_non_number_amount_is_refused(cashier, manager, amount, error):
    deal = make_deal(manager=manager, price=D("3000000"))
    before = money_rows(deal)
    with pytest.raises(error):
        payment_record(deal=deal, amount=amount, received_on=TODAY(), by=cashier)
    assert money_rows(deal) == before


def test_no_payment_on_a_terminated_deal(cashier, manager):
    deal = make_deal(manager=manager, price=D("3000000"))
    deal_reach(deal, "terminated")
    with pytest.raises(PaymentRefused, match="closed"):
        payment_record(deal=deal, amount=D("10"), received_on=TODAY(), by=cashier)
    assert not Payment.objects.filter(deal=deal).exists()


def test_only_the_cashiers_capability_records_payments(manager):
    deal = make_deal(manager=manager, price=D("3000000"))
    with pytest.raises(PaymentRefused):
        payment_record(deal=deal, amount=D("10"), received_on=TODAY(), by=manager)
    assert not Payment.objects.exists()


def test_a_payment_dated_in_the_future_is_refused(cashier, manager):
    deal = make_deal(manager=manager, price=D("3000000"))
    with pytest.raises(ValidationError):
        payment_record(
            deal=deal, amount=D("10"), received_on=TODAY() + timedelta(days=1), by=cashier
        )
    assert not Payment.objects.exists()


def three_lines(manager):
    """A deal of 3 000 000 in three planned payments of 1 000 000, from today monthly."""
    deal = make_deal(manager=manager, price=D("3000000"), payment_method=PaymentMethod.INSTALMENTS)
    schedule_generate(deal=deal, by=manager, first_due=TODAY(), down_payment="0", months=3)
    return deal, list(deal.schedule.order_by("due_date", "pk"))


def test_a_payment_against_a_line_paid_in_full_is_refused_and_nothing_changes(cashier, manager):
    deal, (first, second, third) = three_lines(manager)
    payment_record(deal=deal, amount=D("1000000"), received_on=TODAY(), by=cashier, line=second)
    payment_record(deal=deal, amount=D("1000000"), received_on=TODAY(), by=cashier)  # the 1st
    before = money_rows(deal)
    for paid in (first, second):
        with pytest.raises(LinePaidInFull, match="already paid in full") as refused:
            payment_record(deal=deal, amount=D("10"), received_on=TODAY(), by=cashier, line=paid)
        assert refused.value.field == "line"
    assert money_rows(deal) == before
    payment_record(deal=deal, amount=D("10"), received_on=TODAY(), by=cashier, line=third)
    assert [s.remaining for s in deal_payment_state(deal).lines] == [0, 0, D("999990.00")]


def test_a_payment_above_what_is_left_on_its_line_is_refused_and_nothing_changes(cashier, manager):
    deal, (first, second, third) = three_lines(manager)
    payment_record(deal=deal, amount=D("400000"), received_on=TODAY(), by=cashier, line=second)
    before = money_rows(deal)
    for amount in (D("600000.01"), D("1000000"), D("2600000")):
        with pytest.raises(MoreThanLeftOnLine) as refused:
            payment_record(deal=deal, amount=amount, received_on=TODAY(), by=cashier, line=second)
        assert str(refused.value) == (
            f"{money_text(amount)} is more than the 600,000.00 ₽ left to pay on the planned "
            f"payment due {date_format(second.due_date, 'SHORT_DATE_FORMAT')}: nothing was "
            "recorded. Record at most 600,000.00 ₽ against it and the rest against another "
            "one, or against none (the earliest unpaid ones)."
        )
        assert refused.value.field == "amount"
    assert money_rows(deal) == before
    # what is left is accepted, and the line is then paid; nothing went to the first line
    payment_record(deal=deal, amount=D("600000"), received_on=TODAY(), by=cashier, line=second)
    assert [s.remaining for s in deal_payment_state(deal).lines] == [
        D("1000000.00"),
        0,
        D("1000000.00"),
    ]


def test_a_payment_above_what_is_left_on_its_line_is_refused_on_the_page(client, cashier, manager):
    deal, (_first, second, _third) = three_lines(manager)
    payment_record(deal=deal, amount=D("400000"), received_on=TODAY(), by=cashier, line=second)
    before = money_rows(deal)
    client.force_login(cashier)
    response = client.post(
        reverse("sales:payment-record", args=[deal.pk]),
        {
            "pay-amount": "700 000",
            "pay-received_on": TODAY().isoformat(),
            "pay-line": second.pk,
        },
    )
    assert response.status_code == 409
    (error,) = response.context["pay_form"].errors["amount"]
    # what is left, as the form's choice of the line writes it
    assert "is more than the 600,000.00 ₽ left to pay on the planned payment" in error
    assert money_rows(deal) == before


def test_the_payment_form_offers_the_lines_with_what_is_left_on_each(cashier, manager):
    from kvartal.sales.forms.payments import PaymentForm

    deal, (first, second, third) = three_lines(manager)
    payment_record(deal=deal, amount=D("1000000"), received_on=TODAY(), by=cashier, line=first)
    payment_record(deal=deal, amount=D("400000"), received_on=TODAY(), by=cashier, line=second)
    choices = dict(PaymentForm(deal=deal).fields["line"].choices)
    assert list(choices) == ["", second.pk, third.pk]  # the paid line is not offered
    assert choices[second.pk].endswith("600,000.00 ₽ left of 1,000,000.00 ₽")
    assert choices[third.pk].endswith(" · 1,000,000.00 ₽")


def test_a_payment_against_a_paid_line_is_refused_on_the_page(client, cashier, manager):
    deal, (first, _second, _third) = three_lines(manager)
    payment_record(deal=deal, amount=D("1000000"), received_on=TODAY(), by=cashier, line=first)
    before = money_rows(deal)
    client.force_login(cashier)
    response = client.post(
        reverse("sales:payment-record", args=[deal.pk]),
        {"pay-amount": "1000", "pay-received_on": TODAY().isoformat(), "pay-line": first.pk},
    )
    assert response.status_code == 409
    assert "already paid in full" in " ".join(response.context["pay_form"].errors["line"])
    assert money_rows(deal) == before


# --- planned against received, overdue -----------------------------------------------------


def test_unassigned_payments_cover_the_earliest_lines_and_tied_ones_their_line():
    lines = [PaymentLine(pk=i, amount=D(a)) for i, a in ((1, "100"), (2, "100"), (3, "100"))]
    assert allocate(lines, {}, D("150")) == {1: D("100"), 2: D("50"), 3: D("0")}
    # 120 tied to line 3: 100 covers it, the 20 extra goes to the earliest line.
    assert allocate(lines, {3: D("120")}, D("0")) == {1: D("20"), 2: D("0"), 3: D("100")}


def test_a_line_past_due_and_not_covered_is_overdue(cashier, manager):
    today = TODAY()
    deal = make_deal(
        manager=manager,
        price=D("3000000"),
        payment_method=PaymentMethod.INSTALMENTS,
        at=opened(add_months(today, -2)),
    )
    schedule_generate(
        deal=deal, by=manager, first_due=add_months(today, -2), down_payment="0", months=3
    )
    # Lines: -1 month, today, +1 month, 1 000 000 each. Only the first is past due.
    payment_record(deal=deal, amount=D("400000"), received_on=today, by=cashier)
    state = deal_payment_state(deal)
    assert [s.state for s in state.lines] == ["overdue", "planned", "planned"]
    assert (state.overdue, state.overdue_since) == (D("600000.00"), add_months(today, -1))
    assert state.lines[0].paid == D("400000") and state.planned == D("3000000.00")
    payment_record(deal=deal, amount=D("700000"), received_on=today, by=cashier)
    state = deal_payment_state(deal)
    assert [s.state for s in state.lines] == ["paid", "part", "planned"]
    assert not state.is_overdue


def test_payment_states_cost_two_queries_for_any_number_of_deals(
    manager, django_assert_num_queries
):
    deals = [make_deal(manager=manager, price=D("1000000")) for _ in range(3)]
    for deal in deals:
        schedule_generate(deal=deal, by=manager, months=2)
    with django_assert_num_queries(2):
        states = payment_states({d.pk: d.total_due for d in deals})
    assert all(s.planned == D("1000000.00") for s in states.values())


# --- chessboard marks ----------------------------------------------------------------------


def overdue_deal(manager, cashier, *, unit=None):
    """A deal opened a month ago whose one planned payment fell due five days ago."""
    deal = make_deal(manager=manager, unit=unit, price=D("1000000"), at=opened(days_ago=30))
    schedule_generate(deal=deal, by=manager, first_due=TODAY() - timedelta(days=5))
    return deal


def test_overdue_marks_and_parking_paid_marks(manager, cashier):
    late = overdue_deal(manager, cashier)
    on_time = make_deal(manager=manager, price=D("1000000"))
    schedule_generate(deal=on_time, by=manager, first_due=TODAY() + timedelta(days=5))
    paid_space = make_deal(manager=manager, unit=make_unit(parking=True), price=D("900000"))
    part_space = make_deal(manager=manager, unit=make_unit(parking=True), price=D("900000"))
    unpaid_space = make_deal(manager=manager, unit=make_unit(parking=True), price=D("900000"))
    flat_paid = make_deal(manager=manager, price=D("900000"))
    for deal, amount in ((paid_space, "900000"), (part_space, "100000"), (flat_paid, "900000")):
        payment_record(deal=deal, amount=D(amount), received_on=TODAY(), by=cashier)
    ids = [d.unit_id for d in (late, on_time, paid_space, part_space, unpaid_space, flat_paid)]
    marks = payment_marks(ids, timezone.now())
    css = {unit_id: [m.css for m in found] for unit_id, found in marks.items()}
    assert css == {
        late.unit_id: ["overdue"],
        paid_space.unit_id: ["paid"],
        part_space.unit_id: ["part-paid"],
    }
    assert "1,000,000.00" in marks[late.unit_id][0].title
    assert "100,000.00 of 900,000.00" in marks[part_space.unit_id][0].title


def test_payment_marks_cost_the_same_queries_for_one_unit_or_many(
    manager, cashier, django_assert_num_queries
):
    deals = [overdue_deal(manager, cashier) for _ in range(4)]
    # the units (given as ids), then the deals, their lines and payments in one query
    with django_assert_num_queries(2):
        one = payment_marks([deals[0].unit_id], timezone.now())
    with django_assert_num_queries(2):
        many = payment_marks([d.unit_id for d in deals], timezone.now())
    assert len(one) == 1 and len(many) == 4


def test_a_board_reads_line_by_line_only_the_deals_that_may_owe(manager, cashier):
    """The board's query leaves out deals paid up for past dates (most of a building's): a
    payment a kopeck short still counts, and payments that add up in awkward fractions (REAL
    sums on SQLite) still add up."""
    from kvartal.inventory.selectors import chessboard
    from kvartal.sales.selectors.payments import _board_money

    section = make_section(floors=1, per_floor=4)
    late, on_time, paid_up, short = (
        make_deal(manager=manager, unit=unit, price=D("1000000"), at=opened(days_ago=30))
        for unit in section.units.order_by("position")
    )
    for deal in (late, paid_up, short):
        schedule_generate(deal=deal, by=manager, first_due=TODAY() - timedelta(days=5))
    schedule_generate(deal=on_time, by=manager, first_due=TODAY() + timedelta(days=5))
    for amount in ("333333.33", "333333.33", "333333.34"):
        payment_record(deal=paid_up, amount=D(amount), received_on=TODAY(), by=cashier)
    for amount in ("0.10", "0.20", "999999.69"):
        payment_record(deal=short, amount=D(amount), received_on=TODAY(), by=cashier)
    units = chessboard(section.building).units

    rows = _board_money(units, section.building_id, today=TODAY())
    assert {row[1] for row in rows} == {late.pk, short.pk}
    marks = payment_marks(units, timezone.now())
    assert {unit_id: [m.css for m in found] for unit_id, found in marks.items()} == {
        late.unit_id: ["overdue"],
        short.unit_id: ["overdue"],
    }
    assert "0.01" in marks[short.unit_id][0].title


def test_a_boards_units_get_the_marks_their_ids_get(manager, cashier):
    """The chessboard hands the providers its units with what they share (building, kinds,
    held units); the providers then skip their passes over them and the promotions of other
    buildings. The marks are those the same units get as plain ids."""
    from kvartal.inventory import extensions
    from kvartal.inventory.extensions import BoardUnits
    from kvartal.inventory.models import UnitKind
    from kvartal.inventory.presenters import board_marks, unit_marks
    from kvartal.inventory.selectors import chessboard
    from kvartal.sales.services.holds import hold_create

    from .factories import make_client, make_promotion

    section = make_section(floors=2, per_floor=4)
    units = list(section.units.order_by("floor__index", "position"))
    overdue_deal(manager, cashier, unit=units[0])
    hold_create(
        unit=units[1], client=make_client(manager=manager), manager=manager, by=manager, days=1
    )
    project = section.building.project
    make_promotion(name="Here", buildings=[section.building])
    make_promotion(name="Project", projects=[project])
    make_promotion(name="Two rooms", rooms=[2])
    make_promotion(name="One flat", units=[units[5]])
    make_promotion(name="Elsewhere", buildings=[make_building()])
    make_promotion(name="Other project", projects=[make_building().project])

    board = chessboard(section.building).units
    assert type(board) is BoardUnits and board.building_id == section.building_id
    given = []
    extensions.chessboard_marks.append(lambda units, now: given.append(units) or {})
    try:
        board_marks(chessboard(section.building))
    finally:
        extensions.chessboard_marks.pop()
    assert [type(units) for units in given] == [BoardUnits]  # the providers get it as it is
    assert board.kinds == {UnitKind.APARTMENT} and [u.pk for u in board.held] == [units[1].pk]
    by_board, by_ids = unit_marks(board), unit_marks([u.pk for u in units])
    assert by_board == by_ids
    titles = {m.title for marks in by_board.values() for m in marks if m.css == "promo"}
    assert titles and not any("Elsewhere" in t or "Other project" in t for t in titles)
    assert any("One flat" in t for t in titles)
    assert {m.css for m in by_board[units[0].pk]} == {"overdue"}
    assert {m.css for m in by_board[units[1].pk]} == {"expiring"}


@pytest.mark.parametrize("language", ["ru", "en", "zh-hans"])
def test_the_marks_write_money_and_dates_as_the_filters_do(language):
    """The marks read the language's formats once (``_Texts``); the texts are those of
    ``money_text`` and the short date format."""
    from django.utils import translation
    from django.utils.formats import date_format

    from kvartal.sales.selectors.payments import _Texts, money_text

    with translation.override(language):
        texts = _Texts()
        for amount in (D("3132600"), D("0.01"), D("-1250.5"), D("1234567890.129"), 7):
            assert texts.money(amount) == money_text(amount)
        for day in (date(2026, 11, 7), date(1999, 1, 31)):
            assert texts.day(day) == date_format(day, "SHORT_DATE_FORMAT")


# --- pages ---------------------------------------------------------------------------------


def test_the_cashier_records_a_payment_on_the_deal_page(client, cashier, manager):
    deal = make_deal(manager=manager, price=D("2000000"))
    client.force_login(cashier)
    url = reverse("sales:deal-payments", args=[deal.pk])
    response = client.post(
        reverse("sales:payment-record", args=[deal.pk]),
        {"pay-amount": "500 000", "pay-received_on": TODAY().isoformat()},
    )
    assert response.status_code == 302
    assert deal_payment_state(deal).received == D("500000")
    page = client.get(url).content.decode()
    assert "1,500,000.00" in page


@pytest.mark.parametrize(
    ("amount", "message", "status"),
    [
        ("2000000.01", "more than the outstanding", 409),  # the payment rule refuses it
        ("abc", "Enter a number", 400),  # the form does
        ("0", "greater than zero", 409),
    ],
)
def test_bad_amounts_on_the_page_give_a_clear_message_and_change_nothing(
    client, cashier, manager, amount, message, status
):
    deal = make_deal(manager=manager, price=D("2000000"))
    client.force_login(cashier)
    response = client.post(
        reverse("sales:payment-record", args=[deal.pk]),
        {"pay-amount": amount, "pay-received_on": TODAY().isoformat()},
    )
    assert response.status_code == status
    assert message in response.content.decode()
    assert not Payment.objects.exists()


def test_schedule_edit_after_signing_is_refused_on_the_page(client, manager):
    deal = make_deal(manager=manager, price=D("2000000"), payment_method=PaymentMethod.INSTALMENTS)
    schedule_generate(deal=deal, by=manager, months=2)
    deal_reach(deal, "signed")
    before = money_rows(deal)
    client.force_login(manager)
    response = client.post(
        reverse("sales:schedule-generate", args=[deal.pk]),
        {"plan-payment_method": "instalments", "plan-months": "6"},
    )
    assert response.status_code == 409
    assert "only before the contract is signed" in response.content.decode()
    assert money_rows(deal) == before


def test_a_manager_cannot_record_payments_nor_open_another_managers_deal(client, manager):
    deal = make_deal(manager=manager, price=D("2000000"))
    client.force_login(manager)
    response = client.post(
        reverse("sales:payment-record", args=[deal.pk]),
        {"pay-amount": "10", "pay-received_on": TODAY().isoformat()},
    )
    assert response.status_code == 403
    other = make_deal(price=D("2000000"))
    assert client.get(reverse("sales:deal-payments", args=[other.pk])).status_code == 404
    assert not Payment.objects.exists()


def test_the_cashiers_desk_lists_deals_with_money_due_overdue_first(client, cashier, manager):
    on_time = make_deal(manager=manager, price=D("1000000"), number="Д-00001")
    schedule_generate(deal=on_time, by=manager, first_due=TODAY() + timedelta(days=3))
    late = overdue_deal(manager, cashier)
    paid = make_deal(manager=manager, price=D("1000000"), number="Д-00003")
    payment_record(deal=paid, amount=D("1000000"), received_on=TODAY(), by=cashier)
    client.force_login(cashier)
    page = client.get(reverse("sales:cashier")).content.decode()
    assert page.index(late.number) < page.index(on_time.number)
    assert paid.number not in page
    found = client.get(reverse("sales:cashier"), {"q": late.buyers.get().client.last_name})
    assert late.number in found.content.decode() and on_time.number not in found.content.decode()


def test_the_cashiers_desk_costs_the_same_queries_for_more_deals(
    client, cashier, manager, django_assert_max_num_queries
):
    for _ in range(2):
        overdue_deal(manager, cashier)
    client.force_login(cashier)
    client.get(reverse("sales:cashier"))
    for _ in range(4):
        overdue_deal(manager, cashier)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("sales:cashier"))
    assert response.content.decode().count('class="overdue-row"') == 6


def test_a_parking_space_in_a_residential_building_gets_its_paid_mark(manager, cashier):
    from kvartal.inventory.models import UnitKind

    building = make_building()
    make_section(building, floors=1, per_floor=2, price_per_m2=D("150000"))
    space = building.units.first()
    Unit.objects.filter(pk=space.pk).update(kind=UnitKind.PARKING, rooms=None)
    space.refresh_from_db()
    deal = make_deal(manager=manager, unit=space, price=D("900000"))
    payment_record(deal=deal, amount=D("900000"), received_on=TODAY(), by=cashier)
    marks = payment_marks([space.pk], timezone.now())
    assert [m.css for m in marks[space.pk]] == ["paid"]


def test_the_contract_is_not_signed_with_a_schedule_that_does_not_add_up(unit, buyer, manager):
    deal = open_deal(unit, buyer, manager)
    line = deal.schedule.get()
    schedule_line_save(
        deal=deal, by=manager, line=line, due_date=line.due_date, amount="1000", kind="lump_sum"
    )
    before = refusal_state()
    with pytest.raises(svc.StageRequirementMissing, match="correct the schedule"):
        svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    assert refusal_state() == before

    schedule_generate(deal=deal, by=manager)
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    deal.refresh_from_db()
    assert deal.stage == stage("signed")


def test_an_instalment_deal_opens_with_its_default_schedule(unit, buyer, manager):
    deal = open_deal(unit, buyer, manager, payment_method="instalments")
    lines = list(deal.schedule.all())
    assert len(lines) == 13  # 20 % down, then 12 months
    assert sum(line.amount for line in lines) == deal.total_due


def test_a_schedule_running_past_year_9999_is_refused(client, unit, buyer, manager):
    deal = open_deal(unit, buyer, manager)
    before = refusal_state()
    with pytest.raises(Exception) as error:
        schedule_generate(
            deal=deal, by=manager, first_due=date(9999, 12, 1), payment_method="instalments"
        )
    assert "past the end of the calendar" in str(error.value)
    assert refusal_state() == before
    client.force_login(manager)
    response = client.post(
        reverse("sales:schedule-generate", args=[deal.pk]),
        {
            "plan-payment_method": "instalments",
            "plan-first_due": "9999-12-01",
            "plan-months": "12",
        },
    )
    assert response.status_code == 400
    assert "past the end of the calendar" in response.content.decode()
    assert refusal_state() == before


def test_deleting_a_schedule_line_that_is_gone_is_a_message(client, unit, buyer, manager):
    deal = open_deal(unit, buyer, manager)
    client.force_login(manager)
    before = refusal_state()
    response = client.post(reverse("sales:schedule-line-delete", args=[deal.pk, 999999]))
    assert response.status_code == 400
    assert "no longer in the schedule" in response.content.decode()
    assert refusal_state() == before


def test_the_chessboard_with_every_sales_mark_costs_five_queries(client, manager, cashier):
    """The building, its sections with their floors, its units, the deals' money and the
    running promotions: five queries (besides the session and the user) for a board with an
    overdue deal, a hold running out and a promotion, however many units it has."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kvartal.sales.services.holds import hold_create

    from .factories import make_client, make_promotion

    section = make_section(floors=3, per_floor=4)
    units = list(section.units.order_by("pk"))
    overdue_deal(manager, cashier, unit=units[0])
    hold_create(
        unit=units[1], client=make_client(manager=manager), manager=manager, by=manager, days=1
    )
    make_promotion(name="Весна", buildings=[section.building])
    client.force_login(manager)
    url = reverse("inventory:building-chessboard", args=[section.building_id])
    client.get(url)  # the sales settings are remembered after the first read
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    own = [
        q["sql"]
        for q in queries.captured_queries
        if '"django_session"' not in q["sql"] and '"accounts_user"' not in q["sql"]
    ]
    assert len(own) <= 5, "\n".join(own)
    html = response.content.decode()
    assert "overdue" in html and "expiring" in html and "promo" in html
