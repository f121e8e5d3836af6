"""Unsold units: what is left by unit type and building, its value at the
current prices, the revenue forecast, and its price per m² against the sold one.

*Unsold* means neither sold nor in a deal: available, reserved or not for sale, as the units
are now. A reserved unit whose hold has run out is available (its effective status, as the
chessboard shows it). "On sale" is available + reserved. The average price per m² is
Σ price ÷ Σ area of the units that have a price (a closed unit without a price would only
dilute it). The sold side is the period's sales (``facts.sales``, deal prices).

The units are counted by the database (GROUP BY type and status, and building and status):
two small result sets whatever the size of the stock, the buildings' names, and the two
queries of the sales.
"""

import calendar
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, CharField, Count, DecimalField, F, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.inventory.models import IN_STOCK, Building, Unit, UnitStatus

from ..base import UNIT_TYPE_LABELS, Params, Report, register, type_sort_key, unit_type
from ..facts import Totals, per_m2, percent, sales
from ..periods import Period
from ..results import Chart, Column, Figure, Result, Series, Table

UNSOLD = (UnitStatus.AVAILABLE, UnitStatus.RESERVED, UnitStatus.NOT_FOR_SALE)
# Sums over the whole stock outgrow the 14 digits of one price.
BIG_MONEY = DecimalField(max_digits=20, decimal_places=2)
CENTS = Decimal("0.01")
ONE_DECIMAL = Decimal("0.1")


def months_in(period: Period) -> Decimal:
    """The period's length in months: each calendar month it touches counts by the share of
    its days inside the period (1 Jan – 31 Mar is 3; 1 Jan – 14 Feb 2026 is 1.5)."""
    months, day = Decimal(0), period.start
    while day <= period.end:
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        month_end = date(day.year, day.month, days_in_month)
        last = min(month_end, period.end)
        months += Decimal((last - day).days + 1) / Decimal(days_in_month)
        day = last + timedelta(days=1)
    return months


def sell_out_months(on_sale: int, sold: int, months: Decimal) -> Decimal | None:
    """Months to sell what is on sale at the period's pace: on sale ÷ (sold ÷ months)."""
    if not sold or not months:
        return None
    return (Decimal(on_sale) * months / Decimal(sold)).quantize(ONE_DECIMAL)


class Stock:
    """Unsold units of a group: count by status, m², value, and the m² that have a price."""

    __slots__ = ("count", "by_status", "area", "amount", "priced_area")

    def __init__(self):
        self.count, self.by_status = 0, dict.fromkeys(UNSOLD, 0)
        self.area, self.amount, self.priced_area = Decimal(0), Decimal(0), Decimal(0)

    def add(self, status: str, count: int, area, amount, priced_area) -> "Stock":
        self.count += count
        self.by_status[status] += count
        self.area += area or 0
        self.amount += amount or 0
        self.priced_area += priced_area or 0
        return self

    def merge(self, other: "Stock") -> "Stock":
        for status, count in other.by_status.items():
            self.add(status, count, 0, 0, 0)
        self.area += other.area
        self.amount += other.amount
        self.priced_area += other.priced_area
        return self

    @property
    def on_sale(self) -> int:
        return sum(self.by_status[s] for s in IN_STOCK)

    @property
    def per_m2(self) -> Decimal | None:
        return per_m2(self.amount, self.priced_area)

    def forecast(self, discount: Decimal) -> Decimal:
        return (self.amount * (1 - Decimal(discount) / 100)).quantize(CENTS)

    def row(self, discount: Decimal, sold: Totals | None) -> dict:
        sold_m2 = sold.per_m2 if sold is not None else None
        return {
            "count": self.count,
            **{status: self.by_status[status] for status in UNSOLD},
            "area": self.area,
            "amount": self.amount,
            "per_m2": self.per_m2,
            "forecast": self.forecast(discount),
            "sold_per_m2": sold_m2,
            "difference": _difference(self.per_m2, sold_m2),
        }


def _difference(unsold: Decimal | None, sold: Decimal | None) -> Decimal | None:
    """How much dearer (+) or cheaper (−) an unsold m² is than a sold one, in %."""
    if unsold is None or sold is None:
        return None
    return percent(unsold - sold, sold)


def _status(now: datetime):
    """The effective status: a reserved unit whose hold has run out is available."""
    return Case(
        When(
            status=UnitStatus.RESERVED,
            hold_until__lte=now,
            then=Value(UnitStatus.AVAILABLE),
        ),
        default=F("status"),
        output_field=CharField(),
    )


def _sums():
    return {
        "n": Count("pk"),
        "area": Sum("total_area", output_field=BIG_MONEY),
        "amount": Sum("price", output_field=BIG_MONEY),
        "priced_area": Sum(
            Case(When(price__gt=0, then=F("total_area")), output_field=BIG_MONEY),
        ),
    }


