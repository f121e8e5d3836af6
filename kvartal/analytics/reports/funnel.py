"""Sales office: the lead funnel — lead → visit → hold → deal → paid in full — as a cohort.

The cohort is the leads received in the period (domain notes §3: conversions over a cohort by
lead date, not by calendar). Each lead is followed through its client (``Lead.client``, set
when the lead is converted or attached to a known client; a lead without a client stays at
"lead"): did that client, at or after the moment the lead came, visit the sales office, hold
a unit, open a deal (as one of its buyers), and pay a deal in full (the payments received
cover the price plus the BTI recalculation — ``PaymentState.paid_in_full`` in
``sales.selectors``)? Everything that happened up to now counts, so the last steps of a
recent cohort are still filling.

A lead *reached* a stage when it had that stage or any later one: a client who took a unit
without coming to the office has still passed the "visit" stage of the funnel, so the counts
never grow down the funnel and no conversion exceeds 100 %. The "without this step" column
says how many went past a stage that way.

One query, set-based (``lead_marks``): the client's last visit, hold, deal and paid deal since
the period began are aggregated once per client (``GROUP BY``) and joined to the cohort; the
result is grouped by the lead's local day and the four yes/no marks (at most days × 16 rows).
A correlated ``EXISTS`` per lead and stage reads the same, but costs four index probes per
lead and wakes PostgreSQL's JIT compiler: seconds on a year of leads instead of a fraction.
"""

from dataclasses import dataclass, field

from django.db import connections
from django.db.models import Count, F, Max, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kvartal.clients.models import Lead, Visit
from kvartal.inventory.models import UnitStatus
from kvartal.sales.models import DealBuyer, DealEvent, Hold, Payment

from ..base import Params, Report, register
from ..facts import percent
from ..periods import as_local_date
from ..results import Chart, Column, Figure, Result, Series, Table

STAGES = ("lead", "visit", "hold", "deal", "paid")
STAGE_LABELS = {
    "lead": pgettext_lazy("funnel stage", "Lead"),
    "visit": pgettext_lazy("funnel stage", "Visit to the office"),
    "hold": pgettext_lazy("funnel stage", "Hold"),
    "deal": pgettext_lazy("funnel stage", "Deal"),
    "paid": pgettext_lazy("funnel stage", "Paid in full"),
}


def cohort(params: Params) -> QuerySet[Lead]:
    """The leads received in the period (of the chosen manager)."""
    period = params.period
    leads = Lead.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
    leads = leads.filter(params.manager_q())
    return leads


def lead_marks(params: Params, leads: QuerySet[Lead] | None = None, **columns):
    """SQL and parameters of a derived table with one row per lead of ``leads`` (default:
    the cohort): the lead's ``columns`` (expressions, by name) and the marks ``visit``,
    ``hold``, ``deal``, ``paid`` (a deal paid in full) and ``sold`` (a deal that reached a
    stage where the unit is sold), each 1 when the lead's client did so at or after the
    moment the lead came, else 0. Holds and deals are those on units under the unit filters.

    Set-based: the client's last visit, hold and deal (and last paid and sold deal) are
    aggregated once per client (``GROUP BY``) and joined to the leads; a lead has a mark when
    the client's last such event is not earlier than the lead.
    """
    leads = cohort(params) if leads is None else leads
    # Only what happened since the period began can follow a lead of the period.
    since = params.period.since
    base = leads.values(lead_at=F("created_at"), cid=F("client_id"), **columns).order_by()
    visits = (
        Visit.objects.filter(at__gte=since)
        .values(cid=F("client_id"))
        .annotate(last_at=Max("at"))
        .order_by()
    )
    holds = (
        Hold.objects.filter(params.unit_q(), starts_at__gte=since)
        .values(cid=F("client_id"))
        .annotate(last_at=Max("starts_at"))
        .order_by()
    )
    buyers = DealBuyer.objects.filter(params.unit_q("deal__unit__"), deal__created_at__gte=since)
    deals = buyers.values(
        cid=F("client_id"),
        did=F("deal_id"),
        opened=F("deal__created_at"),
        due=F("deal__price") + F("deal__bti_adjustment"),
    ).order_by()
    received = (
        Payment.objects.filter(deal__created_at__gte=since)
        .values(did=F("deal_id"))
        .annotate(got=Sum("amount"))
        .order_by()
    )
    sold = (
        DealEvent.objects.filter(deal__created_at__gte=since, to_stage__unit_status=UnitStatus.SOLD)
        .values(did=F("deal_id"))
        .annotate(n=Count("pk"))
        .order_by()
    )
    parts = [q.query.sql_with_params() for q in (base, visits, holds, deals, received, sold)]
    (base_sql, visits_sql, holds_sql, deals_sql, received_sql, sold_sql) = (p[0] for p in parts)
    per_client = (
        'SELECT r."cid", MAX(r."opened") AS "deal_at", '
        'MAX(CASE WHEN p."got" >= r."due" THEN r."opened" END) AS "paid_at", '
        'MAX(CASE WHEN s."did" IS NOT NULL THEN r."opened" END) AS "sold_at" '
        f'FROM ({deals_sql}) r LEFT JOIN ({received_sql}) p ON p."did" = r."did" '
        f'LEFT JOIN ({sold_sql}) s ON s."did" = r."did" GROUP BY r."cid"'
    )

    def mark(moment: str, name: str) -> str:
        return f'CASE WHEN {moment} >= c."lead_at" THEN 1 ELSE 0 END AS "{name}"'

    sql = (
        "SELECT "
        + ", ".join(
            [
                *(f'c."{name}"' for name in columns),
                mark('v."last_at"', "visit"),
                mark('h."last_at"', "hold"),
                mark('d."deal_at"', "deal"),
                mark('d."paid_at"', "paid"),
                mark('d."sold_at"', "sold"),
            ]
        )
        + f' FROM ({base_sql}) c LEFT JOIN ({visits_sql}) v ON v."cid" = c."cid" '
        f'LEFT JOIN ({holds_sql}) h ON h."cid" = c."cid" '
        f'LEFT JOIN ({per_client}) d ON d."cid" = c."cid"'
    )
    return sql, [value for _sql, values in parts for value in values]


