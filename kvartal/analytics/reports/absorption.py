"""Sales office: absorption (вымываемость) — the share of the stock on offer that sold.

Domain notes §3: absorption of a step = units sold in it ÷ units exposed in it × 100 %, where
exposed = the units on sale (available or reserved) at the start of the step + the units that
came on sale during it. Sold is every status change to "sold" in the step, the same events as
the sales statistics. Sell-out time = the units on sale now ÷ the average monthly sales of the
period.

Everything comes from the status history (``StatusChange``), aggregated in SQL, never row by
row. Every change that crosses the border of the "on sale" set is +1 (from outside into it:
a unit created on sale, opened for sale, a hold or deal ended) or −1 (out of it: into a deal,
sold, closed for sale). A unit's creation is a history row with an empty old status
(``inventory.services._record_creation``), so the flows of all history add up to the units on
sale today, and the stock on sale at any moment is today's stock less the net flow since
that moment. Counting back from today reads only the history since the period began (the
flows of everything before it would give the same number from a scan of all history).
Three queries whatever the data size:

1. one GROUP BY over the history since the period began, per step (or "after the period"),
   project and unit type: the net flow, the entries into sale and the moves to sold;
2. the units on sale now, per project and type (the anchor, and the sell-out time);
3. the projects' names.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.inventory.models import IN_STOCK, Project, StatusChange, Unit, UnitStatus

from ..base import UNIT_TYPE_LABELS, Params, Report, register, type_sort_key, unit_type
from ..facts import percent
from ..periods import Period, Step, as_local_date, next_step
from ..results import Chart, Column, Figure, Result, Series, Table, format_value

ENTERS = Q(new_status__in=IN_STOCK) & ~Q(old_status__in=IN_STOCK)
LEAVES = Q(old_status__in=IN_STOCK) & ~Q(new_status__in=IN_STOCK)
SOLD = Q(new_status=UnitStatus.SOLD)
NET = Sum(
    Case(
        When(ENTERS, then=Value(1)),
        When(LEAVES, then=Value(-1)),
        default=Value(0),
        output_field=IntegerField(),
    )
)
# What the database truncates a moment to for each step (a half-year is two quarters).
SQL_TRUNC = {
    Step.DAY: "day",
    Step.WEEK: "week",
    Step.MONTH: "month",
    Step.QUARTER: "quarter",
    Step.HALF: "quarter",
    Step.YEAR: "year",
}
GROUP = ("unit__building__project_id", "unit__kind", "unit__rooms")


@dataclass
class Flow:
    """Units of one group: on sale at the start, came on sale, sold."""

    start: int = 0
    entered: int = 0
    sold: int = 0
    net: int = 0

    @property
    def exposed(self) -> int:
        return self.start + self.entered

    @property
    def absorption(self) -> Decimal | None:
        return percent(self.sold, self.exposed)


def months_in(period: Period) -> Decimal:
    """The length of the period in months: each month it touches counts the share of its
    days that fall in the period (1 January – 31 March is 3; 1–15 January is 15/31)."""
    months, current = Decimal(0), period.start.replace(day=1)
    while current <= period.end:
        following = next_step(current, Step.MONTH)
        first, last = max(current, period.start), min(following - timedelta(days=1), period.end)
        months += Decimal((last - first).days + 1) / Decimal((following - current).days)
        current = following
    return months


def _history(params: Params):
    return StatusChange.objects.filter(params.unit_q())


def flows(params: Params) -> tuple[dict, dict]:
    """The history since the period began, in one GROUP BY: ``{(step start, project id,
    type): Flow}`` of the period (``start`` unset) and ``{(project id, type): net flow}`` of
    what came after it."""
    period = params.period
    tz = timezone.get_current_timezone()
    rows = (
        _history(params)
        .filter(ENTERS | LEAVES | SOLD, at__gte=period.since)
        .annotate(
            moment=Trunc("at", SQL_TRUNC[period.step], tzinfo=tz),
            after=Case(When(at__gte=period.until, then=Value(1)), default=Value(0)),
        )
        .values_list("moment", "after", *GROUP)
        .annotate(net=NET, entered=Count("pk", filter=ENTERS), sold=Count("pk", filter=SOLD))
        .order_by()
    )
    during: dict = defaultdict(Flow)
    after: dict = defaultdict(int)
    for moment, later, project, kind, rooms, net, entered, sold in rows:
        group = project, unit_type(kind, rooms)
        if later:
            after[group] += net
            continue
        flow = during[period.bucket(as_local_date(moment)), *group]
        flow.net += net
        flow.entered += entered
        flow.sold += sold
    return during, after


def on_sale_now(params: Params) -> dict:
    result: dict = defaultdict(int)
    for project, kind, rooms, n in (
        Unit.objects.filter(params.unit_q(""), status__in=IN_STOCK)
        .values_list("building__project_id", "kind", "rooms")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        result[project, unit_type(kind, rooms)] += n
    return result


def _sell_out(now: int, sold: int, months: Decimal) -> Decimal | None:
    """Months to sell what is on sale now at the period's average monthly pace."""
    if not sold or not months:
        return None
    return (Decimal(now) * months / Decimal(sold)).quantize(Decimal("0.1"))


