"""Promotions: what sold under them and at what price per m²."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from kvartal.sales.models import AppliedPromotion, Promotion

from ..base import ROOMS_OR_MORE, Params, Report, register
from ..facts import Totals, percent, sales
from ..results import Chart, Column, Figure, Result, Series, Table

# The room counts a unit-type filter stands for ("4+" aside); the other types (commercial,
# storage, parking, rooms not set) have none, so a promotion limited to room counts skips them.
TYPE_ROOMS = {"studio": {0}, "1": {1}, "2": {2}, "3": {3}}


def running_q(params: Params) -> Q:
    """Promotions running at some day of the period: active, their dates overlap it."""
    period = params.period
    return Q(is_active=True, starts_on__lte=period.end, ends_on__gte=period.start)


def _scope(params: Params) -> tuple[int | None, int | None]:
    """The project and the building the place filters point to (None: any)."""
    building = params.section.building if params.section else params.building
    if building is not None:
        return building.project_id, building.pk
    return (params.project.pk if params.project else None), None


def _rooms_match(rooms: set[int], types: list[str]) -> bool:
    for key in types:
        if key in TYPE_ROOMS and rooms & TYPE_ROOMS[key]:
            return True
        if key == "4+" and any(r >= ROOMS_OR_MORE for r in rooms):
            return True
    return False


def narrows(params: Params) -> bool:
    """Whether the filters narrow the units (a place or unit types)."""
    return bool(params.project or params.building or params.section or params.unit_types)


def covers_scope(promotion: Promotion, params: Params, *, names_units: bool, in_scope: bool):
    """Whether a promotion could apply to units under the filters (to list a promotion that
    sold nothing): every list it sets — projects, buildings, rooms, units — must meet the
    place and the types chosen. Reads the prefetched lists; no query. ``names_units``: it
    has a list of units; ``in_scope``: one of them is under the filters."""
    project_id, building_id = _scope(params)
    projects = {p.pk for p in promotion.projects.all()}
    buildings = list(promotion.buildings.all())
    if project_id is not None and projects and project_id not in projects:
        return False
    if buildings:
        if building_id is not None and building_id not in {b.pk for b in buildings}:
            return False
        if project_id is not None and all(b.project_id != project_id for b in buildings):
            return False
    rooms = {int(r) for r in promotion.rooms or []}
    if rooms and params.unit_types and not _rooms_match(rooms, params.unit_types):
        return False
    return in_scope or not (names_units and narrows(params))


def _vs(value: Decimal | None, reference: Decimal | None) -> Decimal | None:
    """How much ``value`` differs from ``reference``, in percent of the reference."""
    if value is None or not reference:
        return None
    return percent(value - reference, reference)


@register
class Promotions(Report):
    key = "promotions"
    title = _("Promotions")
    description = _(
        "Units sold under the promotions running in the period, and their average price per "
        "m² against all units sold, the promotion's minimum price and the economists' floor."
    )
    group = "seed"
    fields = ("period", "project", "building", "section", "unit_type", "manager", "min_price_m2")
    landscape = True

    def run(self, params: Params) -> Result:
        floor = params.min_price_m2
        by_promotion: dict = defaultdict(Totals)
        prices: dict[int, list[Decimal]] = defaultdict(list)
        plain, promoted, total = Totals(), Totals(), Totals()
        sold_units = set()
        for sale in sales(params):
            sold_units.add((sale.deal_id, sale.unit_id))
            total.add(sale.area, sale.price)
            if sale.promotion_id is None:
                plain.add(sale.area, sale.price)
                continue
            promoted.add(sale.area, sale.price)
            by_promotion[sale.promotion_id].add(sale.area, sale.price)
            prices[sale.promotion_id].append(sale.price)
        promotions = list(
            Promotion.objects.filter(
                Q(pk__in=list(by_promotion)) | (running_q(params) & Q(condition=""))
            )
            .prefetch_related("projects", "buildings")
            .order_by("starts_on", "name", "pk")
        )
        # Promotions that sold nothing and name their units: do any of those units fall under
        # the filters? One grouped query for all of them.
        silent = [p.pk for p in promotions if p.pk not in by_promotion]
        named = dict(
            Promotion.units.through.objects.filter(promotion_id__in=silent)
            .values_list("promotion_id")
            .annotate(inside=Count("pk", filter=params.unit_q()))
            .order_by()
        )
        shown = [
            p
            for p in promotions
            if p.pk in by_promotion
            or covers_scope(p, params, names_units=p.pk in named, in_scope=named.get(p.pk, 0) > 0)
        ]
        all_per_m2 = total.per_m2
        rows = []
        for promotion in shown:
            totals = by_promotion.get(promotion.pk, Totals())
            sold_at = prices[promotion.pk]
            min_price = promotion.min_price
            rows.append(
                {
                    "promotion": promotion.name,
                    "starts_on": promotion.starts_on,
                    "ends_on": promotion.ends_on,
                    **totals.row(),
                    "vs_all": _vs(totals.per_m2, all_per_m2),
                    "min_price": min_price,
                    "lowest": min(sold_at, default=None),
                    "below_min": (
                        sum(1 for p in sold_at if p < min_price) if min_price is not None else None
                    ),
                    "vs_floor": _vs(totals.per_m2, floor),
                }
            )
        rows.sort(key=lambda r: -r["count"])  # stable: equal counts keep the date order
        chart_rows = list(rows)
        if rows or total.count:
            rows.append(
                {
                    "promotion": _("Without a promotion"),
                    **plain.row(),
                    "vs_all": _vs(plain.per_m2, all_per_m2),
                    "vs_floor": _vs(plain.per_m2, floor),
                }
            )
        columns = [
            Column("promotion", _("Promotion")),
            Column("starts_on", _("From"), "date"),
            Column("ends_on", _("Until"), "date"),
            Column("count", _("Units sold"), "int"),
            Column("area", _("m²"), "area"),
            Column("amount", _("Sum, ₽"), "money"),
            Column("per_m2", _("Average ₽/m²"), "price_m2"),
            Column("vs_all", _("Against all sold, %"), "percent"),
            Column("min_price", _("Promotion's minimum price, ₽"), "money"),
            Column("lowest", _("Lowest deal price, ₽"), "money"),
            Column("below_min", _("Sold below the minimum"), "int"),
        ]
        if floor is not None:
            columns.append(Column("vs_floor", _("Against the floor, %"), "percent"))
        table = Table(
            "by_promotion",
            _("Sales by promotion"),
            columns,
            rows,
            total={
                "promotion": _("All sales"),
                **total.row(),
                "vs_floor": _vs(all_per_m2, floor),
            },
            empty=_("No promotion ran in this period and no unit was sold."),
        )
        series = [
            Series(str(_("Promotion units")), [r["per_m2"] for r in chart_rows]),
            Series(str(_("All units sold")), [all_per_m2 for _r in chart_rows]),
        ]
        if floor is not None:
            series.append(Series(str(_("Economists' floor")), [floor for _r in chart_rows]))
        chart = Chart(
            "per_m2",
            _("Average price per m² under each promotion against all sales"),
            [str(r["promotion"]) for r in chart_rows],
            series,
            kind="bar",
            value_kind="price_m2",
        )
        figures = [
            Figure(_("Units sold under promotions"), promoted.count),
            Figure(_("Share of all units sold"), percent(promoted.count, total.count), "percent"),
            Figure(_("Average price per m² under promotions"), promoted.per_m2, "price_m2"),
            Figure(_("Average price per m² of all sales"), all_per_m2, "price_m2"),
        ]
        if floor is not None:
            figures.append(Figure(_("Economists' floor per m²"), floor, "price_m2"))
        return Result(
            title=str(self.title),
            figures=figures,
            tables=[table, _automatic(sold_units)],
            charts=[chart],
            notes=[
                str(
                    _(
                        "A sale counts under a promotion when its deal carries it. Differences "
                        "are of the average price per m² (Σ price ÷ Σ area). Automatic discounts "
                        "(promotions with a condition) are in their own table: a unit sold with "
                        "one may also carry the deal's chosen promotion."
                    )
                )
            ],
        )


def _automatic(sold_units: set[tuple]) -> Table:
    """The discounts the promotions with a condition gave on the units sold (as the pricing
    rule recorded them, ``AppliedPromotion``): units and the sum, per promotion. One query."""
    rows: dict[int, dict] = {}
    applied = (
        AppliedPromotion.objects.exclude(promotion__condition="")
        .values_list(
            "deal_id",
            "deal_unit__unit_id",
            "promotion_id",
            "promotion__name",
            "promotion__condition",
            "amount",
        )
        .order_by("promotion__starts_on", "promotion__name", "promotion_id")
    )
    for deal_id, unit_id, pk, name, condition, amount in applied:
        if (deal_id, unit_id) not in sold_units:
            continue
        row = rows.setdefault(
            pk,
            {
                "promotion": name,
                "condition": Promotion.Condition(condition).label,
                "count": 0,
                "amount": Decimal(0),
            },
        )
        row["count"] += 1
        row["amount"] += amount
    shown = list(rows.values())
    return Table(
        "automatic",
        _("Automatic discounts on the units sold"),
        [
            Column("promotion", _("Promotion")),
            Column("condition", _("Condition")),
            Column("count", _("Units sold with it"), "int"),
            Column("amount", _("Discount given, ₽"), "money"),
        ],
        shown,
        total={
            "promotion": _("All automatic discounts"),
            "count": sum(r["count"] for r in shown),
            "amount": sum((r["amount"] for r in shown), Decimal(0)),
        }
        if shown
        else None,
        empty=_("No unit sold in this period carried an automatic discount."),
    )
