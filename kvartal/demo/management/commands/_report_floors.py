"""The floors of ``bench_reports``: each report's figures from one hand-written SQL statement,
company-wide (no filters), for the same period and step. What the report must cost at least;
the benchmark checks that a floor gives the report's own figures before timing it.

- ``sales_floor``: the sales statistics (count, m², sum by step and by unit type): the sold
  status changes of the period, each with the latest deal unit it was in at that moment (the
  same rule as ``analytics.facts.sales``), grouped by local month, kind and rooms.
- ``collections_floor``: planned and received by step, what was overdue at the end of each
  past step and today, and how many deals are overdue today (the rule of
  ``analytics.reports.collections.overdue``: per deal, the running balance of its lines due
  before today and its payments, owed from its date to its next move or its termination).
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from kvartal.analytics.base import Params, unit_type
from kvartal.analytics.facts import as_decimal
from kvartal.analytics.periods import next_step
from kvartal.core.money import kopecks_sql

ZERO = Decimal(0)


def _day(value) -> date:
    """A date from the cursor: ``date``/``datetime`` (PostgreSQL) or text (SQLite)."""
    if isinstance(value, date):
        return value if type(value) is date else value.date()
    return date.fromisoformat(str(value)[:10])


def _local(sql: str) -> str:
    """``sql`` (a UTC timestamp column) as the local date, in this backend's SQL."""
    tz = timezone.get_current_timezone_name()
    if connection.vendor == "postgresql":
        return f"CAST({sql} AT TIME ZONE '{tz}' AS date)"
    # the function Django registers on its SQLite connections for the same conversion
    return f"django_datetime_cast_date({sql}, '{tz}', 'UTC')"


def _month(sql: str, *, local: bool) -> str:
    """The first day of the month of ``sql`` (a date; a UTC timestamp taken as its local date
    if ``local``)."""
    day = _local(sql) if local else sql
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {day}) AS date)"
    return f"strftime('%%Y-%%m-01', {day})"


def _date() -> str:
    """A date parameter (typed on PostgreSQL; SQLite keeps dates as ISO text)."""
    return "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"


SALES_SQL = """
SELECT {month} AS m, s.kind, s.rooms, COUNT(*), SUM(s.area), SUM(s.price)
FROM (
    SELECT u.kind, u.rooms, COALESCE(du.area, u.total_area) AS area,
        COALESCE(du.price, sc.price) AS price, sc.at,
        ROW_NUMBER() OVER (PARTITION BY sc.id ORDER BY du.added_at DESC, du.id DESC) AS rn
    FROM inventory_statuschange sc
    JOIN inventory_unit u ON u.id = sc.unit_id
    LEFT JOIN sales_dealunit du ON du.unit_id = sc.unit_id AND du.added_at <= sc.at
        AND (du.removed_at IS NULL OR du.removed_at > sc.at)
    WHERE sc.new_status = 'sold' AND sc.at >= %s AND sc.at < %s
) s
WHERE s.rn = 1
GROUP BY 1, 2, 3
"""


def sales_floor(params: Params) -> dict:
    """``{"by_step": {month: (count, m², sum)}, "by_type": {type: (count, m², sum)}}``."""
    period = params.period
    sql = SALES_SQL.format(month=_month("s.at", local=True))
    with connection.cursor() as cursor:
        cursor.execute(sql, [period.since, period.until])
        rows = cursor.fetchall()
    by_step, by_type = defaultdict(lambda: [0, ZERO, ZERO]), defaultdict(lambda: [0, ZERO, ZERO])
    for month, kind, rooms, count, area, amount in rows:
        for totals in (by_step[_day(month)], by_type[unit_type(kind, rooms)]):
            totals[0] += count
            totals[1] += as_decimal(area)
            totals[2] += as_decimal(amount)
    return {
        "by_step": {k: tuple(v) for k, v in by_step.items()},
        "by_type": {k: tuple(v) for k, v in by_type.items()},
    }


