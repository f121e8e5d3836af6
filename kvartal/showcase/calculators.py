"""The ways to pay for a unit, computed: mortgage (annuity and differentiated), subsidised
programmes, the developer's instalment plans and full payment with its discount.

Pure functions of Decimals (no database). Formulas: ``shared/reference/domain.md`` §4.
Every schedule adds up to its price exactly: the down payment plus every line's principal
is the price; rounding to the kopeck is settled on the last line.
"""

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from kvartal.core.errors import DomainError
from kvartal.core.money import money_text

KOPECK = Decimal("0.01")
ROUBLE = Decimal("1")
HUNDRED = Decimal(100)
MIN_RATE = Decimal("0.01")
MAX_RATE = Decimal("60")
MAX_MONTHS = 420


def _percent(value) -> str:
    """A rate as the page's language writes it, without trailing zeros: 6; 5,5."""
    return number_format(Decimal(value).normalize(), use_l10n=True)


def DOWN_TOO_HIGH() -> str:  # noqa: N802 (a message, translated when asked)
    # Names the full payment option by its own title, so the two always read alike.
    return _(
        "The down payment must be less than the price; for the whole price see “%(option)s”."
    ) % {"option": FULL_PAYMENT()}


def FULL_PAYMENT() -> str:  # noqa: N802
    return _("Full payment")


class CalculatorRefused(DomainError):
    """The terms asked for cannot be computed (a rate, a term or a down payment out of range)."""

    code = "calculator_refused"


def _k(value: Decimal) -> Decimal:
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


def _monthly(rate_percent: Decimal) -> Decimal:
    return Decimal(rate_percent) / HUNDRED / 12


def check_rate(rate: Decimal) -> None:
    if rate is None or not (MIN_RATE <= rate <= MAX_RATE):
        raise CalculatorRefused(
            _("The rate must be between %(low)s %% and %(high)s %%.")
            % {"low": MIN_RATE, "high": MAX_RATE},
            field="rate",
        )


def check_months(months: int) -> None:
    if months is None or not (1 <= months <= MAX_MONTHS):
        raise CalculatorRefused(
            _("The term must be from 1 to %(months)s months.") % {"months": MAX_MONTHS},
            field="years",
        )


def check_down_payment(price: Decimal, down: Decimal) -> None:
    if down < 0:
        raise CalculatorRefused(_("The down payment cannot be negative."), field="down_payment")
    if down >= price:
        raise CalculatorRefused(
            DOWN_TOO_HIGH(),
            field="down_payment",
        )


def annuity_factor(rate_percent: Decimal, months: int) -> Decimal:
    """A = S · i / (1 − (1 + i)^(−n)) for S = 1, unrounded."""
    with localcontext() as ctx:
        ctx.prec = 40
        i = _monthly(rate_percent)
        return i / (1 - (1 + i) ** -months)


def annuity_payment(loan: Decimal, rate_percent: Decimal, months: int) -> Decimal:
    """The monthly annuity payment, to the kopeck (Excel's ``PMT``)."""
    check_rate(rate_percent)
    check_months(months)
    return _k(loan * annuity_factor(rate_percent, months))


@dataclass(frozen=True)
class Line:
    """One line of a schedule: month number (0: the down payment), the payment, its
    interest and principal, and the balance after it."""

    month: int
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal


