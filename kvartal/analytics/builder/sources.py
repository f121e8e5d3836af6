"""The sources (sales, stock, leads): their dimensions, measures and SQL groups."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, CharField, Count, F, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

from kvartal.clients.models import Lead, LeadStatus
from kvartal.inventory.models import (
    StatusChange,
    Unit,
    UnitKind,
    UnitStatus,
)
from kvartal.sales.models import DealBuyer

from ..base import Params, unit_type
from ..facts import per_m2, percent, sales
from ..periods import as_local_date, step_start
from .common import TIME_DIMENSIONS, Dimension, Measure

# --- the dimensions and measures ------------------------------------------------------------

PLACE = {
    "project": Dimension("project", gettext_lazy("Project")),
    "building": Dimension("building", gettext_lazy("Building")),
    "section": Dimension("section", gettext_lazy("Section")),
    "unit_type": Dimension("unit_type", gettext_lazy("Unit type")),
    "unit_kind": Dimension("unit_kind", gettext_lazy("Kind of unit")),
    "rooms": Dimension("rooms", gettext_lazy("Rooms")),
}
TIME = {
    "month": Dimension("month", gettext_lazy("Month")),
    "quarter": Dimension("quarter", gettext_lazy("Quarter")),
    "year": Dimension("year", gettext_lazy("Year")),
    "week": Dimension("week", gettext_lazy("Week")),
    "day": Dimension("day", gettext_lazy("Day")),
}
MANAGER = Dimension("manager", gettext_lazy("Manager"))
CHANNEL = Dimension("channel", gettext_lazy("Channel"))


def _avg_price(sums: dict) -> Decimal | None:
    if not sums["count"]:
        return None
    return (Decimal(sums["amount"]) / sums["count"]).quantize(Decimal("0.01"))


COUNT = Measure("count", gettext_lazy("Units"), "int", lambda s: s["count"])
AREA = Measure("area", gettext_lazy("m²"), "area", lambda s: s["area"])
AVG_PRICE_M2 = Measure(
    "avg_price_m2",
    gettext_lazy("Average ₽/m²"),
    "price_m2",
    lambda s: per_m2(s["amount"], s["area"]),
)


@dataclass
class Source:
    """What a builder report counts, with the dimensions and measures it offers."""

    key: str
    label: object
    description: object
    fields: tuple[str, ...]  # the ReportForm filters it takes
    dimensions: dict[str, Dimension]
    measures: dict[str, Measure]
    empty: object  # said when there are no rows
    sums: tuple[str, ...] = ()  # what each group adds up
    groups: Callable = field(default=None, repr=False)  # (params, dims) → {key tuple: sums}
    has_period: bool = True

    def zero(self) -> dict:
        return dict.fromkeys(self.sums, 0)


def _add(target: dict, sums: dict) -> None:
    for name, value in sums.items():
        target[name] += value or 0


# --- sales: the sold events of the period -------------------------------------------------

UNIT_KINDS_BESIDES_APARTMENTS = {UnitKind.COMMERCIAL, UnitKind.STORAGE, UnitKind.PARKING}


def _sold_units(params: Params):
    """The units sold in the period (a subquery: the same rows ``facts.sales`` reads)."""
    period = params.period
    return (
        StatusChange.objects.filter(
            new_status=UnitStatus.SOLD, at__gte=period.since, at__lt=period.until
        )
        .filter(params.unit_q())
        .values("unit_id")
    )


def deal_channels(params: Params) -> dict[int, int | None]:
    """Deal id → the channel of its buyers' first lead, for the deals on the units sold in the
    period: one query (DealBuyer → client → Lead), the earliest lead of any buyer wins."""
    rows = (
        DealBuyer.objects.filter(deal__unit_id__in=_sold_units(params), client__leads__isnull=False)
        .order_by("deal_id", "client__leads__created_at", "client__leads__pk")
        .values_list("deal_id", "client__leads__channel_id")
    )
    first: dict[int, int | None] = {}
    for deal_id, channel_id in rows:
        first.setdefault(deal_id, channel_id)
    return first


def _sales_groups(params: Params, dims: list[str]) -> dict:
    sold = sales(params)
    getters = []
    for dim in dims:
        if dim in TIME_DIMENSIONS:
            getters.append(lambda s, step=dim: step_start(s.day, step))
        elif dim == "unit_type":
            getters.append(lambda s: s.type)
        elif dim == "unit_kind":
            getters.append(
                lambda s: s.type if s.type in UNIT_KINDS_BESIDES_APARTMENTS else UnitKind.APARTMENT
            )
        elif dim == "rooms":
            rooms = dict(Unit.objects.filter(pk__in=_sold_units(params)).values_list("pk", "rooms"))
            getters.append(lambda s, rooms=rooms: rooms.get(s.unit_id))
        elif dim == "channel":
            channels = deal_channels(params) if sold else {}
            getters.append(lambda s, channels=channels: channels.get(s.deal_id))
        else:  # project, building, section, manager, promotion: an id on the sale
            getters.append(lambda s, attr=f"{dim}_id": getattr(s, attr))
    groups: dict = {}
    for sale in sold:
        key = tuple(get(sale) for get in getters)
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = SALES.zero()
        sums["count"] += 1
        sums["area"] += sale.area
        sums["amount"] += sale.price
        sums["list_amount"] += sale.list_price if sale.list_price is not None else sale.price
    return groups


SALES = Source(
    key="sales",
    label=gettext_lazy("Sales"),
    description=gettext_lazy("Units whose status changed to sold inside the period."),
    fields=("period", "project", "building", "section", "unit_type", "manager"),
    dimensions={
        **PLACE,
        "manager": MANAGER,
        "promotion": Dimension("promotion", gettext_lazy("Promotion")),
        "channel": CHANNEL,
        **TIME,
    },
    measures={
        "count": COUNT,
        "area": AREA,
        "amount": Measure("amount", gettext_lazy("Sum, ₽"), "money", lambda s: s["amount"]),
        "avg_price_m2": AVG_PRICE_M2,
        "list_amount": Measure(
            "list_amount", gettext_lazy("List price sum, ₽"), "money", lambda s: s["list_amount"]
        ),
        "discount": Measure(
            "discount",
            gettext_lazy("Discount, ₽"),
            "money",
            lambda s: s["list_amount"] - s["amount"],
        ),
        "avg_price": Measure("avg_price", gettext_lazy("Average price, ₽"), "money", _avg_price),
    },
    empty=gettext_lazy("No unit was sold in this period under these filters."),
    sums=("count", "area", "amount", "list_amount"),
    groups=_sales_groups,
)


# --- stock: every unit now ------------------------------------------------------------------

STOCK_PATHS = {
    "project": "building__project_id",
    "building": "building_id",
    "section": "section_id",
    "unit_kind": "kind",
    "rooms": "rooms",
    "floor": "floor__index",
    "status": "current_status",
}


def _stock_groups(params: Params, dims: list[str]) -> dict:
    units = Unit.objects.filter(params.unit_q(prefix=""))
    if "status" in dims:
        # The status as users see it: a reserved unit whose hold has run out is available.
        units = units.annotate(
            current_status=Case(
                When(
                    status=UnitStatus.RESERVED,
                    hold_until__lte=timezone.now(),
                    then=Value(UnitStatus.AVAILABLE),
                ),
                default=F("status"),
                output_field=CharField(),
            )
        )
    paths = []
    for dim in dims:
        if dim == "unit_type":
            paths += ["kind", "rooms"]
        else:
            paths.append(STOCK_PATHS[dim])
    rows = (
        units.values(*dict.fromkeys(paths))
        .annotate(n=Count("pk"), sum_area=Sum("total_area"), sum_price=Sum("price"))
        .order_by()  # no Meta ordering in the GROUP BY
    )
    groups: dict = {}
    for row in rows:
        key = tuple(
            unit_type(row["kind"], row["rooms"]) if d == "unit_type" else row[STOCK_PATHS[d]]
            for d in dims
        )
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = STOCK.zero()
        _add(sums, {"count": row["n"], "area": row["sum_area"], "amount": row["sum_price"]})
    return groups


STOCK = Source(
    key="stock",
    label=gettext_lazy("Units now"),
    description=gettext_lazy("Every unit as it is now: its current status and price."),
    fields=("project", "building", "section", "unit_type"),
    dimensions={
        **PLACE,
        "status": Dimension("status", gettext_lazy("Status")),
        "floor": Dimension("floor", gettext_lazy("Floor")),
    },
    measures={
        "count": COUNT,
        "area": AREA,
        "amount": Measure(
            "amount", gettext_lazy("Sum at current prices, ₽"), "money", lambda s: s["amount"]
        ),
        "avg_price_m2": AVG_PRICE_M2,
    },
    empty=gettext_lazy("No units under these filters."),
    sums=("count", "area", "amount"),
    groups=_stock_groups,
    has_period=False,
)


# --- leads: the leads received in the period ------------------------------------------------

LEAD_PATHS = {
    "channel": "channel_id",
    "manager": "manager_id",
    "status": "status",
    "project": "unit__building__project_id",
}


def _leads_groups(params: Params, dims: list[str]) -> dict:
    period = params.period
    leads = Lead.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
    unit_q = params.unit_q("unit__")
    if unit_q:
        leads = leads.filter(unit_q)
    leads = leads.filter(params.manager_q())
    paths = [LEAD_PATHS[d] for d in dims if d in LEAD_PATHS]
    if any(d in TIME_DIMENSIONS for d in dims):
        # Grouped by local day in SQL; the days are rolled up into weeks, months … here.
        leads = leads.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        paths.append("day")
    rows = (
        leads.values(*dict.fromkeys(paths))
        .annotate(
            n=Count("pk"),
            n_converted=Count("pk", filter=Q(status=LeadStatus.CONVERTED)),
            n_lost=Count("pk", filter=Q(status=LeadStatus.LOST)),
        )
        .order_by()
    )
    groups: dict = {}
    for row in rows:
        key = tuple(
            step_start(as_local_date(row["day"]), d) if d in TIME_DIMENSIONS else row[LEAD_PATHS[d]]
            for d in dims
        )
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = LEADS.zero()
        _add(sums, {"count": row["n"], "converted": row["n_converted"], "lost": row["n_lost"]})
    return groups


LEADS = Source(
    key="leads",
    label=gettext_lazy("Leads"),
    description=gettext_lazy("Leads received inside the period and what became of them."),
    fields=("period", "project", "building", "section", "unit_type", "manager"),
    dimensions={
        "channel": CHANNEL,
        "manager": MANAGER,
        "status": Dimension("status", gettext_lazy("Status")),
        "project": Dimension("project", gettext_lazy("Project of the unit")),
        **TIME,
    },
    measures={
        "count": Measure("count", gettext_lazy("Leads"), "int", lambda s: s["count"]),
        "converted": Measure(
            "converted", gettext_lazy("Converted"), "int", lambda s: s["converted"]
        ),
        "lost": Measure("lost", gettext_lazy("Lost"), "int", lambda s: s["lost"]),
        "conversion": Measure(
            "conversion",
            gettext_lazy("Conversion, %"),
            "percent",
            lambda s: percent(s["converted"], s["count"]),
        ),
    },
    empty=gettext_lazy("No leads were received in this period under these filters."),
    sums=("count", "converted", "lost"),
    groups=_leads_groups,
)

SOURCES: dict[str, Source] = {s.key: s for s in (SALES, STOCK, LEADS)}


def source_choices() -> list[tuple[str, object]]:
    return [(s.key, s.label) for s in SOURCES.values()]


def dimensions_for(source: str) -> list[tuple[str, object]]:
    """The (key, label) of every dimension ``source`` offers, in the order offered."""
    found = SOURCES.get(source)
    return [(d.key, d.label) for d in found.dimensions.values()] if found else []


def measures_for(source: str) -> list[tuple[str, object]]:
    found = SOURCES.get(source)
    return [(m.key, m.label) for m in found.measures.values()] if found else []


DIMENSIONS_FOR = dimensions_for
MEASURES_FOR = measures_for
