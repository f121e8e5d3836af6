"""``Deal.owes_from``: the first due date by which a deal's planned payments, capped at what it
owes in all, come to more than it has received.

From the day after it the deal may be overdue, so readers that look for overdue deals (the
chessboard's payment marks) ask for ``owes_from < today`` — a plain condition on the deal —
instead of summing every deal's payments and planned payments, and then allocate the few
deals found line by line as before. The date is a bound, not the verdict: a negative planned
payment can end a debt again, so a deal found this way may owe nothing today; no deal that
owes is missed.

Kept up to date by the receivers in ``models`` on every save or delete of a payment or a
planned payment and on every save of the deal's price or BTI recalculation, whichever door
wrote them, in the writer's transaction. Writes that send no signals (``bulk_create``,
``QuerySet.update``) call ``keep`` themselves; ``deferred()`` lets a service that rewrites a
whole schedule keep it once. The value is written with an update, never put on a deal object
in memory: a later full ``save`` of a stale object sends the receiver, which writes it again.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from django.db import connection

from kvartal.core.money import day_from_sql, from_sql, kopecks_sql

ZERO = Decimal(0)
# Deal ids whose keeping waits for the end of a ``deferred()`` block (None: none open).
_waiting: ContextVar[set | None] = ContextVar("owing_waiting", default=None)


def owes_from(lines: Iterable[tuple[date, Decimal]], received: Decimal, total: Decimal):
    """The first due date at which the planned payments due by then (a day's lines
    together), capped at ``total``, exceed ``received``; None if they never do."""
    planned = ZERO
    days = sorted(lines)
    for n, (day, amount) in enumerate(days):
        planned += amount
        if n + 1 < len(days) and days[n + 1][0] == day:
            continue
        if received < min(planned, total):
            return day
    return None


def computed(deal_ids: list[int], models=None) -> dict[int, tuple[date | None, date | None]]:
    """Per deal id: (the stored ``owes_from``, the one its rows give), in one query.
    ``models``: (Deal, PaymentLine, Payment), the historical ones in a migration."""
    if not deal_ids:
        return {}
    if models is None:
        from .models import Deal, Payment, PaymentLine

        models = (Deal, PaymentLine, Payment)
    deal, line, payment = (m._meta.db_table for m in models)
    places = ", ".join(["%s"] * len(deal_ids))
    sql = f"""
        SELECT 0, id, owes_from, {kopecks_sql("price + bti_adjustment")}
        FROM {deal} WHERE id IN ({places})
        UNION ALL
        SELECT 1, deal_id, due_date, {kopecks_sql("amount")} FROM {line} WHERE deal_id IN ({places})
        UNION ALL
        SELECT 2, deal_id, NULL, {kopecks_sql("amount")} FROM {payment} WHERE deal_id IN ({places})
    """
    stored: dict[int, date | None] = {}
    totals: dict[int, Decimal] = {}
    lines: dict[int, list] = defaultdict(list)
    received: dict[int, Decimal] = defaultdict(lambda: ZERO)
    with connection.cursor() as cursor:
        cursor.execute(sql, deal_ids * 3)
        for kind, pk, day, amount in cursor.fetchall():
            if kind == 0:
                stored[pk], totals[pk] = day_from_sql(day), from_sql(amount)
            elif kind == 1:
                lines[pk].append((day_from_sql(day), from_sql(amount)))
            else:
                received[pk] += from_sql(amount)
    return {pk: (stored[pk], owes_from(lines[pk], received[pk], totals[pk])) for pk in stored}


def keep(deal_ids: Iterable[int], models=None, *, chunk: int = 500) -> dict[int, date | None]:
    """Write ``owes_from`` of these deals anew from their rows (one read per ``chunk`` deals,
    one update per changed date) and return the values; inside ``deferred()``, later."""
    ids = sorted(set(deal_ids))
    waiting = _waiting.get()
    if waiting is not None:
        waiting.update(ids)
        return {}
    if models is None:
        from .models import Deal

        deal_model = Deal
    else:
        deal_model = models[0]
    values: dict[int, date | None] = {}
    changed: dict[date | None, list[int]] = defaultdict(list)
    for start in range(0, len(ids), chunk):
        for pk, (stored, value) in computed(ids[start : start + chunk], models).items():
            values[pk] = value
            if stored != value:
                changed[value].append(pk)
    for value, pks in changed.items():
        for start in range(0, len(pks), chunk):
            deal_model.objects.filter(pk__in=pks[start : start + chunk]).update(owes_from=value)
    return values


@contextmanager
def deferred() -> Iterator[None]:
    """Keep the deals touched inside the block once, at its end (a schedule rewritten line
    by line is kept once, not per line)."""
    if _waiting.get() is not None:  # already inside one: the outer block keeps them
        yield
        return
    waiting: set[int] = set()
    token = _waiting.set(waiting)
    try:
        yield
    finally:
        _waiting.reset(token)
    keep(waiting)
