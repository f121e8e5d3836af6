"""The payment formulas against figures computed by hand (shared/reference/domain.md §4)."""

from decimal import Decimal as D

import pytest
from django.utils import translation

from kvartal.showcase import calculators as calc


def test_annuity_matches_the_hand_computed_payment():
    # A = 8 000 000 · 0.005 / (1 − 1.005^−360) = 47 964.04
    assert calc.annuity_payment(D(8_000_000), D(6), 360) == D("47964.04")
    assert calc.annuity_payment(D(8_000_000), D(2), 360) == D("29569.56")
    assert calc.annuity_payment(D(8_000_000), D(20), 360) == D("133681.49")


def test_annuity_schedule_adds_up_to_the_price():
    option = calc.mortgage_annuity(
        price=D(10_000_000), down_payment=D(2_000_000), rate=D(6), months=360
    )
    first = option.schedule[1]
    assert (first.interest, first.principal) == (D("40000.00"), D("7964.04"))
    assert option.principal_total == D(10_000_000)
    assert option.schedule[-1].balance == 0
    # total interest 9 267 055 ₽ by the formula; kopeck rounding moves it by under 2 ₽
    assert abs(option.interest - D(9_267_055)) < 2


def test_differentiated_first_last_and_total_interest():
    option = calc.mortgage_differentiated(
        price=D(10_000_000), down_payment=D(2_000_000), rate=D(6), months=360
    )
    assert option.first_payment == D("62222.22")
    assert option.last_payment == D("22333.33")
    assert option.interest == D("7220000.00")  # S · i · (n + 1) / 2
    assert option.principal_total == D(10_000_000)


def test_developer_subsidy_share_and_subsidised_price():
    share = calc.developer_subsidy_share(rate=D("0.1"), market_rate=D(15), months=12, term=360)
    assert D("0.135") < share < D("0.137")  # ≈ 13.6 % of the loan
    whole = calc.developer_subsidy_share(rate=D(6), market_rate=D(18), months=0, term=360)
    assert D("0.60") < whole < D("0.61")
    # P_sub = P / (1 − c · LTV): 13.6 % at LTV 80 % → +12.2 %
    assert calc.subsidised_price(price=D(10_000_000), share=D("0.136"), ltv=D("0.8")) == D(
        11_220_826
    )


def test_developer_subsidy_schedule_switches_to_the_market_rate_and_adds_up():
    option = calc.mortgage_subsidised(
        price=D(10_000_000),
        down_share=D("0.2"),
        rate=D("0.1"),
        market_rate=D(15),
        subsidised_months=12,
        months=360,
        raises_price=True,
        title="0.1 %",
    )
    assert option.price > D(10_000_000)
    assert option.principal_total == option.price
    # month 13 is at 15 % on the balance left after a year: interest = balance · 0.0125
    balance_12 = option.schedule[12].balance
    assert option.schedule[13].interest == (balance_12 * D("0.0125")).quantize(D("0.01"))


def test_state_programme_keeps_the_price_and_refuses_a_loan_above_its_limit():
    option = calc.mortgage_subsidised(
        price=D(10_000_000),
        down_share=D("0.2"),
        rate=D(6),
        market_rate=D(18),
        subsidised_months=0,
        months=360,
        raises_price=False,
        title="family",
    )
    assert option.price == D(10_000_000)
    assert option.first_payment == calc.annuity_payment(D(8_000_000), D(6), 360)
    with pytest.raises(calc.CalculatorRefused) as refused, translation.override("ru"):
        calc.mortgage_subsidised(
            price=D(10_000_000),
            down_share=D("0.2"),
            rate=D(6),
            market_rate=D(18),
            subsidised_months=0,
            months=360,
            raises_price=False,
            title="family",
            max_loan=D(6_000_000),
        )
    # the amounts as the page writes money (grouped, the rouble sign), not raw decimals
    assert "8\xa0000\xa0000,00 ₽" in str(refused.value) and "6\xa0000\xa0000,00 ₽" in str(
        refused.value
    )
    assert "8000000.00" not in str(refused.value)


def test_a_subsidy_note_writes_rates_as_the_page_does():
    with translation.override("ru"):
        option = calc.mortgage_subsidised(
            price=D(10_000_000),
            down_share=D("0.2"),
            rate=D("5.50"),
            market_rate=D("18.00"),
            subsidised_months=24,
            months=360,
            raises_price=True,
            title="developer",
        )
    assert option.note.startswith("5,5 % ") and "18 %" in option.note


def test_instalment_plan_hand_computed():
    option = calc.instalment(
        price=D(10_000_000), down_share=D("0.3"), months=12, markup=D(0), title="12"
    )
    assert option.down_payment == D(3_000_000)
    assert option.first_payment == D("583333.33")
    assert option.last_payment == D("583333.37")
    assert option.principal_total == D(10_000_000)
    marked = calc.instalment(
        price=D(10_000_000), down_share=D("0.3"), months=12, markup=D(5), title="12"
    )
    assert marked.price == D(10_500_000) == marked.principal_total


def test_full_payment_discount():
    option = calc.full_payment(price=D(10_000_000), discount_percent=D(5))
    assert option.price == D(9_500_000) == option.principal_total


@pytest.mark.parametrize(
    "rate, months, down",
    [(D(0), 360, D(0)), (D(99), 360, D(0)), (D(6), 0, D(0)), (D(6), 360, D(10_000_001))],
)
def test_bad_terms_are_refused(rate, months, down):
    with pytest.raises(calc.CalculatorRefused):
        calc.mortgage_annuity(price=D(10_000_000), down_payment=down, rate=rate, months=months)
