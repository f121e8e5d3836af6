"""Every way to pay for one unit, computed with the calculators from the unit's shown price,
the project's settings, the marketer's programmes and plans, and the visitor's terms.

Used by the public unit page, the back office unit card and the PDF offer alike.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from . import calculators as calc
from .models import InstalmentPlan, MortgageProgramme, ProgrammeKind, ProjectShowcase

DEFAULT_DOWN_SHARE = Decimal("0.2")
DEFAULT_YEARS = 30


@dataclass
class Terms:
    down_payment: Decimal
    years: int
    rate: Decimal
    method: str = "annuity"

    @property
    def months(self) -> int:
        return self.years * 12


@dataclass
class Offered:
    """A programme or plan with its computed option, or why it does not fit."""

    source: object
    option: calc.Option | None = None
    refused: str = ""


@dataclass
class PaymentTerms:
    price: Decimal
    terms: Terms
    mortgage: calc.Option | None = None
    mortgage_error: str = ""
    programmes: list[Offered] = field(default_factory=list)
    instalments: list[Offered] = field(default_factory=list)
    full: calc.Option | None = None
    discount_percent: Decimal = Decimal(0)


def default_terms(price: Decimal, showcase: ProjectShowcase | None) -> Terms:
    rate = showcase.mortgage_rate if showcase else Decimal("18")
    down = (price * DEFAULT_DOWN_SHARE).quantize(Decimal(1))
    return Terms(down, DEFAULT_YEARS, rate)


def _for_project(queryset, project_id: int):
    return (
        queryset.filter(is_active=True).filter(Q(projects=None) | Q(projects=project_id)).distinct()
    )


def payment_terms(
    *, price: Decimal, project_id: int, showcase: ProjectShowcase | None, terms: Terms
) -> PaymentTerms:
    """All the options for ``price`` (two queries: programmes, plans). The mortgage follows
    ``terms``; each programme keeps the visitor's down payment share and term, at its own
    rate; each plan has its own down payment and months."""
    result = PaymentTerms(price=price, terms=terms)
    try:
        compute = (
            calc.mortgage_differentiated
            if terms.method == "differentiated"
            else calc.mortgage_annuity
        )
        result.mortgage = compute(
            price=price, down_payment=terms.down_payment, rate=terms.rate, months=terms.months
        )
    except calc.CalculatorRefused as refusal:
        result.mortgage_error = str(refusal)
    share = (terms.down_payment / price) if price else Decimal(0)
    market = showcase.mortgage_rate if showcase else Decimal("18")
    for programme in _for_project(MortgageProgramme.objects.all(), project_id):
        offered = Offered(programme)
        try:
            if share * 100 < programme.min_down_payment:
                raise calc.CalculatorRefused(
                    _("The programme needs a down payment of at least %(share)s %%.")
                    % {"share": programme.min_down_payment}
                )
            offered.option = calc.mortgage_subsidised(
                price=price,
                down_share=share,
                rate=programme.rate,
                market_rate=market,
                subsidised_months=programme.months,
                months=min(terms.years, programme.max_years) * 12,
                raises_price=programme.kind == ProgrammeKind.DEVELOPER,
                title=str(programme),
                max_loan=programme.max_loan,
            )
        except calc.CalculatorRefused as refusal:
            offered.refused = str(refusal)
        result.programmes.append(offered)
    for plan in _for_project(InstalmentPlan.objects.all(), project_id):
        offered = Offered(plan)
        try:
            offered.option = calc.instalment(
                price=price,
                down_share=plan.down_payment / 100,
                months=plan.months,
                markup=plan.markup,
                title=plan.name,
            )
        except calc.CalculatorRefused as refusal:
            offered.refused = str(refusal)
        result.instalments.append(offered)
    result.discount_percent = showcase.full_payment_discount if showcase else Decimal(0)
    result.full = calc.full_payment(price=price, discount_percent=result.discount_percent)
    return result
