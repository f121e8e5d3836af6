"""Dynamic pricing: what each rule recommends for each segment, explained in words and numbers,
and the backtest over the history.

A segment is a project × unit type (× the rule's floor band). Its numbers on a day:

- *sold* — units whose status changed to sold in the ``weeks`` before the day; *pace* = sold ÷
  weeks (units a week);
- *stock* — units on sale (available or held) on the day; *days to sell out* = stock ÷ pace × 7;
- *plan pace* — the month's plan for the segment in units a week: the plan of its unit type
  (``plan_by_month``) or, without one, the project's plan × the segment's share of the
  project's stock. A segment of a floor band takes its share of the type's plan (the band's
  stock ÷ the type's stock on every floor): the plan is set per type, never per band, and a
  band compared with the whole type's plan would always read "slower than the plan".

The rule: pace ≥ ``fast_ratio`` × plan pace with stock for at most ``low_stock_weeks`` weeks →
raise by ``raise_percent``; pace ≤ ``slow_ratio`` × plan pace → lower by ``lower_percent``
(or promote); else hold. Never more than ``monthly_cap_percent`` in a calendar month counting
the moves already sent for approval this month; never below ``min_per_m2`` (applied per unit
when the batch is made). No plan → no move (nothing to compare with).
"""

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from kvartal.analytics.periods import local_midnight, next_step
from kvartal.inventory.models import IN_STOCK, Project, StatusChange, Unit, UnitStatus

from .models import Recommendation, RecommendationStatus, Rule
from .plan import plan_by_month
from .segments import UNIT_TYPE_LABELS, unit_type, unit_type_q

TWO = Decimal("0.01")


@dataclass
class Segment:
    project: Project
    unit_type: str
    floor_from: int | None = None
    floor_to: int | None = None

    def q(self, prefix: str = "") -> Q:
        q = Q(**{f"{prefix}building__project": self.project}) & unit_type_q(self.unit_type, prefix)
        if self.floor_from is not None:
            q &= Q(**{f"{prefix}floor__index__gte": self.floor_from})
        if self.floor_to is not None:
            q &= Q(**{f"{prefix}floor__index__lte": self.floor_to})
        return q

    def has(self, type_key: str, floor: int | None) -> bool:
        """Whether a unit of ``type_key`` on floor ``floor`` of the project is in the segment
        (what ``q`` selects, for rows already read)."""
        if type_key != self.unit_type:
            return False
        if self.floor_from is not None and (floor is None or floor < self.floor_from):
            return False
        return self.floor_to is None or (floor is not None and floor <= self.floor_to)

    @property
    def banded(self) -> bool:
        return self.floor_from is not None or self.floor_to is not None

    def whole_type(self) -> "Segment":
        """The same project and type on every floor."""
        return Segment(self.project, self.unit_type)

    def label(self) -> str:
        parts = [self.project.name, str(UNIT_TYPE_LABELS.get(self.unit_type, self.unit_type))]
        if self.floor_from is not None or self.floor_to is not None:
            parts.append(
                _("floors %(a)s–%(b)s") % {"a": self.floor_from or "…", "b": self.floor_to or "…"}
            )
        return " · ".join(parts)


@dataclass
class Numbers:
    sold: int
    pace: Decimal
    stock: int
    plan_pace: Decimal | None

    @property
    def days_to_sell_out(self) -> int | None:
        if not self.pace:
            return None
        return int((Decimal(self.stock) / self.pace * 7).to_integral_value())

    @property
    def weeks_of_stock(self) -> Decimal | None:
        return (Decimal(self.stock) / self.pace).quantize(TWO) if self.pace else None


@dataclass
class Decision:
    move: Decimal
    explanation: str


def segments_of(rule: Rule) -> list[Segment]:
    """The segments a rule watches: its project (or every project) × its unit type (or every
    type with units in the project)."""
    projects = [rule.project] if rule.project_id else list(Project.objects.all())
    result = []
    for project in projects:
        if rule.unit_type:
            types = [rule.unit_type]
        else:
            types = sorted(
                {
                    unit_type(kind, rooms)
                    for kind, rooms in Unit.objects.filter(building__project=project)
                    .values_list("kind", "rooms")
                    .distinct()
                }
            )
        result += [Segment(project, t, rule.floor_from, rule.floor_to) for t in types]
    return result


def _month_weeks(day: date) -> Decimal:
    first = day.replace(day=1)
    return Decimal((next_step(first, "month") - first).days) / 7


class Plans:
    """The plans of the months in [start, end], read once per project and per project × type
    (``plan_by_month``, one query each) and kept for the next segment or month."""

    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        self._read: dict = {}

    def of(self, project_id: int, unit_type: str | None = None) -> dict:
        key = (project_id, unit_type)
        if key not in self._read:
            self._read[key] = plan_by_month(
                start=self.start,
                end=self.end,
                project_id=project_id,
                unit_types=[unit_type] if unit_type else None,
            )
        return self._read[key]


