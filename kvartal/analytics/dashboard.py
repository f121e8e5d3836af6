"""The director's dashboard: the key figures and charts of the current month and year, each
block the figures of a report the user may see, computed the same way as the report."""

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext_lazy as _

from .access import visible_reports
from .base import Params
from .periods import Step, local_today
from .results import Chart, Figure


@dataclass
class Block:
    title: str
    report_key: str
    query: str
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


# (report, title, period: "month" | "year", step, with charts)
BLOCKS = [
    ("sales", _("Sales this month"), "month", Step.DAY, False),
    ("sales", _("Sales this year"), "year", Step.MONTH, True),
    ("price-m2", _("Price per m² this year"), "year", Step.MONTH, True),
    ("holds", _("Holds this month"), "month", Step.WEEK, False),
    ("collections", _("Money this month"), "month", Step.WEEK, False),
    ("stock", _("Unsold units"), "year", Step.MONTH, False),
    ("funnel", _("Funnel this year"), "year", Step.MONTH, True),
]


def dashboard_blocks(user, today: date | None = None) -> list[Block]:
    today = today or local_today()
    starts = {"month": today.replace(day=1), "year": date(today.year, 1, 1)}
    reports = {r.key: r for r in visible_reports(user)}
    blocks = []
    for key, title, span, step, charts in BLOCKS:
        report = reports.get(key)
        if report is None:
            continue
        steps = report.steps or (step,)
        step = step if step in steps else steps[0]
        start = starts[span]
        result = report.result(Params.of(start, today, step))
        query = f"date_from={start.isoformat()}&date_to={today.isoformat()}&step={step}"
        blocks.append(
            Block(
                title=str(title),
                report_key=key,
                query=query,
                figures=result.figures,
                charts=result.charts[:1] if charts else [],
            )
        )
    return blocks
