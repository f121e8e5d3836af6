"""Reservations: every hold that overlapped the period, holds by step and
unit type, the longest ones, holds by manager, and the holds ending within the next hours.

A hold is *inside the period* when it overlaps it: it starts before the period ends and ends
after it starts. Its end is ``ended_at`` once it ended, else ``expires_at``: an active hold
whose ``expires_at`` has passed reads as expired then, before the periodic job finalises it
(the same rule as ``Hold.is_live``). The days held inside the period are clipped to the
period and to now (a live hold has not been held beyond now yet).

The big history is aggregated by the database (GROUP BY); only the listed rows (capped) and
the small grouped rows come back to Python. Seven queries whatever the data size.
"""

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Case, CharField, Count, F, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Least, TruncDate
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.models import User
from kvartal.sales.models import Hold, HoldBasis, HoldKind, HoldState

from ..base import UNIT_TYPE_LABELS, Params, Report, register, type_sort_key, unit_type
from ..facts import percent
from ..periods import as_local_date
from ..results import Chart, Column, Figure, Result, Series, Table

MAX_ROWS = 2000  # the list of holds; beyond it the page and the PDF become useless
LONGEST = 20
MICROSECONDS_A_DAY = Decimal(86_400_000_000)
MICROSECONDS_AN_HOUR = Decimal(3_600_000_000)
ONE_DECIMAL = Decimal("0.1")
ENDED = (HoldState.CONVERTED, HoldState.EXPIRED, HoldState.CANCELLED)


# --- small helpers ------------------------------------------------------------------------