def _columns(first: list[Column]) -> list[Column]:
    return [
        *first,
        Column("count", _("Units"), "int"),
        Column(UnitStatus.AVAILABLE, _("Available"), "int"),
        Column(UnitStatus.RESERVED, _("Reserved"), "int"),
        Column(UnitStatus.NOT_FOR_SALE, _("Not for sale"), "int"),
        Column("area", _("m²"), "area"),
        Column("amount", _("Sum at current prices, ₽"), "money"),
        Column("per_m2", _("Average ₽/m²"), "price_m2"),
        Column("forecast", _("Forecast revenue, ₽"), "money"),
        Column("sold_per_m2", _("Sold ₽/m² in the period"), "price_m2"),
        Column("difference", _("Unsold vs sold"), "percent"),
    ]


@register
class UnsoldUnits(Report):
    key = "stock"
    title = _("Unsold units")
    description = _(
        "The units left unsold now, by unit type and building: their value at the current "
        "prices, the revenue forecast after the expected discount, and the price of an unsold "
        "m² against the m² sold in the period."
    )
    fields = ("period", "project", "building", "section", "unit_type", "discount")
    landscape = True

    def run(self, params: Params) -> Result:
        return unsold_units(params, now=timezone.now(), title=str(self.title))


def unsold_units(params: Params, *, now: datetime, title: str = "") -> Result:
    """The unsold-units report with the units' statuses as they are at ``now``."""
    discount = params.discount or Decimal(0)
    unsold = (
        Unit.objects.filter(params.unit_q(prefix=""), status__in=UNSOLD)
        .annotate(shown_status=_status(now))
        .order_by()
    )
    by_type: dict = defaultdict(Stock)
    for kind, rooms, status, n, area, amount, priced in (
        unsold.values("kind", "rooms", "shown_status")
        .annotate(**_sums())
        .values_list("kind", "rooms", "shown_status", "n", "area", "amount", "priced_area")
    ):
        by_type[unit_type(kind, rooms)].add(status, n, area, amount, priced)
    by_building: dict = defaultdict(Stock)
    for building_id, status, n, area, amount, priced in (
        unsold.values("building_id", "shown_status")
        .annotate(**_sums())
        .values_list("building_id", "shown_status", "n", "area", "amount", "priced_area")
    ):
        by_building[building_id].add(status, n, area, amount, priced)
    # The names apart: grouping by them too would sort the stock by two texts.
    names = {
        pk: (project, name)
        for pk, project, name in Building.objects.filter(pk__in=by_building).values_list(
            "pk", "project__name", "name"
        )
    }

    sold_by_type: dict = defaultdict(Totals)
    sold_by_building: dict = defaultdict(Totals)
    sold = Totals()
    for sale in sales(params, by_manager=False):
        for totals in (sold_by_type[sale.type], sold_by_building[sale.building_id], sold):
            totals.add(sale.area, sale.price)
    total = Stock()
    for stock in by_type.values():
        total.merge(stock)

    types = sorted(set(by_type) | set(sold_by_type), key=type_sort_key)
    type_rows = [
        {
            "type": UNIT_TYPE_LABELS[t],
            **by_type.get(t, Stock()).row(discount, sold_by_type.get(t)),
        }
        for t in types
    ]
    has_rows = bool(by_type) or bool(sold.count)
    type_table = Table(
        "by_type",
        _("Unsold units now, by unit type"),
        _columns([Column("type", _("Unit type"))]),
        type_rows,
        total={"type": _("Total"), **total.row(discount, sold)} if has_rows else None,
        empty=_("No unsold units: everything is sold or in a deal."),
    )
    buildings = sorted(by_building, key=lambda b: (names[b][0], names[b][1], b))
    building_table = Table(
        "by_building",
        _("Unsold units now, by building"),
        _columns([Column("building", _("Project · building"))]),
        [
            {
                "building": f"{names[b][0]} · {names[b][1]}",
                **by_building[b].row(discount, sold_by_building.get(b)),
            }
            for b in buildings
        ],
        total={"building": _("Total"), **total.row(discount, sold)} if buildings else None,
        empty=_("No unsold units: everything is sold or in a deal."),
    )
    chart = Chart(
        "per_m2",
        _("Average price per m²: unsold now and sold in the period"),
        [str(r["type"]) for r in type_rows],
        [
            Series(str(_("Unsold ₽/m²")), [r["per_m2"] for r in type_rows]),
            Series(str(_("Sold ₽/m² in the period")), [r["sold_per_m2"] for r in type_rows]),
        ],
        kind="bar",
        value_kind="price_m2",
    )
    months = months_in(params.period)
    return Result(
        title=title,
        figures=[
            Figure(_("Unsold units"), total.count),
            Figure(_("Unsold m²"), total.area, "area"),
            Figure(
                _("Forecast revenue"),
                total.forecast(discount),
                "money",
                note=_("at the current prices less %(discount)s %%")
                % {"discount": format(Decimal(discount).normalize(), "f")},
            ),
            Figure(_("Average unsold ₽/m²"), total.per_m2, "price_m2"),
            Figure(_("Average sold ₽/m² in the period"), sold.per_m2, "price_m2"),
            Figure(
                _("Sell-out time, months"),
                sell_out_months(total.on_sale, sold.count, months),
                "number",
                note=_("units on sale ÷ units sold a month in the period"),
            ),
        ],
        tables=[type_table, building_table],
        charts=[chart],
        landscape=True,
    )
