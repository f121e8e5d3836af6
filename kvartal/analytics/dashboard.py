"""The director's dashboard: the key figures and charts of the current month and year, each
block the figures of a report the user may see, computed the same way as the report."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.cache import cache
from django.db import connection
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kvartal.clients.models import Lead, LeadEvent, Visit
from kvartal.inventory.models import PriceChange, StatusChange, UnitChange
from kvartal.sales.models import DealEvent, HoldEvent, Payment, PaymentLine, Promotion

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
    computed_at: datetime | None = None


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


# Blocks added by higher apps (a report of their own, registered with ``base.register``),
# with the models whose new rows change their figures: analytics never imports them.
EXTRA_BLOCKS: list[tuple] = []
EXTRA_VERSIONED: list = []


def register_block(report_key: str, title, span: str, step: str, charts: bool, *, versioned=()):
    """Add a block to the dashboard from a higher app's ``AppConfig.ready()``: the figures
    (and the first chart) of its report ``report_key`` over the ``span`` ("month" | "year");
    ``versioned`` models' new rows make the cached dashboard compute again."""
    entry = (report_key, title, span, step, charts)
    if entry not in EXTRA_BLOCKS:
        EXTRA_BLOCKS.append(entry)
    EXTRA_VERSIONED.extend(m for m in versioned if m not in EXTRA_VERSIONED)


def dashboard_blocks(user, today: date | None = None) -> list[Block]:
    today = today or local_today()
    starts = {"month": today.replace(day=1), "year": date(today.year, 1, 1)}
    reports = {r.key: r for r in visible_reports(user)}
    blocks = []
    for key, title, span, step, charts in [*BLOCKS, *EXTRA_BLOCKS]:
        report = reports.get(key)
        if report is None:
            continue
        steps = report.steps or (step,)
        step = step if step in steps else steps[0]
        start = starts[span]
        result = report.result(Params.of(start, today, step).for_viewer(user))
        query = f"date_from={start.isoformat()}&date_to={today.isoformat()}&step={step}"
        blocks.append(
            Block(
                title=str(title),
                report_key=key,
                query=query,
                figures=result.figures,
                charts=result.charts[:1] if charts else [],
                computed_at=result.computed_at,
            )
        )
    return blocks


# Every table whose new rows change a figure of the dashboard: the newest id of each is the
# data's version. Rows that change in place without a history row do not exist for these
# figures (holds, deals, leads and units all write an event or history row when they move).
VERSIONED = (
    StatusChange, PriceChange, UnitChange, HoldEvent, DealEvent, Payment, PaymentLine,
    Lead, LeadEvent, Visit, Promotion,
)  # fmt: skip
CACHE_SECONDS = 300  # time alone moves some figures (holds ending soon): recomputed this often


def data_version() -> tuple:
    """The newest id of every table the figures come from, in one query."""
    quote = connection.ops.quote_name
    models = [*VERSIONED, *EXTRA_VERSIONED]
    parts = ", ".join(f"(SELECT MAX(id) FROM {quote(m._meta.db_table)})" for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {parts}")
        return tuple(cursor.fetchone())


def cached_blocks(user) -> list[Block]:
    """The blocks, computed again only when the data changed, the day or the language did,
    or after ``CACHE_SECONDS``: seven reports take a second or two on a national developer's
    data, and the dashboard is opened often."""
    keys = ",".join(r.key for r in visible_reports(user))
    team = Params.of(local_today(), local_today()).for_viewer(user).team
    team = "all" if team is None else ",".join(map(str, sorted(team)))
    state = f"{keys}|{team}|{local_today()}|{get_language()}|{data_version()}"
    key = "kvartal:dashboard:" + hashlib.sha256(state.encode()).hexdigest()
    return cache.get_or_set(key, lambda: dashboard_blocks(user), CACHE_SECONDS)