def plan_pace(
    segment: Segment,
    day: date,
    stock: int,
    project_stock: int,
    type_stock: int | None = None,
    *,
    plans: Plans | None = None,
) -> Decimal | None:
    """The segment's plan this month in units a week. ``type_stock``: the units of the
    segment's type on sale on every floor — given for a floor band, whose share of the type's
    plan is its share of that stock. ``plans``: the plans already read (the backtest's)."""
    month = day.replace(day=1)
    plans = plans or Plans(month, month)
    typed = plans.of(segment.project.pk, segment.unit_type).get(month)
    if typed is not None and typed.units:
        units = Decimal(typed.units)
        if segment.banded:
            if not type_stock:
                return None
            units = units * stock / type_stock
    else:
        total = plans.of(segment.project.pk).get(month)
        if total is None or not total.units or not project_stock:
            return None
        units = Decimal(total.units) * stock / project_stock
    return (units / _month_weeks(day)).quantize(TWO)


def numbers_now(segment: Segment, weeks: int, day: date) -> Numbers:
    """The segment's numbers today (stock = units on sale now)."""
    since = local_midnight(day) - timedelta(weeks=weeks)
    sold = StatusChange.objects.filter(
        segment.q("unit__"), new_status=UnitStatus.SOLD, at__gte=since, at__lt=local_midnight(day)
    ).count()
    stock = Unit.objects.filter(segment.q(), status__in=IN_STOCK).count()
    project_stock = Unit.objects.filter(
        building__project=segment.project, status__in=IN_STOCK
    ).count()
    type_stock = None
    if segment.banded:
        type_stock = Unit.objects.filter(segment.whole_type().q(), status__in=IN_STOCK).count()
    pace = (Decimal(sold) / weeks).quantize(TWO)
    return Numbers(sold, pace, stock, plan_pace(segment, day, stock, project_stock, type_stock))


def moved_this_month(rule: Rule, segment: Segment, day: date) -> Decimal:
    """The moves already sent for approval this month for this rule and segment."""
    total = Recommendation.objects.filter(
        rule=rule,
        project=segment.project,
        unit_type=segment.unit_type,
        status=RecommendationStatus.PROPOSED,
        day__gte=day.replace(day=1),
        day__lt=next_step(day.replace(day=1), "month"),
    ).aggregate(s=Sum("move_percent"))["s"]
    return total or Decimal(0)


def _pct(value: Decimal) -> str:
    """A percentage as people write it, the same on every database: 2, 1.5, 0.25."""
    return f"{Decimal(value).quantize(TWO).normalize():f}"


def decide(rule: Rule, n: Numbers, already: Decimal = Decimal(0)) -> Decision:
    """The rule's move for these numbers, with the reason in words and numbers."""
    facts = _(
        "Sold %(sold)s in %(weeks)s weeks (%(pace)s a week); %(stock)s on sale; "
        "sell-out in %(days)s days at this pace."
    ) % {
        "sold": n.sold,
        "weeks": rule.weeks,
        "pace": n.pace,
        "stock": n.stock,
        "days": n.days_to_sell_out if n.days_to_sell_out is not None else "∞",
    }
    if not n.stock:
        return Decision(Decimal(0), facts + " " + _("Nothing left to price."))
    if not n.plan_pace:
        return Decision(
            Decimal(0), facts + " " + _("No plan for this month: nothing to compare with.")
        )
    ratio = (n.pace / n.plan_pace).quantize(TWO)
    facts += " " + _("The plan needs %(plan)s a week: the pace is %(ratio)s × the plan.") % {
        "plan": n.plan_pace,
        "ratio": ratio,
    }
    room = rule.monthly_cap_percent - abs(already)
    if ratio >= rule.fast_ratio:
        weeks = n.weeks_of_stock
        if weeks is not None and weeks > rule.low_stock_weeks:
            return Decision(
                Decimal(0),
                facts
                + " "
                + _(
                    "Faster than the plan, but the stock lasts %(weeks)s weeks (more than "
                    "%(limit)s): hold the price."
                )
                % {"weeks": weeks, "limit": rule.low_stock_weeks},
            )
        move = min(rule.raise_percent, max(room, Decimal(0)))
        why = _("Faster than the plan (≥ %(fast)s ×) with little stock: raise by %(move)s %%.") % {
            "fast": rule.fast_ratio,
            "move": _pct(move),
        }
    elif ratio <= rule.slow_ratio:
        move = -min(rule.lower_percent, max(room, Decimal(0)))
        why = _("Slower than the plan (≤ %(slow)s ×): lower by %(move)s %% or promote.") % {
            "slow": rule.slow_ratio,
            "move": _pct(-move),
        }
    else:
        return Decision(Decimal(0), facts + " " + _("On plan: hold the price."))
    nominal = rule.raise_percent if move >= 0 and ratio >= rule.fast_ratio else rule.lower_percent
    if abs(move) < nominal:
        why += " " + _("The monthly cap of %(cap)s %% leaves %(room)s %%.") % {
            "cap": _pct(rule.monthly_cap_percent),
            "room": _pct(max(room, Decimal(0))),
        }
    return Decision(move, facts + " " + why)