def days_of(delta: timedelta | None) -> Decimal | None:
    """A duration in days with one decimal (never negative); None stays None."""
    if delta is None:
        return None
    micro = max(delta // timedelta(microseconds=1), 0)
    return (Decimal(micro) / MICROSECONDS_A_DAY).quantize(ONE_DECIMAL)


def hours_of(delta: timedelta) -> Decimal:
    micro = max(delta // timedelta(microseconds=1), 0)
    return (Decimal(micro) / MICROSECONDS_AN_HOUR).quantize(ONE_DECIMAL)


def held_inside(start: datetime, end: datetime, since: datetime, cap: datetime) -> Decimal:
    """Days of ``start``…``end`` inside ``since``…``cap`` (the period's end or now)."""
    return days_of(min(end, cap) - max(start, since))


def person(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _end():
    """A hold's end: when it ended, else when it is due to end."""
    return Coalesce("ended_at", "expires_at")


def _state(now: datetime):
    """The state as users see it: an active hold whose end has passed is expired."""
    return Case(
        When(state=HoldState.ACTIVE, expires_at__lte=now, then=Value(HoldState.EXPIRED)),
        default=F("state"),
        output_field=CharField(),
    )


def _holds(params: Params):
    """The holds under the unit filters and the manager."""
    holds = Hold.objects.filter(params.unit_q())
    holds = holds.filter(params.manager_q())
    return holds.order_by()


def holds_in_period(params: Params):
    """The holds that overlap the period (``end`` annotated)."""
    period = params.period
    return (
        _holds(params).annotate(end=_end()).filter(starts_at__lt=period.until, end__gt=period.since)
    )


# The columns of a listed hold, in the order of ``_hold_row``.
HOLD_VALUES = (
    "unit__building__project__name",
    "unit__building__name",
    "unit__number",
    "unit__kind",
    "unit__rooms",
    "unit__total_area",
    "price",
    "manager__first_name",
    "manager__last_name",
    "manager__username",
    "kind",
    "basis",
    "starts_at",
    "end",
    "shown_state",
)


def _hold_columns() -> list[Column]:
    return [
        Column("project", _("Project")),
        Column("unit", _("Unit")),
        Column("type", _("Unit type")),
        Column("area", _("m²"), "area"),
        Column("price", _("Hold price, ₽"), "money"),
        Column("manager", _("Manager")),
        Column("kind", _("Kind")),
        Column("basis", _("Basis")),
        Column("start", _("Start"), "datetime"),
        Column("end", _("End"), "datetime"),
        # Decimal days with one decimal: there is no plain-number kind, text keeps "2.5"
        Column("days", _("Days held in the period"), "number"),
        Column("state", _("State")),
    ]


def _hold_row(values: tuple, since: datetime, cap: datetime) -> dict:
    (
        project, building, number, kind, rooms, area, price,
        first, last, username, hold_kind, basis, start, end, state,
    ) = values  # fmt: skip
    return {
        "project": project,
        "unit": f"{building} · {number}",
        "type": UNIT_TYPE_LABELS[unit_type(kind, rooms)],
        "area": area,
        "price": price,
        "manager": person(first, last, username),
        "kind": HoldKind(hold_kind).label,
        "basis": HoldBasis(basis).label,
        "start": start,
        "end": _("active") if state == HoldState.ACTIVE else end,
        "days": held_inside(start, end, since, cap),
        "state": HoldState(state).label,
    }


# --- the report ---------------------------------------------------------------------------


@register
class Reservations(Report):
    key = "holds"
    title = _("Reservations")
    description = _(
        "Every unit held inside the period: holds by step and unit type, the longest holds, "
        "holds by manager with their basis and kind, and the holds ending within the next hours."
    )
    fields = ("period", "step", "project", "building", "section", "unit_type", "manager", "hours")
    landscape = True

    def run(self, params: Params) -> Result:
        return reservations(params, now=timezone.now(), title=str(self.title))


def reservations(params: Params, *, now: datetime, title: str = "") -> Result:
    """The reservations report at the moment ``now`` (the expiring list and live holds)."""
    period = params.period
    cap = min(period.until, now)
    in_period = holds_in_period(params)
    with_state = in_period.annotate(shown_state=_state(now))

    step_table, chart = _by_step(params)
    managers, totals = _managers(with_state, now)
    count = totals["holds"]
    units_held = in_period.aggregate(units=Count("unit_id", distinct=True))["units"]

    listed = _first(with_state, ("starts_at", "pk"), MAX_ROWS + 1, now)
    notes = []
    if len(listed) > MAX_ROWS:
        listed = listed[:MAX_ROWS]
        notes.append(_cut(_("Holds in the period"), count))
    units_table = Table(
        "units",
        _("Holds in the period"),
        _hold_columns(),
        [_hold_row(v, period.since, cap) for v in listed],
        empty=_("No unit was held in this period."),
    )
    held = Least(F("end"), Value(cap)) - Greatest(F("starts_at"), Value(period.since))
    longest = _first(with_state, ("-held", "starts_at", "pk"), LONGEST, now, held=held)
    longest_table = Table(
        "longest",
        _("Held longest in the period (top %(n)s)") % {"n": LONGEST},
        _hold_columns(),
        [_hold_row(v, period.since, cap) for v in longest],
        empty=_("No unit was held in this period."),
    )
    expiring_table, expiring = _expiring(params, now)
    if expiring > len(expiring_table.rows):
        notes.append(_cut(expiring_table.title, expiring))
    return Result(
        title=title,
        figures=[
            Figure(_("Holds in the period"), count),
            Figure(_("Units held"), units_held),
            Figure(
                _("Average hold length, days"),
                days_of(totals["length"] / count) if count else None,
                "number",
                note=_("from its start to its end, or to now while it lasts"),
            ),
            Figure(
                _("Conversion to a deal"),
                percent(totals["converted"], sum(totals[s] for s in ENDED)),
                "percent",
                note=_("of the holds of the period that have ended"),
            ),
            Figure(
                _("Ending within %(hours)s h") % {"hours": params.hours},
                expiring,
            ),
        ],
        tables=[step_table, units_table, longest_table, managers, expiring_table],
        charts=[chart],
        notes=notes,
        landscape=True,
    )


def _first(holds, ordering: tuple, n: int, now: datetime, **extra) -> list[tuple]:
    """The first ``n`` of ``holds`` in ``ordering`` (which may name the ``extra``
    annotations), as ``HOLD_VALUES`` rows. The database picks their ids alone (a top-n sort
    of narrow rows), then joins the units and people of those few: ordering the joined rows
    would sort every hold of the period, wide, on disk."""
    ids = holds.annotate(**extra).order_by(*ordering).values("pk")[:n]
    chosen = Hold.objects.filter(pk__in=ids).annotate(end=_end(), shown_state=_state(now))
    return list(chosen.annotate(**extra).order_by(*ordering).values_list(*HOLD_VALUES))


def _by_step(params: Params) -> tuple[Table, Chart]:
    """Holds started in each step, by unit type: one GROUP BY local day and type."""
    period = params.period
    started = (
        _holds(params)
        .filter(starts_at__gte=period.since, starts_at__lt=period.until)
        .values(
            "unit__kind",
            "unit__rooms",
            day=TruncDate("starts_at", tzinfo=timezone.get_current_timezone()),
        )
        .annotate(n=Count("pk"))
        .values_list("day", "unit__kind", "unit__rooms", "n")
    )
    counts: Counter = Counter()
    for day, kind, rooms, n in started:
        counts[period.bucket(as_local_date(day)), unit_type(kind, rooms)] += n
    types = sorted({t for _s, t in counts}, key=type_sort_key)
    steps = period.steps()
    rows = []
    for s in steps:
        row = {"step": period.label(s), **{f"type_{t}": counts[s, t] for t in types}}
        row["total"] = sum(row[f"type_{t}"] for t in types)
        rows.append(row)
    total = {"step": _("Total"), **{f"type_{t}": sum(r[f"type_{t}"] for r in rows) for t in types}}
    total["total"] = sum(r["total"] for r in rows)
    table = Table(
        "by_step",
        _("Holds started by period and unit type"),
        [
            Column("step", _("Period")),
            *[Column(f"type_{t}", UNIT_TYPE_LABELS[t], "int") for t in types],
            Column("total", _("Total"), "int"),
        ],
        rows,
        total=total,
        empty=_("No hold started in this period."),
    )
    chart = Chart(
        "by_step",
        _("Holds started"),
        [r["step"] for r in rows],
        [Series(str(UNIT_TYPE_LABELS[t]), [r[f"type_{t}"] for r in rows]) for t in types]
        or [Series(str(_("Holds")), [r["total"] for r in rows])],
        kind="bar",
        value_kind="int",
    )
    return table, chart


GROUPED = (
    "manager_id",
    "shown_state",
    "basis",
    "kind",
    "unit__kind",
    "unit__rooms",
)


def _managers(with_state, now: datetime) -> tuple[Table, dict]:
    """Holds of the period per manager by state, basis, kind and unit type, in one GROUP BY
    (with the summed hold lengths for the average), and the managers' names. The totals come
    back as well."""
    blank = {
        "holds": 0,
        "length": timedelta(0),
        **dict.fromkeys(HoldState.values, 0),
        **{f"basis_{b}": 0 for b in HoldBasis.values},
        **{f"kind_{k}": 0 for k in HoldKind.values},
    }
    by_manager: dict = defaultdict(lambda: dict(blank))
    totals = dict(blank)
    types, all_types = defaultdict(Counter), Counter()
    length = Least(F("end"), Value(now)) - F("starts_at")
    for manager_id, state, basis, kind, unit_kind, rooms, n, held in (
        with_state.values(*GROUPED)
        .annotate(n=Count("pk"), length=Sum(length))
        .values_list(*GROUPED, "n", "length")
    ):
        for counts in (by_manager[manager_id], totals):
            counts["holds"] += n
            counts["length"] += held or timedelta(0)
            counts[state] += n
            counts[f"basis_{basis}"] += n
            counts[f"kind_{kind}"] += n
        types[manager_id][unit_type(unit_kind, rooms)] += n
        all_types[unit_type(unit_kind, rooms)] += n
    # The names apart: grouping by them too would sort every hold by three texts.
    names = {
        pk: person(first, last, username)
        for pk, first, last, username in User.objects.filter(pk__in=by_manager).values_list(
            "pk", "first_name", "last_name", "username"
        )
    }

    def row(name, counts: dict, typed: Counter) -> dict:
        return {
            "manager": name,
            **{k: v for k, v in counts.items() if k != "length"},
            "conversion": percent(counts[HoldState.CONVERTED], sum(counts[s] for s in ENDED)),
            "type": _most_held(typed),
        }

    rows = sorted(
        (row(names[m], counts, types[m]) for m, counts in by_manager.items()),
        key=lambda r: (-r["holds"], r["manager"]),
    )
    table = Table(
        "managers",
        _("Holds by manager"),
        [
            Column("manager", _("Manager")),
            Column("holds", _("Holds"), "int"),
            Column(HoldState.ACTIVE, _("Active"), "int"),
            Column(HoldState.CONVERTED, _("Turned into a deal"), "int"),
            Column(HoldState.EXPIRED, _("Expired"), "int"),
            Column(HoldState.CANCELLED, _("Cancelled"), "int"),
            Column("conversion", _("Into a deal (share of ended)"), "percent"),
            *[Column(f"basis_{b}", label, "int") for b, label in HoldBasis.choices],
            *[Column(f"kind_{k}", label, "int") for k, label in HoldKind.choices],
            Column("type", _("Most held unit type")),
        ],
        rows,
        total=row(_("Total"), totals, all_types) if rows else None,
        empty=_("No manager held a unit in this period."),
    )
    return table, totals


def _most_held(typed: Counter) -> str:
    if not typed:
        return ""
    best = min(typed, key=lambda t: (-typed[t], type_sort_key(t)))
    return str(UNIT_TYPE_LABELS[best])


def _cut(table: str, total: int) -> str:
    return _(
        "“%(table)s” lists the first %(shown)s of %(total)s holds; narrow the filters to "
        "see the rest."
    ) % {
        "table": table,
        "shown": number_format(MAX_ROWS, 0, force_grouping=True),
        "total": number_format(total, 0, force_grouping=True),
    }


def _expiring(params: Params, now: datetime) -> tuple[Table, int]:
    """Live holds (``Hold.is_live``: ending after now) ending before now + ``params.hours``,
    whatever the period; and how many there are (the list is capped)."""
    until = now + timedelta(hours=params.hours)
    due = (
        _holds(params)
        .filter(state=HoldState.ACTIVE, expires_at__gt=now, expires_at__lt=until)
        .order_by("expires_at", "pk")
    )
    listed = list(
        due.values_list(
            "unit__building__project__name",
            "unit__building__name",
            "unit__number",
            "unit__kind",
            "unit__rooms",
            "price",
            "manager__first_name",
            "manager__last_name",
            "manager__username",
            "expires_at",
        )[: MAX_ROWS + 1]
    )
    count = len(listed)
    if count > MAX_ROWS:
        listed, count = listed[:MAX_ROWS], due.count()
    rows = [
        {
            "unit": number,
            "project": project,
            "building": building,
            "type": UNIT_TYPE_LABELS[unit_type(kind, rooms)],
            "price": price,
            "manager": person(first, last, username),
            "expires_at": expires_at,
            "hours_left": hours_of(expires_at - now),
        }
        for (
            project,
            building,
            number,
            kind,
            rooms,
            price,
            first,
            last,
            username,
            expires_at,
        ) in listed  # fmt: skip
    ]
    table = Table(
        "expiring",
        _("Holds ending within %(hours)s h (from now, whatever the period)")
        % {"hours": params.hours},
        [
            Column("unit", _("Unit number")),
            Column("project", _("Project")),
            Column("building", _("Building")),
            Column("type", _("Unit type")),
            Column("price", _("Hold price, ₽"), "money"),
            Column("manager", _("Manager")),
            Column("expires_at", _("Ends at"), "datetime"),
            Column("hours_left", _("Hours left"), "number"),
        ],
        rows,
        empty=_("No hold ends within %(hours)s hours.") % {"hours": params.hours},
    )
    return table, count
