"""Plan against fact: a report of pricing's own data, registered with the analytics registry
(analytics never imports pricing) and shown on the dashboard through its block hook."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from kvartal.analytics.base import Params, Report, register
from kvartal.analytics.facts import percent, sales
from kvartal.analytics.periods import Period, Step, local_today, next_step, step_label
from kvartal.analytics.results import Chart, Column, Figure, Result, Series, Table

from .plan import Amounts, plan_by_month


def months_between(first: date, last: date) -> list[date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = next_step(current, Step.MONTH)
    return months


def fact_by_month(params: Params) -> dict[date, Amounts]:
    result: dict[date, Amounts] = defaultdict(Amounts)
    for sale in sales(params, by_manager=False):
        result[sale.day.replace(day=1)].add(1, sale.area, sale.price)
    return result


def pace_needed(plan_total: int, fact_to_date: int, months_left: int) -> Decimal | None:
    """Units a month still needed to meet the period's plan: what is left ÷ the months left
    (this month included)."""
    if months_left <= 0:
        return None
    return (Decimal(max(plan_total - fact_to_date, 0)) / months_left).quantize(Decimal("0.1"))


@register
class PlanFact(Report):
    key = "plan-fact"
    title = _("Sales plan and fact")
    description = _(
        "The sales plan by month against the sales (units, m², revenue, price per m²), month "
        "by month and cumulative, with the pace needed to meet the plan."
    )
    group = "office"
    fields = ("period", "project", "building", "unit_type")
    steps = (Step.MONTH,)
    landscape = True

    def run(self, params: Params) -> Result:
        period = params.period
        monthly = Params(
            period=Period(period.start, period.end, Step.MONTH),
            project=params.project,
            building=params.building,
            unit_types=params.unit_types,
        )
        plan = plan_by_month(
            start=period.start,
            end=period.end,
            project_id=params.project.pk if params.project else None,
            building_id=params.building.pk if params.building else None,
            unit_types=params.unit_types,
        )
        fact = fact_by_month(monthly)
        today = min(local_today(), period.end)
        rows, cum_plan, cum_fact = [], Amounts(), Amounts()
        labels, plan_series, fact_series = [], [], []
        for month in months_between(period.start, period.end):
            p, f = plan.get(month, Amounts()), fact.get(month, Amounts())
            cum_plan.add(p.units, p.area, p.revenue)
            cum_fact.add(f.units, f.area, f.revenue)
            label = step_label(month, Step.MONTH)
            labels.append(label)
            plan_series.append(cum_plan.units)
            fact_series.append(cum_fact.units if month <= today else None)
            rows.append(
                {
                    "month": label,
                    "plan_units": p.units,
                    "fact_units": f.units,
                    "done": percent(f.units, p.units),
                    "plan_area": p.area,
                    "fact_area": f.area,
                    "plan_revenue": p.revenue,
                    "fact_revenue": f.revenue,
                    "plan_m2": p.per_m2,
                    "fact_m2": f.per_m2,
                    "cum_plan": cum_plan.units,
                    "cum_fact": cum_fact.units if month <= today else None,
                    "cum_done": percent(cum_fact.units, cum_plan.units) if month <= today else None,
                }
            )
        # a period already over needs no pace
        months_left = 0 if local_today() > period.end else len(months_between(today, period.end))
        pace = pace_needed(cum_plan.units, cum_fact.units, months_left)
        revenue_pace = (
            ((cum_plan.revenue - cum_fact.revenue) / months_left).quantize(Decimal(1))
            if months_left
            else None
        )
        table = Table(
            "by_month",
            _("Plan and fact by month"),
            [
                Column("month", _("Month")),
                Column("plan_units", _("Plan, units"), "int"),
                Column("fact_units", _("Fact, units"), "int"),
                Column("done", _("Done"), "percent"),
                Column("plan_area", _("Plan, m²"), "area"),
                Column("fact_area", _("Fact, m²"), "area"),
                Column("plan_revenue", _("Plan, ₽"), "money"),
                Column("fact_revenue", _("Fact, ₽"), "money"),
                Column("plan_m2", _("Plan, ₽/m²"), "money"),
                Column("fact_m2", _("Fact, ₽/m²"), "money"),
                Column("cum_plan", _("Plan to date, units"), "int"),
                Column("cum_fact", _("Fact to date, units"), "int"),
                Column("cum_done", _("Done to date"), "percent"),
            ],
            rows,
            total={
                "month": _("Whole period"),
                "plan_units": cum_plan.units,
                "fact_units": cum_fact.units,
                "done": percent(cum_fact.units, cum_plan.units),
                "plan_area": cum_plan.area,
                "fact_area": cum_fact.area,
                "plan_revenue": cum_plan.revenue,
                "fact_revenue": cum_fact.revenue,
                "plan_m2": cum_plan.per_m2,
                "fact_m2": cum_fact.per_m2,
            },
            empty=_("No plan and no sales in this period."),
        )
        chart = Chart(
            "cumulative",
            _("Plan and fact, cumulative units"),
            labels,
            [Series(str(_("Plan")), plan_series), Series(str(_("Fact")), fact_series)],
            kind="line",
        )
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Plan, units"), cum_plan.units),
                Figure(_("Sold, units"), cum_fact.units),
                Figure(_("Plan done"), percent(cum_fact.units, cum_plan.units), "percent"),
                Figure(_("Pace needed, units a month"), pace, "number"),
                Figure(_("Revenue needed a month, ₽"), revenue_pace, "money"),
            ],
            tables=[table],
            charts=[chart],
            notes=[
                _(
                    "Fact = units whose status changed to sold in the month, at their deal's "
                    "price and area (as the sales statistics count them). Pace needed = the "
                    "period's plan not yet sold ÷ the months left in the period, this month "
                    "included."
                ),
                _(
                    "The plan is read at the least specific level that exists for each project "
                    "and month: the all-types row, else the rows by type, else by building."
                ),
            ],
        )