def unit_price_after(unit: Unit, move: Decimal, floor_per_m2: Decimal | None) -> Decimal:
    """A unit's price moved by ``move`` %, rounded to 1 000 ₽, never below the floor per m²
    (rounded up to 1 000 ₽ then)."""
    price = unit.pending_price if unit.pending_price is not None else unit.price
    new = (price * (1 + move / 100) / 1000).quantize(Decimal(1)) * 1000
    if floor_per_m2:
        lowest = (floor_per_m2 * unit.total_area / 1000).to_integral_value(ROUND_CEILING) * 1000
        new = max(new, lowest)
    return new


# --- the backtest ---------------------------------------------------------------------------


@dataclass
class BacktestRow:
    month: date
    segment: str
    sold: int
    pace: Decimal
    stock: int
    plan_pace: Decimal | None
    move: Decimal
    explanation: str
    sold_next: int


def backtest(rule: Rule, *, months: int, today: date) -> list[BacktestRow]:
    """What ``rule`` would have recommended at the start of each of the last ``months``
    months, from the history as it was then, and the units the segment sold in that month.

    Stock on a past day = units whose latest status change before it put them on sale. One
    query per project for its units' status history, with each unit's type and floor (each
    segment takes its rows from it); the plans read once per project and per type; each
    history counted in one pass for all the months.
    """
    starts, current = [], today.replace(day=1)
    for _i in range(months):
        starts.append(current)
        current = (current - timedelta(days=1)).replace(day=1)
    starts.reverse()
    moments = [local_midnight(start) for start in starts]
    plans = Plans(starts[0], starts[-1])
    rows = []
    histories: dict[int, list[tuple]] = {}  # project id → its history, read once
    project_stock: dict[int, list[int]] = {}
    for segment in segments_of(rule):
        project = segment.project.pk
        if project not in histories:
            histories[project] = _history(project)
            project_stock[project] = _on_sale_at(histories[project], moments)
        changes = [c for c in histories[project] if segment.has(c[3], c[4])]
        type_stock = None
        if segment.banded:
            whole = segment.whole_type()
            type_stock = _on_sale_at(
                [c for c in histories[project] if whole.has(c[3], c[4])], moments
            )
        stock = _on_sale_at(changes, moments)
        sales = [c[1] for c in changes if c[2] == UnitStatus.SOLD]  # in time order
        for i, start in enumerate(starts):
            moment = moments[i]
            until = local_midnight(next_step(start, "month"))
            sold = _count_in(sales, moment - timedelta(weeks=rule.weeks), moment)
            sold_next = _count_in(sales, moment, until)
            if not (stock[i] or sold or sold_next):
                continue
            pace = (Decimal(sold) / rule.weeks).quantize(TWO)
            n = Numbers(
                sold,
                pace,
                stock[i],
                plan_pace(
                    segment,
                    start,
                    stock[i],
                    project_stock[segment.project.pk][i],
                    type_stock[i] if type_stock is not None else None,
                    plans=plans,
                ),
            )
            decision = decide(rule, n)
            rows.append(
                BacktestRow(
                    start,
                    segment.label(),
                    sold,
                    pace,
                    stock[i],
                    n.plan_pace,
                    decision.move,
                    decision.explanation,
                    sold_next,
                )
            )
    rows.sort(key=lambda r: (r.month, r.segment))
    return rows


def _history(project_id: int) -> list[tuple]:
    """(unit id, when, new status, unit type, floor index) of the status changes of the
    project's units, in time order."""
    rows = StatusChange.objects.filter(unit__building__project=project_id).order_by("at", "pk")
    return [
        (unit_id, at, status, unit_type(kind, rooms), floor)
        for unit_id, at, status, kind, rooms, floor in rows.values_list(
            "unit_id", "at", "new_status", "unit__kind", "unit__rooms", "unit__floor__index"
        )
    ]


def _on_sale_at(changes: list[tuple], moments: list) -> list[int]:
    """The units on sale just before each of ``moments`` (ascending), from ``changes`` in time
    order: each unit counts by its latest change before the moment. One pass."""
    latest: dict = {}
    counts, on_sale, i = [], 0, 0
    for moment in moments:
        while i < len(changes) and changes[i][1] < moment:
            unit_id, _at, status = changes[i][:3]
            on_sale += (status in IN_STOCK) - (latest.get(unit_id) in IN_STOCK)
            latest[unit_id] = status
            i += 1
        counts.append(on_sale)
    return counts


def _count_in(times: list, since, until) -> int:
    """How many of ``times`` (ascending) fall in [since, until)."""
    return bisect_left(times, until) - bisect_left(times, since)


def by_month(rows: list[BacktestRow]) -> dict:
    grouped: dict = defaultdict(list)
    for r in rows:
        grouped[r.month].append(r)
    return grouped