@dataclass
class Option:
    """One way to pay: its price (list, subsidised, marked-up or discounted), the down
    payment, the first and last regular payments, totals and the schedule."""

    key: str
    title: str
    price: Decimal
    down_payment: Decimal
    schedule: list[Line] = field(default_factory=list)
    rate: Decimal | None = None
    months: int = 0
    note: str = ""

    @property
    def loan(self) -> Decimal:
        return self.price - self.down_payment

    @property
    def first_payment(self) -> Decimal | None:
        regular = [line for line in self.schedule if line.month > 0]
        return regular[0].payment if regular else None

    @property
    def last_payment(self) -> Decimal | None:
        regular = [line for line in self.schedule if line.month > 0]
        return regular[-1].payment if regular else None

    @property
    def interest(self) -> Decimal:
        return sum((line.interest for line in self.schedule), Decimal(0))

    @property
    def total_paid(self) -> Decimal:
        return sum((line.payment for line in self.schedule), Decimal(0))

    @property
    def principal_total(self) -> Decimal:
        """Down payment plus every line's principal: always ``price``."""
        return sum((line.principal for line in self.schedule), Decimal(0))

    @property
    def shown(self) -> list[Line]:
        """The schedule as a page shows it: month by month up to three years, else by year
        (``month`` is then the year; the sums are the year's, the balance its end's)."""
        if len(self.schedule) <= 37:
            return self.schedule
        years: dict[int, list[Line]] = {}
        rows = [line for line in self.schedule if line.month == 0]
        for line in self.schedule:
            if line.month:
                years.setdefault((line.month - 1) // 12 + 1, []).append(line)
        for year, lines in years.items():
            rows.append(
                Line(
                    year,
                    sum((x.payment for x in lines), Decimal(0)),
                    sum((x.interest for x in lines), Decimal(0)),
                    sum((x.principal for x in lines), Decimal(0)),
                    lines[-1].balance,
                )
            )
        return rows

    @property
    def yearly(self) -> bool:
        return len(self.schedule) > 37


def _down_line(down: Decimal, loan: Decimal) -> list[Line]:
    return [Line(0, down, Decimal(0), down, loan)] if down > 0 else []


def _annuity_lines(loan: Decimal, rate: Decimal, months: int, start: int = 1) -> list[Line]:
    """Monthly lines of an annuity; the last settles the kopecks so principal sums to loan."""
    payment = annuity_payment(loan, rate, months)
    i = _monthly(rate)
    lines, balance = [], loan
    for k in range(start, start + months):
        interest = _k(balance * i)
        principal = payment - interest
        if k == start + months - 1:
            principal = balance
        balance = balance - principal
        lines.append(Line(k, interest + principal, interest, principal, balance))
    return lines


def mortgage_annuity(
    *, price: Decimal, down_payment: Decimal, rate: Decimal, months: int
) -> Option:
    """A mortgage with equal monthly payments."""
    check_rate(rate)
    check_months(months)
    check_down_payment(price, down_payment)
    loan = price - down_payment
    lines = _down_line(down_payment, loan) + _annuity_lines(loan, rate, months)
    return Option(
        "annuity", _("Mortgage, equal payments"), price, down_payment, lines, rate, months
    )


def mortgage_differentiated(
    *, price: Decimal, down_payment: Decimal, rate: Decimal, months: int
) -> Option:
    """A mortgage with equal principal: payment k = S/n + (S − (k−1)·S/n) · i."""
    check_rate(rate)
    check_months(months)
    check_down_payment(price, down_payment)
    loan = price - down_payment
    i = _monthly(rate)
    lines, balance = _down_line(down_payment, loan), loan
    for k in range(1, months + 1):
        interest = _k(balance * i)
        # S·k/n repaid after month k, each to the kopeck: the parts differ by a kopeck at
        # most and add up to S exactly
        principal = _k(loan * k / months) - _k(loan * (k - 1) / months)
        balance -= principal
        lines.append(Line(k, interest + principal, interest, principal, balance))
    return Option(
        "differentiated",
        _("Mortgage, decreasing payments"),
        price,
        down_payment,
        lines,
        rate,
        months,
    )


def developer_subsidy_share(
    *, rate: Decimal, market_rate: Decimal, months: int, term: int
) -> Decimal:
    """c = C / S: what the developer pays the bank, per rouble of loan, so the bank earns the
    market rate while the borrower pays ``rate`` for the first ``months`` (0: the whole term)
    and the market rate after. C = S − PV at the market rate of the borrower's payments."""
    check_rate(rate)
    check_rate(market_rate)
    check_months(term)
    with localcontext() as ctx:
        ctx.prec = 40
        months = term if months in (0, None) or months >= term else months
        a_s = annuity_factor(rate, term)
        i_s, i_m = _monthly(rate), _monthly(market_rate)
        discount = 1 / (1 + i_m)
        present = sum(a_s * discount**k for k in range(1, months + 1))
        # the balance left after ``months`` at the programme rate, repaid at the market rate
        balance = (1 + i_s) ** months - a_s * ((1 + i_s) ** months - 1) / i_s
        present += balance * discount**months
        return max(Decimal(0), 1 - present)


def subsidised_price(*, price: Decimal, share: Decimal, ltv: Decimal) -> Decimal:
    """The price that recovers the subsidy: P_sub = P / (1 − c · LTV), to the rouble."""
    with localcontext() as ctx:
        ctx.prec = 40
        return (price / (1 - share * ltv)).quantize(ROUBLE, rounding=ROUND_HALF_UP)


def mortgage_subsidised(
    *,
    price: Decimal,
    down_share: Decimal,
    rate: Decimal,
    market_rate: Decimal,
    subsidised_months: int,
    months: int,
    raises_price: bool,
    title: str,
    max_loan: Decimal | None = None,
) -> Option:
    """A subsidised mortgage. A developer's subsidy raises the price (``subsidised_price``)
    and the borrower pays ``rate`` for ``subsidised_months`` (0: all), then the market rate on
    the balance; a state programme keeps the price and the rate for the whole term.
    ``down_share``: the down payment as a share of the (subsidised) price."""
    check_rate(rate)
    check_rate(market_rate)
    check_months(months)
    if not (Decimal(0) <= down_share < 1):
        raise CalculatorRefused(
            DOWN_TOO_HIGH(),
            field="down_payment",
        )
    note = ""
    if raises_price:
        share = developer_subsidy_share(
            rate=rate, market_rate=market_rate, months=subsidised_months, term=months
        )
        sub_price = subsidised_price(price=price, share=share, ltv=1 - down_share)
    else:
        sub_price, subsidised_months = price, 0
    down = _k(sub_price * down_share)
    loan = sub_price - down
    if max_loan is not None and loan > max_loan:
        raise CalculatorRefused(
            _(
                "The loan %(loan)s is above the programme's limit of %(limit)s: "
                "raise the down payment."
            )
            % {"loan": money_text(_k(loan)), "limit": money_text(max_loan)},
            field="down_payment",
        )
    lines = _down_line(down, loan)
    if raises_price and 0 < subsidised_months < months:
        first = _annuity_lines(loan, rate, months)[:subsidised_months]
        balance = first[-1].balance
        lines += first + _annuity_lines(
            balance, market_rate, months - subsidised_months, start=subsidised_months + 1
        )
        note = _("%(rate)s %% for %(months)s months, then %(market)s %%") % {
            "rate": _percent(rate),
            "months": subsidised_months,
            "market": _percent(market_rate),
        }
    else:
        lines += _annuity_lines(loan, rate, months)
    return Option("programme", title, sub_price, down, lines, rate, months, note)


def instalment(
    *, price: Decimal, down_share: Decimal, months: int, markup: Decimal, title: str
) -> Option:
    """The developer's instalment plan: P' = P · (1 + μ); D0 = d · P'; then equal monthly
    payments a = (P' − D0) / m (the last settles the kopecks)."""
    if not (Decimal(0) <= down_share < 1):
        raise CalculatorRefused(
            DOWN_TOO_HIGH(),
            field="down_payment",
        )
    check_months(months)
    total = _k(price * (1 + markup / HUNDRED))
    down = _k(total * down_share)
    rest = total - down
    each = (rest / months).quantize(KOPECK, rounding=ROUND_DOWN)
    lines, balance = _down_line(down, rest), rest
    for k in range(1, months + 1):
        principal = balance if k == months else each
        balance -= principal
        lines.append(Line(k, principal, Decimal(0), principal, balance))
    return Option("instalment", title, total, down, lines, None, months)


def full_payment(*, price: Decimal, discount_percent: Decimal) -> Option:
    """Payment of the whole price at once, less the discount for it (to the rouble)."""
    discount = (price * discount_percent / HUNDRED).quantize(ROUBLE, rounding=ROUND_HALF_UP)
    total = price - discount
    return Option(
        "full",
        FULL_PAYMENT(),
        total,
        total,
        [Line(0, total, Decimal(0), total, Decimal(0))],
    )