def fetch(leads: QuerySet, sql: str, params: list) -> list[tuple]:
    """Run composed SQL on the database ``leads`` reads from."""
    with connections[leads.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass
class Reach:
    """How many leads reached each stage (``reached``), and of them how many skipped the
    stage's own event on the way to a later one (``skipped``)."""

    reached: dict = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    skipped: dict = field(default_factory=lambda: dict.fromkeys(STAGES, 0))

    def add(self, n: int, visit: bool, hold: bool, deal: bool, paid: bool) -> None:
        deal = deal or paid  # a paid deal is a deal
        own = {"lead": True, "visit": visit, "hold": hold, "deal": deal, "paid": paid}
        further = False
        for stage in reversed(STAGES):
            if own[stage] or further:
                self.reached[stage] += n
                if not own[stage]:
                    self.skipped[stage] += n
                further = True

    def merge(self, other: "Reach") -> None:
        for stage in STAGES:
            self.reached[stage] += other.reached[stage]
            self.skipped[stage] += other.skipped[stage]


def _reach_by_day(params: Params) -> dict:
    """``{local day: Reach}`` over the cohort, in one query."""
    leads = cohort(params)
    marks, values = lead_marks(
        params, leads, day=TruncDate("created_at", tzinfo=timezone.get_current_timezone())
    )
    sql = (
        'SELECT m."day", m."visit", m."hold", m."deal", m."paid", COUNT(*) '
        f'FROM ({marks}) m GROUP BY m."day", m."visit", m."hold", m."deal", m."paid"'
    )
    by_day: dict = {}
    for day, visit, hold, deal, paid, n in fetch(leads, sql, values):
        by_day.setdefault(as_local_date(day), Reach()).add(n, visit, hold, deal, paid)
    return by_day


@register
class Funnel(Report):
    key = "funnel"
    title = _("Lead funnel")
    description = _(
        "The leads received in the period followed through their clients: how many came to "
        "the office, held a unit, opened a deal and paid it in full, with the conversion "
        "from stage to stage."
    )
    group = "office"
    fields = ("period", "step", "project", "manager")

    def run(self, params: Params) -> Result:
        period = params.period
        by_step: dict = {}
        total = Reach()
        for day, reach in _reach_by_day(params).items():
            by_step.setdefault(period.bucket(day), Reach()).merge(reach)
            total.merge(reach)
        reached, leads = total.reached, total.reached["lead"]
        rows = []
        for i, stage in enumerate(STAGES):
            previous = reached[STAGES[i - 1]] if i else None
            rows.append(
                {
                    "stage": STAGE_LABELS[stage],
                    "count": reached[stage],
                    "from_previous": percent(reached[stage], previous) if i else None,
                    "from_leads": percent(reached[stage], leads),
                    "skipped": total.skipped[stage] if 0 < i < len(STAGES) - 1 else None,
                }
            )
        stages = Table(
            "stages",
            _("Funnel stages"),
            [
                Column("stage", _("Stage")),
                Column("count", _("Leads"), "int"),
                Column("from_previous", _("From the previous stage"), "percent"),
                Column("from_leads", _("From the leads"), "percent"),
                Column("skipped", _("Of them, without this step"), "int"),
            ],
            rows if leads else [],
            empty=_("No leads were received in this period."),
        )
        step_rows = []
        for start in period.steps():
            step = by_step.get(start, Reach()).reached
            step_rows.append(self._step_row(period.label(start), step))
        steps = Table(
            "by_step",
            _("Cohorts by the date of the lead"),
            [
                Column("step", _("Leads received")),
                *[Column(s, STAGE_LABELS[s], "int") for s in STAGES],
                Column("conversion", _("Lead → deal"), "percent"),
            ],
            step_rows,
            total=self._step_row(_("Total"), reached),
            empty=_("No leads were received in this period."),
        )
        chart = Chart(
            "stages",
            _("Leads reaching each stage"),
            [str(r["stage"]) for r in stages.rows],
            [Series(str(_("Leads")), [r["count"] for r in stages.rows])],
            kind="bar",
        )
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Leads received"), leads),
                Figure(_("Reached a deal"), reached["deal"]),
                Figure(_("Lead → deal"), percent(reached["deal"], leads), "percent"),
                Figure(_("Paid in full"), reached["paid"]),
            ],
            tables=[stages, steps],
            charts=[chart] if leads else [],
            notes=[
                _(
                    "A cohort: the leads received in the period, each followed through its "
                    "client to today. A lead without a client (not converted) stays at the "
                    "first stage; visits, holds and deals count from the moment the lead came."
                ),
                _(
                    "A lead reached a stage when it had that stage or a later one (a deal "
                    "without a hold still passed the hold stage); “without this step” counts "
                    "those."
                ),
                _(
                    "Paid in full: the payments received on a deal cover its price plus the "
                    "BTI recalculation."
                ),
                _(
                    "The project filter applies to the units of holds and deals; leads and "
                    "visits are counted whatever unit they were about."
                ),
            ],
        )

    @staticmethod
    def _step_row(label, reached: dict) -> dict:
        return {
            "step": label,
            **{s: reached[s] for s in STAGES},
            "conversion": percent(reached["deal"], reached["lead"]),
        }