COLLECTIONS_SQL = """
WITH closed AS (
    SELECT d.id, {closed_on} AS closed_on FROM sales_deal d WHERE d.closed_at IS NOT NULL
), moves AS (
    SELECT deal_id, due_date AS dated, SUM(amount) AS amount FROM sales_paymentline
        WHERE due_date < {today} GROUP BY deal_id, due_date
    UNION ALL
    SELECT deal_id, received_on, -SUM(amount) FROM sales_payment
        WHERE received_on <= {today} GROUP BY deal_id, received_on
), b AS (
    SELECT deal_id, dated,
        {balance} AS balance,
        LEAD(dated) OVER (PARTITION BY deal_id ORDER BY dated) AS next_on
    FROM moves
), owed AS (
    SELECT b.deal_id, b.dated AS start, b.balance,
        CASE WHEN c.closed_on IS NOT NULL AND (b.next_on IS NULL OR c.closed_on < b.next_on)
            THEN c.closed_on ELSE b.next_on END AS stop
    FROM b LEFT JOIN closed c ON c.id = b.deal_id
    WHERE b.balance > 0
), ends (e) AS (VALUES {ends})
SELECT 'overdue', e.e, SUM(o.balance), COUNT(o.deal_id)
    FROM ends e JOIN owed o ON o.start <= e.e AND (o.stop IS NULL OR o.stop > e.e)
    GROUP BY e.e
UNION ALL
SELECT 'planned', {line_month}, SUM(pl.amount), 0
    FROM sales_paymentline pl LEFT JOIN closed c ON c.id = pl.deal_id
    WHERE pl.due_date BETWEEN %s AND %s AND (c.closed_on IS NULL OR pl.due_date <= c.closed_on)
    GROUP BY 2
UNION ALL
SELECT 'received', {payment_month}, SUM(p.amount), 0
    FROM sales_payment p WHERE p.received_on BETWEEN %s AND %s
    GROUP BY 2
"""


def collections_floor(params: Params, today: date) -> dict:
    """``{"planned": {month: Σ}, "received": {month: Σ}, "overdue": {day: Σ}, "owing": n}``:
    overdue at the end of each past step of the period and today (``today``)."""
    period = params.period
    ends = []
    for start in period.steps():
        end = min(next_step(start, period.step) - timedelta(days=1), period.end)
        if end < today:
            ends.append(end)
    ends.append(today)
    sql = COLLECTIONS_SQL.format(
        closed_on=_local("d.closed_at"),
        today=_date(),
        balance=kopecks_sql("SUM(amount) OVER (PARTITION BY deal_id ORDER BY dated)"),
        ends=", ".join(f"({_date()})" for _e in ends),
        line_month=_month("pl.due_date", local=False),
        payment_month=_month("p.received_on", local=False),
    )
    values = [today, today, *ends, period.start, period.end, period.start, period.end]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    found = {"planned": {}, "received": {}, "overdue": {}, "owing": 0}
    for what, on, amount, count in rows:
        found[what][_day(on)] = as_decimal(amount)
        if what == "overdue" and _day(on) == today:
            found["owing"] = count
    return found


def sales_differences(result, floor: dict, params: Params) -> list[str]:
    """Where the sales statistics' tables differ from ``sales_floor`` (empty: the same)."""
    period = params.period
    wrong = []
    for start, row in zip(period.steps(), result.table("by_step").rows, strict=True):
        want = floor["by_step"].get(start, (0, ZERO, ZERO))
        got = (row["count"], row["area"], row["amount"])
        if got != want:
            wrong.append(f"{start}: report {got}, floor {want}")
    got = sorted((r["count"], r["area"], r["amount"]) for r in result.table("by_type").rows)
    if got != sorted(floor["by_type"].values()):
        wrong.append(f"by type: report {got}, floor {sorted(floor['by_type'].values())}")
    return wrong


def collections_differences(result, floor: dict, params: Params, today: date) -> list[str]:
    """Where the collections report differs from ``collections_floor`` (empty: the same)."""
    period = params.period
    wrong = []
    for start, row in zip(period.steps(), result.table("by_step").rows, strict=True):
        end = min(next_step(start, period.step) - timedelta(days=1), period.end)
        overdue = None
        if end < today:
            overdue = floor["overdue"].get(end, ZERO)
        elif start <= today:
            overdue = floor["overdue"].get(today, ZERO)
        want = (floor["planned"].get(start, ZERO), floor["received"].get(start, ZERO), overdue)
        got = (row["planned"], row["received"], row["overdue"])
        if got != want:
            wrong.append(f"{start}: report {got}, floor {want}")
    today_sum = floor["overdue"].get(today, ZERO)
    got = (result.figures[3].value, result.figures[4].value)  # overdue today: Σ, deals
    if got != (today_sum, floor["owing"]):
        wrong.append(f"today: report {got}, floor {(today_sum, floor['owing'])}")
    return wrong
