"""Sales statistics and the average price per m² over time."""

from collections import defaultdict

from django.utils.translation import gettext_lazy as _

from ..base import MEASURES, UNIT_TYPE_LABELS, Params, Report, register, type_sort_key
from ..facts import Totals, sales_by_step
from ..periods import Step
from ..results import Chart, Column, Figure, Result, Series, Table

MEASURE_KINDS = {"count": "int", "area": "area", "amount": "money"}
SERIES_UP_TO_STEPS = 16  # beyond this many steps the chart shows all types as one series


def _step_columns() -> list[Column]:
    return [
        Column("step", _("Period")),
        Column("count", _("Units"), "int"),
        Column("area", _("m²"), "area"),
        Column("amount", _("Sum, ₽"), "money"),
        Column("per_m2", _("Average ₽/m²"), "price_m2"),
    ]


@register
class SalesStatistics(Report):
    key = "sales"
    title = _("Sales statistics")
    description = _(
        "Units whose status changed to sold inside the period: count, m² and sum, by step "
        "and by unit type."
    )
    fields = ("period", "step", "measure", "project", "building", "section", "unit_type", "manager")

    def run(self, params: Params) -> Result:
        period = params.period
        by_step: dict = defaultdict(Totals)
        by_type: dict = defaultdict(Totals)
        total = Totals()
        by_step_type = sales_by_step(params)  # summed by the database
        for (start, kind), totals in by_step_type.items():
            by_step[start].merge(totals)
            by_type[kind].merge(totals)
            total.merge(totals)
        steps = period.steps()
        types = sorted(by_type, key=type_sort_key)
        rows = [{"step": period.label(s), **by_step.get(s, Totals()).row()} for s in steps]
        step_table = Table(
            "by_step",
            _("Sales by period"),
            _step_columns(),
            rows,
            total={"step": _("Total"), **total.row()},
        )
        type_table = Table(
            "by_type",
            _("Sales by unit type"),
            [Column("type", _("Unit type")), *_step_columns()[1:]],
            [{"type": UNIT_TYPE_LABELS[t], **by_type[t].row()} for t in types],
            total={"type": _("Total"), **total.row()},
            empty=_("No unit changed its status to sold in this period."),
        )
        measure = params.measure if params.measure in MEASURE_KINDS else "count"
        measure_label = dict(MEASURES)[measure]
        if types and len(steps) <= SERIES_UP_TO_STEPS:
            series = [
                Series(
                    str(UNIT_TYPE_LABELS[t]),
                    [getattr(by_step_type.get((s, t), Totals()), measure) for s in steps],
                )
                for t in types
            ]
        else:  # one bar per step: a bar per type would be too thin to read
            series = [
                Series(
                    str(_("All units")), [getattr(by_step.get(s, Totals()), measure) for s in steps]
                )
            ]
        chart = Chart(
            "by_step",
            measure_label,
            [period.label(s) for s in steps],
            series,
            value_kind=MEASURE_KINDS[measure],
        )
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Units sold"), total.count),
                Figure(_("Square metres sold"), total.area, "area"),
                Figure(_("Sales, ₽"), total.amount, "money"),
                Figure(_("Average price per m²"), total.per_m2, "price_m2"),
            ],
            tables=[step_table, type_table],
            charts=[chart],
        )


@register
class AveragePrice(Report):
    key = "price-m2"
    title = _("Average price per m²")
    description = _(
        "How the average price of a sold square metre moved, overall and by unit type: the "
        "deal price and the list price, each Σ price ÷ Σ area."
    )
    steps = (Step.WEEK, Step.MONTH, Step.QUARTER, Step.HALF, Step.YEAR)
    fields = ("period", "step", "project", "building", "section", "unit_type", "manager")

    def run(self, params: Params) -> Result:
        period = params.period
        overall: dict = defaultdict(Totals)
        types_total: dict = defaultdict(Totals)
        total = Totals()
        by_type = sales_by_step(params)  # summed by the database
        for (start, kind), totals in by_type.items():
            overall[start].merge(totals)
            types_total[kind].merge(totals)
            total.merge(totals)
        steps = period.steps()
        types = sorted(types_total, key=type_sort_key)
        columns = [
            Column("step", _("Period")),
            Column("count", _("Units"), "int"),
            Column("per_m2", _("Deal ₽/m²"), "price_m2"),
            Column("list_per_m2", _("List ₽/m²"), "price_m2"),
            *[Column(f"type_{t}", UNIT_TYPE_LABELS[t], "price_m2") for t in types],
        ]

        def row(label, totals: Totals, typed) -> dict:
            return {
                "step": label,
                "count": totals.count,
                "per_m2": totals.per_m2,
                "list_per_m2": totals.list_per_m2,
                **{f"type_{t}": typed(t).per_m2 for t in types},
            }

        rows = [
            row(
                period.label(s),
                overall.get(s, Totals()),
                lambda t, s=s: by_type.get((s, t), Totals()),
            )
            for s in steps
        ]
        table = Table(
            "by_step",
            _("Average price per m² by period"),
            columns,
            rows,
            total=row(_("Whole period"), total, lambda t: types_total[t]),
            empty=_("No sales in this period."),
        )
        labels = [period.label(s) for s in steps]
        chart = Chart(
            "per_m2",
            _("Average deal price per m²"),
            labels,
            [Series(str(_("All units")), [r["per_m2"] for r in rows])]
            + [Series(str(UNIT_TYPE_LABELS[t]), [r[f"type_{t}"] for r in rows]) for t in types],
            kind="line",
            value_kind="price_m2",
        )
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Average deal price per m²"), total.per_m2, "price_m2"),
                Figure(_("Average list price per m²"), total.list_per_m2, "price_m2"),
                Figure(_("Units sold"), total.count),
            ],
            tables=[table],
            charts=[chart],
        )
