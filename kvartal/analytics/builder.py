"""The report builder: a report a user composes by hand from a source's dimensions (the rows,
in the order the company is used to) and measures (the columns), with the report filters.

A *source* is what is counted: ``sales`` (units sold in the period, ``facts.sales``),
``stock`` (every unit now, with its current status, grouped in SQL) and ``leads`` (leads
received in the period, grouped in SQL by local day). The rows are the groups of the chosen
dimensions, sorted by the dimensions in the chosen order; the columns are the dimensions, then
the measures, in the chosen order. A saved ``ReportTemplate`` keeps only keys, so it always
shows current data; a key that no longer exists raises ``TemplateBroken`` with a message the
user can act on, never a server error.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Case, CharField, Count, F, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kvartal.accounts.models import User
from kvartal.clients.models import Channel, Lead, LeadStatus
from kvartal.inventory.models import (
    Building,
    Project,
    Section,
    StatusChange,
    Unit,
    UnitKind,
    UnitStatus,
)
from kvartal.sales.models import DealBuyer, Promotion

from .base import UNIT_TYPE_LABELS, Params, ReportForm, type_sort_key, unit_type
from .facts import per_m2, percent, sales
from .models import ReportTemplate
from .periods import Period, as_local_date, local_today, step_label, step_start
from .results import Chart, Column, Result, Series, Table

MAX_DIMENSIONS = 4
MAX_MEASURES = 6
MAX_ROWS = 2000  # beyond this a page is unreadable; the total still counts everything
MAX_SERIES = 8  # two dimensions: one chart series per value of the second, up to this many
TIME_DIMENSIONS = ("day", "week", "month", "quarter", "year")
FILTER_KEYS = (
    "period",
    "date_from",
    "date_to",
    "project",
    "building",
    "section",
    "unit_type",
    "manager",
)


class TemplateBroken(Exception):
    """A template (or a builder form) that cannot be built; ``str()`` says what to change.
    ``field`` names the part that is wrong: source, dimensions, measures or filters."""

    def __init__(self, message, field: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


@dataclass(frozen=True)
class Dimension:
    key: str
    label: object  # lazy text


@dataclass(frozen=True)
class Measure:
    key: str
    label: object  # lazy text
    kind: str  # a Column kind
    value: Callable[[dict], object]  # the figure from a group's sums


# --- what the groups are labelled and sorted by -------------------------------------------

NOT_SET = (1,)  # sorts a missing value (no channel, no promotion …) after the others


def _natural(text: str) -> tuple:
    """A sort key where "Корпус 2" comes before "Корпус 10"."""
    parts = re.split(r"(\d+)", text.casefold())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _labelled(values: set, found: dict, missing_label) -> dict:
    """``{value: (sort key, label)}`` from ``found`` (``{value: (sort key, label)}`` for the
    values still in the database); a value not found (None, or a row deleted) sorts last."""
    result = {}
    for value in values:
        if value in found:
            order, label = found[value]
            result[value] = ((0, *order), label)
        else:
            result[value] = (NOT_SET, str(missing_label))
    return result


def _projects(values, chosen):
    found = {
        pk: (_natural(name), name)
        for pk, name in Project.objects.filter(pk__in=values).values_list("pk", "name")
    }
    return _labelled(values, found, pgettext_lazy("report builder", "No project"))


def _buildings(values, chosen):
    found = {}
    for pk, project, name in Building.objects.filter(pk__in=values).values_list(
        "pk", "project__name", "name"
    ):
        label = name if "project" in chosen else f"{project} · {name}"
        found[pk] = ((_natural(project), _natural(name)), label)
    return _labelled(values, found, pgettext_lazy("report builder", "No building"))


def _sections(values, chosen):
    found = {}
    rows = Section.objects.filter(pk__in=values).select_related("building__project")
    for section in rows:
        building = section.building
        parts = [str(section)]
        if "building" not in chosen:
            parts.insert(0, building.name)
            if "project" not in chosen:
                parts.insert(0, building.project.name)
        order = (_natural(building.project.name), _natural(building.name), section.number)
        found[section.pk] = (order, " · ".join(parts))
    return _labelled(values, found, pgettext_lazy("report builder", "No section"))


def _managers(values, chosen):
    found = {}
    for pk, last, first, username in User.objects.filter(pk__in=values).values_list(
        "pk", "last_name", "first_name", "username"
    ):
        label = f"{last} {first[:1]}." if last and first else (last or username)
        found[pk] = ((last.casefold(), first.casefold(), username), label)
    return _labelled(values, found, _("No manager"))


def _promotions(values, chosen):
    found = {
        pk: (_natural(name), name)
        for pk, name in Promotion.objects.filter(pk__in=values).values_list("pk", "name")
    }
    return _labelled(values, found, _("No promotion"))


def _channels(values, chosen):
    found = {
        c.pk: ((c.order, _natural(str(c))), str(c)) for c in Channel.objects.filter(pk__in=values)
    }
    return _labelled(values, found, _("Not known"))


def _unit_types(values, chosen):
    found = {t: ((type_sort_key(t),), str(UNIT_TYPE_LABELS.get(t, t))) for t in values if t}
    return _labelled(values, found, "—")


def _choices(choices) -> Callable:
    """Labels and order of a TextChoices field (unit kind, unit status, lead status)."""
    order = {value: i for i, value in enumerate(choices.values)}
    labels = dict(choices.choices)

    def resolve(values, chosen):
        found = {v: ((order.get(v, len(order)),), str(labels.get(v, v))) for v in values if v}
        return _labelled(values, found, "—")

    return resolve


def _rooms(values, chosen):
    studio = pgettext_lazy("unit type", "Studio")
    found = {v: ((v,), str(studio) if v == 0 else str(v)) for v in values if v is not None}
    return _labelled(values, found, "—")


def _floors(values, chosen):
    return _labelled(values, {v: ((v,), str(v)) for v in values if v is not None}, "—")


def _time(step: str) -> Callable:
    def resolve(values, chosen):
        return _labelled(values, {v: ((v,), step_label(v, step)) for v in values if v}, "—")

    return resolve


RESOLVERS: dict[str, Callable] = {
    "project": _projects,
    "building": _buildings,
    "section": _sections,
    "unit_type": _unit_types,
    "unit_kind": _choices(UnitKind),
    "rooms": _rooms,
    "manager": _managers,
    "promotion": _promotions,
    "channel": _channels,
    "floor": _floors,
    **{step: _time(step) for step in TIME_DIMENSIONS},
}
STATUS_RESOLVERS = {"stock": _choices(UnitStatus), "leads": _choices(LeadStatus)}


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
    if params.manager:
        leads = leads.filter(manager=params.manager)
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


# --- the filters ----------------------------------------------------------------------------


def _months_back(day: date, months: int) -> date:
    month = day.month - 1 - months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _preset(key: str, today: date) -> tuple[date, date]:
    month = today.replace(day=1)
    if key == "this_month":
        return month, today
    if key == "last_month":
        return _months_back(today, 1), month - timedelta(days=1)
    if key == "this_quarter":
        return step_start(today, "quarter"), today
    if key == "this_year":
        return date(today.year, 1, 1), today
    if key == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return _months_back(today, 11), today  # last_12_months


# Periods that move with the calendar: a saved template shows the current month, year …
PERIODS = [
    ("last_12_months", gettext_lazy("The last twelve months")),
    ("this_month", gettext_lazy("This month")),
    ("last_month", gettext_lazy("Last month")),
    ("this_quarter", gettext_lazy("This quarter")),
    ("this_year", gettext_lazy("This year")),
    ("last_year", gettext_lazy("Last year")),
]
PERIOD_KEYS = {key for key, _label in PERIODS}


def _filter_data(source: Source, filters: dict) -> QueryDict:
    if not isinstance(filters, dict):
        raise TemplateBroken(
            _("The filters of this template are damaged: save them again."), "filters"
        )
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise TemplateBroken(
            _("The filter “%(key)s” no longer exists: edit the template.") % {"key": unknown[0]},
            "filters",
        )
    data = QueryDict(mutable=True)
    for key, value in filters.items():
        if value in (None, "", []):
            continue
        if isinstance(value, list | tuple):
            data.setlist(key, [str(v) for v in value])
        else:
            data[key] = str(value)
    preset = data.pop("period", [""])[-1]
    if preset and source.has_period:
        if preset not in PERIOD_KEYS:
            raise TemplateBroken(
                _("The period “%(key)s” no longer exists: edit the template.") % {"key": preset},
                "filters",
            )
        start, end = _preset(preset, local_today())
        data["date_from"], data["date_to"] = start.isoformat(), end.isoformat()
    return data


def _params(source: Source, filters: dict) -> Params:
    form = ReportForm(_filter_data(source, filters), fields=source.fields)
    if not form.is_valid():
        problems = [str(e) for e in form.non_field_errors()]
        for name, errors in form.errors.items():
            if name != "__all__":
                label = form.fields[name].label if name in form.fields else name
                problems += [f"{label}: {e}" for e in errors]
        raise TemplateBroken(" ".join(problems), "filters")
    return Params.from_form(form)


# --- checking and building ------------------------------------------------------------------


@dataclass
class Spec:
    """A checked builder report: what to count, by what, with which filters."""

    source: Source
    dimensions: list[Dimension]
    measures: list[Measure]
    params: Params


def check(*, source, dimensions, measures, filters) -> Spec:
    """The spec of a builder report, or ``TemplateBroken`` saying what is wrong with it."""
    found = SOURCES.get(source) if isinstance(source, str) else None
    if found is None:
        raise TemplateBroken(
            _("The data “%(source)s” no longer exists: edit the template and choose another.")
            % {"source": source},
            "source",
        )
    if not isinstance(dimensions, list | tuple) or not all(isinstance(d, str) for d in dimensions):
        raise TemplateBroken(
            _("The rows of this template are damaged: choose them again."), "dimensions"
        )
    if not isinstance(measures, list | tuple) or not all(isinstance(m, str) for m in measures):
        raise TemplateBroken(
            _("The columns of this template are damaged: choose them again."), "measures"
        )
    for key in dimensions:
        if key not in found.dimensions:
            raise TemplateBroken(
                _("The dimension “%(key)s” no longer exists: edit the template and choose another.")
                % {"key": key},
                "dimensions",
            )
    for key in measures:
        if key not in found.measures:
            raise TemplateBroken(
                _("The measure “%(key)s” no longer exists: edit the template and choose another.")
                % {"key": key},
                "measures",
            )
    if len(dimensions) > MAX_DIMENSIONS:
        raise TemplateBroken(
            _("At most %(n)s dimensions: remove %(extra)s.")
            % {"n": MAX_DIMENSIONS, "extra": len(dimensions) - MAX_DIMENSIONS},
            "dimensions",
        )
    if len(set(dimensions)) < len(dimensions):
        twice = next(d for d in dimensions if dimensions.count(d) > 1)
        raise TemplateBroken(
            _("The dimension “%(label)s” is chosen twice.")
            % {"label": found.dimensions[twice].label},
            "dimensions",
        )
    if not measures:
        raise TemplateBroken(_("Choose at least one measure."), "measures")
    if len(measures) > MAX_MEASURES:
        raise TemplateBroken(
            _("At most %(n)s measures: remove %(extra)s.")
            % {"n": MAX_MEASURES, "extra": len(measures) - MAX_MEASURES},
            "measures",
        )
    if len(set(measures)) < len(measures):
        twice = next(m for m in measures if measures.count(m) > 1)
        raise TemplateBroken(
            _("The measure “%(label)s” is chosen twice.") % {"label": found.measures[twice].label},
            "measures",
        )
    return Spec(
        source=found,
        dimensions=[found.dimensions[d] for d in dimensions],
        measures=[found.measures[m] for m in measures],
        params=_params(found, filters or {}),
    )


def _resolver(source: Source, dim: str) -> Callable:
    return STATUS_RESOLVERS[source.key] if dim == "status" else RESOLVERS[dim]


def _chart(spec: Spec, keys: list[tuple], rows: list[dict], groups: dict) -> Chart | None:
    """The first measure by the first dimension, from the rows of the table (two dimensions
    with few values of the second: one series per value; more: the first one's subtotals)."""
    if not spec.dimensions or not rows:
        return None
    first, measure = spec.dimensions[0], spec.measures[0]
    title = _("%(measure)s by %(dimension)s") % {
        "measure": measure.label,
        "dimension": str(first.label).lower(),
    }
    labels = list(dict.fromkeys(r[first.key] for r in rows))
    if len(spec.dimensions) == 1:
        series = [Series(str(measure.label), [r[measure.key] for r in rows])]
    elif (
        len(spec.dimensions) == 2
        and len(names := list(dict.fromkeys(r[spec.dimensions[1].key] for r in rows))) <= MAX_SERIES
    ):
        second = spec.dimensions[1]
        cells = {(r[first.key], r[second.key]): r[measure.key] for r in rows}
        series = [Series(name, [cells.get((label, name)) for label in labels]) for name in names]
    else:
        subtotals: dict = {}
        for key, row in zip(keys, rows, strict=True):
            sums = subtotals.setdefault(row[first.key], spec.source.zero())
            _add(sums, groups[key])
        series = [Series(str(measure.label), [measure.value(subtotals[lb]) for lb in labels])]
    return Chart("builder", title, labels, series, value_kind=measure.kind)


def _fill_steps(spec: Spec, groups: dict) -> None:
    """A lone time dimension shows every step of the period, the empty ones as zeros."""
    dims = [d.key for d in spec.dimensions]
    if len(dims) != 1 or dims[0] not in TIME_DIMENSIONS or not spec.source.has_period:
        return
    period = spec.params.period
    for start in Period(period.start, period.end, dims[0]).steps():
        groups.setdefault((start,), spec.source.zero())


def build(*, source, dimensions, measures, filters: dict, title: str = "") -> Result:
    """The report of ``source`` by ``dimensions`` with ``measures`` under ``filters`` (the
    report filters' names: date_from, date_to, period, project, building, section,
    unit_type, manager), computed from the current data. ``TemplateBroken`` if it cannot be."""
    spec = check(source=source, dimensions=dimensions, measures=measures, filters=filters)
    dims = [d.key for d in spec.dimensions]
    groups = spec.source.groups(spec.params, dims)
    _fill_steps(spec, groups)
    labels = [
        _resolver(spec.source, dim)({k[i] for k in groups}, dims) for i, dim in enumerate(dims)
    ]
    keys = sorted(groups, key=lambda k: tuple(labels[i][v][0] for i, v in enumerate(k)))
    total = spec.source.zero()
    for sums in groups.values():
        _add(total, sums)
    columns = [Column(d.key, str(d.label)) for d in spec.dimensions] + [
        Column(m.key, str(m.label), m.kind) for m in spec.measures
    ]
    notes = []
    if len(keys) > MAX_ROWS:
        notes.append(
            _(
                "Showing the first %(shown)s rows of %(all)s: choose fewer dimensions or "
                "narrow the filters. The total counts them all."
            )
            % {"shown": MAX_ROWS, "all": len(keys)}
        )
        keys = keys[:MAX_ROWS]

    def measured(sums: dict) -> dict:
        return {m.key: m.value(sums) for m in spec.measures}

    if dims:
        rows = [
            {**{d: labels[i][k[i]][1] for i, d in enumerate(dims)}, **measured(groups[k])}
            for k in keys
        ]
        total_row = {dims[0]: _("Total"), **measured(total)} if rows else None
    else:
        rows, total_row = [measured(total)], None
    title = title or _("Report")
    table = Table("builder", title, columns, rows, total=total_row, empty=str(spec.source.empty))
    chart = _chart(spec, keys, rows, groups)
    subtitle = " · ".join(
        p for p in (str(spec.source.label), spec.params.describe(spec.source.fields)) if p
    )
    return Result(
        title=title,
        subtitle=subtitle,
        tables=[table],
        charts=[chart] if chart else [],
        notes=notes,
        landscape=len(columns) > 6,
    )


def run_template(template) -> Result:
    """A saved template with the current data (``TemplateBroken`` if it cannot be built)."""
    return build(
        source=template.source,
        dimensions=template.dimensions,
        measures=template.measures,
        filters=template.filters,
        title=template.name,
    )


def check_template(template) -> Spec:
    return check(
        source=template.source,
        dimensions=template.dimensions,
        measures=template.measures,
        filters=template.filters,
    )


def template_save(
    *,
    owner,
    name: str,
    source: str,
    dimensions: list[str],
    measures: list[str],
    filters: dict,
    shared_roles: list[str],
    template: ReportTemplate | None = None,
) -> ReportTemplate:
    """Save a new template of ``owner`` (or change ``template``): checked first, so a saved
    template can always be built when saved (``TemplateBroken`` otherwise)."""
    check(source=source, dimensions=dimensions, measures=measures, filters=filters)
    template = template or ReportTemplate(owner=owner)
    template.name = name.strip()[:200]
    template.source = source
    template.dimensions = list(dimensions)
    template.measures = list(measures)
    template.filters = dict(filters)
    template.shared_roles = list(shared_roles)
    template.save()
    return template


__all__ = [
    "DIMENSIONS_FOR",
    "MAX_DIMENSIONS",
    "MAX_MEASURES",
    "MEASURES_FOR",
    "PERIODS",
    "SOURCES",
    "TemplateBroken",
    "build",
    "check",
    "check_template",
    "deal_channels",
    "dimensions_for",
    "measures_for",
    "run_template",
    "source_choices",
    "template_save",
]
