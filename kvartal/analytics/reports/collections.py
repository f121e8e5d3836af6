"""Sales office: collections — the money the payment schedules plan against the money
received, what is overdue at the end of every step, and the deals overdue today."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connections
from django.db.models import DateField, Exists, F, OuterRef, Q, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kvartal.accounts.models import short_name
from kvartal.core.money import kopecks_sql
from kvartal.inventory.models import UnitKind
from kvartal.sales.models import Deal, Payment, PaymentLine

from ..base import Params, Report, register
from ..facts import as_decimal, percent
from ..periods import as_local_date, local_today, next_step
from ..results import Chart, Column, Figure, Result, Series, Table

ZERO = Decimal(0)
MAX_OVERDUE_ROWS = 500
TITLE = _("Collections")


def deal_q(params: Params, prefix: str = "deal__") -> Q:
    """The unit filters and the manager on a path to ``Deal``."""
    q = params.unit_q(f"{prefix}unit__")
    q &= params.manager_q(f"{prefix}manager")
    return q


def planned_by_day(params: Params) -> dict[date, Decimal]:
    """Σ of the planned payments due on each day of the period (one GROUP BY query). A
    terminated deal's lines due after the day it was terminated are no longer planned."""
    period = params.period
    # the lines of the deals terminated before their due date: an anti-join with the few
    # terminated deals, not a join with every deal
    closed_on = TruncDate("closed_at", tzinfo=timezone.get_current_timezone())
    dropped = Deal.objects.filter(pk=OuterRef("deal_id"), closed_at__isnull=False).filter(
        Q(GreaterThan(OuterRef("due_date"), closed_on))
    )
    lines = (
        PaymentLine.objects.filter(deal_q(params), due_date__range=(period.start, period.end))
        .filter(~Exists(dropped))
        .values_list("due_date")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    return dict(lines)


def received_by_day(params: Params) -> dict[date, Decimal]:
    """Σ of the payments received on each day of the period, refunds negative (one query)."""
    period = params.period
    payments = (
        Payment.objects.filter(deal_q(params), received_on__range=(period.start, period.end))
        .values_list("received_on")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    return dict(payments)


@dataclass
class Overdue:
    at: list[Decimal]  # Σ overdue at the end of each day asked for
    today: Decimal  # Σ overdue today
    count: int  # deals overdue today
    # those deals as (id, overdue amount), largest debt first, at most MAX_OVERDUE_ROWS
    largest: list[tuple[int, Decimal]]


def overdue(params: Params, days: list[date], today: date) -> Overdue:
    """What was overdue at the end of each of ``days`` (all before ``today``) and what is
    overdue today, by the rule of ``deals_with_money_due`` — for each deal, the payments
    planned up to the day less the money received up to it, when positive — over the deals
    not terminated by then. Today counts the lines due before ``today`` and the money received
    up to it (the selector also counts money dated later: there is none, unless the report
    is read as of a past day).

    One statement, whatever the number of deals and of days. Each deal's balance (planned
    minus received) is a running sum over its lines and payments in date order; a positive
    balance is owed from its date until the deal's next line or payment, or its termination.
    The statement returns, per date, how much owed money starts and stops there (and how many
    deals), and the deals owing today with their balance, largest first (a deal terminated
    after ``today`` still owes on it, as the count says); the sums at each day are added up
    here.
    The ORM writes the grouped lines, payments and terminations (filters, parameters, each
    backend's SQL); the SQL written here only combines them.
    """
    lines = (
        PaymentLine.objects.filter(deal_q(params), due_date__lt=today)
        .values("deal_id", dated=F("due_date"))
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    paid = (
        Payment.objects.filter(deal_q(params), received_on__lte=today)
        .values("deal_id", dated=F("received_on"))
        .annotate(amount=-Sum("amount"))
        .order_by()
    )
    closed = Deal.objects.filter(deal_q(params, prefix=""), closed_at__isnull=False).values(
        "id", closed_on=TruncDate("closed_at", tzinfo=timezone.get_current_timezone())
    )
    connection = connections[lines.db]
    moves_sql, moves_params = lines.union(paid, all=True).query.sql_with_params()
    closed_sql, closed_params = closed.query.sql_with_params()
    # a balance runs from its date to the next date of the deal or its termination day
    stop = (
        "CASE WHEN c.closed_on IS NOT NULL AND (b.next_on IS NULL OR c.closed_on < b.next_on) "
        "THEN c.closed_on ELSE b.next_on END"
    )
    sql = f"""
        WITH b AS (
            SELECT m.deal_id, m.dated,
                {kopecks_sql("SUM(m.amount) OVER (PARTITION BY m.deal_id ORDER BY m.dated)")}
                    AS balance,
                LEAD(m.dated) OVER (PARTITION BY m.deal_id ORDER BY m.dated) AS next_on
            FROM ({moves_sql}) m
        ), owed AS (
            SELECT b.deal_id, b.dated AS start, {stop} AS stop, b.balance
            FROM b LEFT JOIN ({closed_sql}) c ON c.id = b.deal_id
            WHERE b.balance > 0
        )
        SELECT 0, o.start, SUM(o.balance), COUNT(*) FROM owed o
            WHERE o.stop IS NULL OR o.start < o.stop GROUP BY o.start
        UNION ALL
        SELECT 0, o.stop, -SUM(o.balance), -COUNT(*) FROM owed o
            WHERE o.start < o.stop GROUP BY o.stop
        UNION ALL
        SELECT * FROM (
            SELECT o.deal_id, o.start, o.balance, 0 FROM owed o
            WHERE o.stop IS NULL OR o.stop > %s
            ORDER BY o.balance DESC, o.deal_id LIMIT %s
        ) t
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*moves_params, *closed_params, today, MAX_OVERDUE_ROWS])
        rows = cursor.fetchall()
    changes: dict[date, list] = defaultdict(lambda: [ZERO, 0])
    largest = []
    for deal_id, on, amount, count in rows:
        if deal_id:
            largest.append((deal_id, as_decimal(amount)))
            continue
        change = changes[as_local_date(on)]
        change[0] += as_decimal(amount)
        change[1] += count
    owed, owing, at = ZERO, 0, {}
    wanted = sorted({*days, today})
    moments = sorted(changes)
    i = 0
    for day in wanted:  # running sums of the changes up to the end of each day asked for
        while i < len(moments) and moments[i] <= day:
            owed += changes[moments[i]][0]
            owing += changes[moments[i]][1]
            i += 1
        at[day] = (owed, owing)
    return Overdue(
        at=[at[day][0] for day in days],
        today=at[today][0],
        count=at[today][1],
        largest=largest,
    )


def oldest_overdue(today: date) -> RawSQL:
    """An annotation of ``Deal``: the due date of its oldest overdue line (None without one),
    by the rule of ``sales.selectors.payment_states`` (``allocate``) computed in the
    database, not by building the lines in Python. A payment tied to a line pays that line
    up to its amount (a negative line counts as settled and takes nothing); the rest of the
    money — the excess, and the payments tied to no line of the deal — is a pool covering
    the lines with a gap in schedule order, so a line with a gap stays unpaid when the gaps up
    to it (inclusive) exceed the pool. Overdue: unpaid and due before ``today`` (the lines
    due later come later in the order, so they change nothing before it). Every sum compared
    is rounded to the kopeck (SQLite adds REAL)."""
    connection = connections[PaymentLine.objects.db]
    quote = connection.ops.quote_name
    lines, payments = quote(PaymentLine._meta.db_table), quote(Payment._meta.db_table)
    deal = f"{quote(Deal._meta.db_table)}.{quote(Deal._meta.pk.column)}"
    amount = kopecks_sql("pl.amount")
    tied = (  # the money tied to each line of the deal
        f"SELECT line_id, {kopecks_sql('SUM(amount)')} AS amount FROM {payments} "
        f"WHERE deal_id = {deal} AND line_id IS NOT NULL GROUP BY line_id"
    )
    gap = (
        f"CASE WHEN {amount} > 0 AND COALESCE(t.amount, 0) < {amount} "
        "THEN pl.amount - COALESCE(t.amount, 0) ELSE 0 END"
    )
    gaps = kopecks_sql(f"SUM({gap}) OVER (ORDER BY pl.due_date, pl.id)")
    # all the money of the deal less what its lines took directly
    pool = kopecks_sql(
        f"COALESCE((SELECT SUM(amount) FROM {payments} WHERE deal_id = {deal}), 0) - "
        f"COALESCE((SELECT SUM(CASE WHEN {amount} <= 0 OR t.amount <= 0 THEN 0 "
        f"WHEN t.amount >= {amount} THEN pl.amount ELSE t.amount END) "
        f"FROM ({tied}) t JOIN {lines} pl ON pl.id = t.line_id AND pl.deal_id = {deal}), 0)"
    )
    sql = f"""(
        SELECT MIN(c.due_date) FROM (
            SELECT pl.due_date, {gap} AS gap, {gaps} AS gaps
            FROM {lines} pl LEFT JOIN ({tied}) t ON t.line_id = pl.id
            WHERE pl.deal_id = {deal} AND pl.due_date < %s
        ) c
        WHERE c.gap > 0 AND c.gaps > {pool}
    )"""
    return RawSQL(sql, [today], output_field=DateField())


def overdue_since(deal_ids: list[int], today: date) -> dict[int, date]:
    """``{deal id: the due date of its oldest overdue line}`` for the deals that have one
    (``oldest_overdue``), in one query."""
    found = Deal.objects.filter(pk__in=deal_ids).annotate(since=oldest_overdue(today))
    return {pk: since for pk, since in found.values_list("pk", "since") if since}


def overdue_deals(largest: list[tuple[int, Decimal]], today: date) -> list[dict]:
    """The rows of the deals overdue today, in the order of ``largest`` (``Overdue.largest``:
    each deal with its overdue amount, the balance ``deals_with_money_due`` gives the cashier)
    with the oldest unpaid due date (``oldest_overdue``). One query for at most
    ``MAX_OVERDUE_ROWS`` deals, none without deals."""
    if not largest:
        return []
    amounts = dict(largest)
    found = {
        row[0]: row[1:]
        for row in Deal.objects.filter(pk__in=amounts)
        .annotate(since=oldest_overdue(today))
        .values_list(
            "pk",
            "number",
            "unit__kind",
            "unit__number",
            "unit__building__project__name",
            "unit__building__name",
            "manager__last_name",
            "manager__first_name",
            "manager__username",
            "since",
        )
    }
    kinds = {kind: str(kind.label) for kind in UnitKind}
    rows = []
    for pk, amount in largest:
        number, kind, unit, project, building, last, first, username, since = found[pk]
        since = as_local_date(since) if since else None
        rows.append(
            {
                "number": number,
                "unit": f"{kinds[kind]} {unit}",
                "building": f"{project}, {building}",
                "manager": short_name(last, first, username),
                "overdue": amount,
                "since": since,
                "days": (today - since).days if since else None,
            }
        )
    return rows


def collections(params: Params, *, today: date | None = None) -> Result:
    """The report as of ``today`` (the local date by default): steps ending before it show
    what was overdue at their end, the step containing it what is overdue today, later steps
    nothing yet."""
    today = today or local_today()
    period = params.period
    planned_days, received_days = planned_by_day(params), received_by_day(params)
    planned, received = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for day, amount in planned_days.items():
        planned[period.bucket(day)] += amount
    for day, amount in received_days.items():
        received[period.bucket(day)] += amount
    steps = period.steps()
    ends, past, current = [], [], None
    for start in steps:
        end = min(next_step(start, period.step) - timedelta(days=1), period.end)
        if end < today:  # everything due up to its last day counts
            ends.append(end)
            past.append(start)
        elif start <= today:
            current = start
    owing = overdue(params, ends, today)
    overdue_by_step = dict(zip(past, owing.at, strict=True))
    if current is not None:
        overdue_by_step[current] = owing.today
    rows = [
        {
            "step": period.label(s),
            "planned": planned[s],
            "received": received[s],
            "received_pct": percent(received[s], planned[s]),
            "overdue": overdue_by_step.get(s),
        }
        for s in steps
    ]
    planned_total = sum(planned.values(), ZERO)
    received_total = sum(received.values(), ZERO)
    by_step = Table(
        "by_step",
        _("Planned, received and overdue by period"),
        [
            Column("step", _("Period")),
            Column("planned", _("Planned, ₽"), "money"),
            Column("received", _("Received, ₽"), "money"),
            Column("received_pct", _("Received of planned, %"), "percent"),
            Column("overdue", _("Overdue at the end, ₽"), "money"),
        ],
        rows,
        total={
            "step": _("Total"),
            "planned": planned_total,
            "received": received_total,
            "received_pct": percent(received_total, planned_total),
        },
        empty=_("Nothing was planned or received in this period."),
    )
    chart = Chart(
        "by_step",
        _("Planned, received and overdue"),
        [r["step"] for r in rows],
        [
            Series(str(_("Planned payments")), [r["planned"] for r in rows]),
            Series(str(_("Money received")), [r["received"] for r in rows]),
            Series(str(_("Overdue at the end")), [r["overdue"] for r in rows]),
        ],
        kind="bar",
        value_kind="money",
    )
    deal_rows = overdue_deals(owing.largest, today)
    deals_table = Table(
        "overdue_deals",
        _("Deals overdue today"),
        [
            Column("number", _("Deal")),
            Column("unit", _("Unit")),
            Column("building", _("Building")),
            Column("manager", _("Manager")),
            Column("overdue", _("Overdue, ₽"), "money"),
            Column("since", _("Oldest unpaid payment due"), "date"),
            Column("days", _("Days overdue"), "int"),
        ],
        deal_rows,
        total={
            "number": ngettext("%(n)s deal", "%(n)s deals", owing.count) % {"n": owing.count},
            "overdue": owing.today,
        },
        empty=_("No deal has an overdue payment today."),
    )
    notes = [
        str(
            _(
                "Overdue at the end of a period: for every deal not terminated by then, the "
                "payments planned up to that day less the money received up to it, when "
                "positive. The current period shows what is overdue today; later ones are "
                "blank."
            )
        )
    ]
    if owing.count > len(deal_rows):
        notes.append(
            str(_("The %(shown)s largest of %(n)s overdue deals are listed."))
            % {"shown": len(deal_rows), "n": owing.count}
        )
    return Result(
        title=str(TITLE),
        figures=[
            Figure(_("Planned payments"), planned_total, "money"),
            Figure(_("Money received"), received_total, "money"),
            Figure(_("Received of planned"), percent(received_total, planned_total), "percent"),
            Figure(_("Overdue today"), owing.today, "money"),
            Figure(_("Deals overdue today"), owing.count),
        ],
        tables=[by_step, deals_table],
        charts=[chart],
        notes=notes,
    )


@register
class Collections(Report):
    key = "collections"
    title = TITLE
    description = _(
        "Money the payment schedules plan against money received, by period; what is "
        "overdue at the end of each period; the deals overdue today."
    )
    group = "office"
    fields = ("period", "step", "project", "building", "section", "unit_type", "manager")

    def run(self, params: Params) -> Result:
        return collections(params)