@register
class Absorption(Report):
    key = "absorption"
    title = _("Absorption")
    description = _(
        "The share of the units on offer that sold, by month or quarter: sold ÷ (on sale at "
        "the start + came on sale) from the status history; by project and type with the "
        "sell-out time at the period's pace."
    )
    group = "office"
    fields = ("period", "step", "project", "building", "section", "unit_type")
    steps = (Step.MONTH, Step.QUARTER)

    def run(self, params: Params) -> Result:
        period = params.period
        during, after = flows(params)
        now = on_sale_now(params)
        groups = {key[1:] for key in during} | set(after) | set(now)
        names = dict(
            Project.objects.filter(pk__in={g[0] for g in groups}).values_list("pk", "name")
        )

        by_group: dict = defaultdict(Flow)
        by_step: dict = defaultdict(Flow)
        for (start, *group), flow in during.items():
            by_step[start].entered += flow.entered
            by_step[start].sold += flow.sold
            by_step[start].net += flow.net
            by_group[tuple(group)].entered += flow.entered
            by_group[tuple(group)].sold += flow.sold
            by_group[tuple(group)].net += flow.net
        # on sale when the period began = on sale now − what flowed in since then
        before = {
            group: now.get(group, 0) - after.get(group, 0) - by_group[group].net for group in groups
        }
        stock = sum(before.values())
        step_rows, total = [], Flow(start=stock)
        for start in period.steps():
            flow = by_step.get(start, Flow())
            flow.start = stock
            stock += flow.net
            total.entered += flow.entered
            total.sold += flow.sold
            step_rows.append(self._step_row(period.label(start), flow))
        steps = Table(
            "by_step",
            _("Absorption by period"),
            [
                Column("step", _("Period")),
                Column("start", _("On sale at the start"), "int"),
                Column("entered", _("Came on sale"), "int"),
                Column("exposed", _("Exposed"), "int"),
                Column("sold", _("Sold"), "int"),
                Column("absorption", _("Absorption"), "percent"),
            ],
            step_rows,
            total=self._step_row(_("Whole period"), total),
        )

        months = months_in(period)
        group_rows = []
        now_total = 0
        for group in sorted(groups, key=lambda g: (names.get(g[0], ""), g[0], type_sort_key(g[1]))):
            flow = by_group.get(group, Flow())
            flow.start = before.get(group, 0)
            on_now = now.get(group, 0)
            now_total += on_now
            if not (flow.exposed or flow.sold or on_now):
                continue
            group_rows.append(
                {
                    "project": names.get(group[0], ""),
                    "type": UNIT_TYPE_LABELS.get(group[1], group[1]),
                    "exposed": flow.exposed,
                    "sold": flow.sold,
                    "absorption": flow.absorption,
                    "now": on_now,
                    "sell_out": _sell_out(on_now, flow.sold, months),
                }
            )
        sell_out = _sell_out(now_total, total.sold, months)
        by_type = Table(
            "by_project_type",
            _("Absorption by project and unit type"),
            [
                Column("project", _("Project")),
                Column("type", _("Unit type")),
                Column("exposed", _("Exposed in the period"), "int"),
                Column("sold", _("Sold"), "int"),
                Column("absorption", _("Absorption"), "percent"),
                Column("now", _("On sale now"), "int"),
                # months with two decimals (no plain-number kind yet)
                Column("sell_out", _("Sell-out, months"), "number"),
            ],
            group_rows,
            total={
                "project": _("Total"),
                "exposed": total.exposed,
                "sold": total.sold,
                "absorption": total.absorption,
                "now": now_total,
                "sell_out": sell_out,
            },
            empty=_("No units were on sale in this period."),
        )
        chart = Chart(
            "absorption",
            _("Absorption by period"),
            [r["step"] for r in step_rows],
            [Series(str(_("Absorption")), [r["absorption"] for r in step_rows])],
            kind="line",
            value_kind="percent",
        )
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Absorption over the period"), total.absorption, "percent"),
                Figure(_("Units exposed"), total.exposed),
                Figure(_("Units sold"), total.sold),
                Figure(_("Sell-out at this pace, months"), sell_out, "number"),
            ],
            tables=[steps, by_type],
            charts=[chart],
            notes=[
                _(
                    "Absorption = sold ÷ exposed; exposed = units on sale (available or "
                    "reserved) at the start of the step + units that came on sale during it. "
                    "Sold counts every change of status to sold, as the sales statistics do, "
                    "including units that had left the sale for a deal in an earlier step; a "
                    "unit that comes back on sale counts again."
                ),
                _(
                    "Sell-out time = units on sale now ÷ average units sold per month in the "
                    "period (%(months)s months)."
                )
                % {"months": format_value(months, "number")},
            ],
        )

    @staticmethod
    def _step_row(label, flow: Flow) -> dict:
        return {
            "step": label,
            "start": flow.start,
            "entered": flow.entered,
            "exposed": flow.exposed,
            "sold": flow.sold,
            "absorption": flow.absorption,
        }
