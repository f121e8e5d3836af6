"""The rows the reports read: sales from the status history, with the deal that made them.

A *sale* is a status change of a unit to "sold" (``StatusChange``) inside the period — the
seed's definition — together with the deal the unit was in at that moment (the latest deal
the unit joined at or before the change, ``DealUnit``): the unit's own price, contract area
and list price in that deal (a deal of three units is three sales, its money split by the
units' prices), the deal's manager and promotion. One query whatever the period; the rows
are small tuples. A report that only sums them reads ``sales_by_step``: the same rows summed
by the database per unit type and local day — or per week, month, quarter or year, what the
step is rolled up from — a row per group instead of per sale.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connections
from django.db.models import DateTimeField, F, IntegerField, Value
from django.db.models.functions import Trunc, TruncDate
from django.utils import timezone

from kvartal.core.money import kopecks_sql
from kvartal.inventory.models import StatusChange, UnitStatus
from kvartal.sales.models import Deal, DealUnit

from .base import Params, unit_type
from .periods import Step, as_local_date

# What the database may group sales by for each step: the coarsest local truncation whose
# starts every step start is made of (a half-year of two quarters). ``Period.bucket`` still
# rolls them up into steps (a truncation's start is its own step start, or inside it), so the
# rule of steps stays in one place (``periods``); the database only returns fewer rows.
GROUPING = {
    Step.WEEK: "week",  # Monday, as ``step_start``, on every backend Django supports
    Step.MONTH: "month",
    Step.QUARTER: "quarter",
    Step.HALF: "quarter",
    Step.YEAR: "year",
}


@dataclass(slots=True)
class Sale:
    unit_id: int
    day: date  # local
    project_id: int
    building_id: int
    section_id: int
    type: str
    area: Decimal
    price: Decimal  # the deal's price (the price at the time when there is no deal)
    list_price: Decimal
    manager_id: int | None
    promotion_id: int | None
    deal_id: int | None


def _sold_rows(
    params: Params, by_manager: bool, *, where: bool = True, grouping: str | None = None
) -> tuple[str, list, object]:
    """The SQL of the sold rows (``x.c0`` … ``x.c12``, the columns of ``Sale`` in order, and
    ``x.moment``) with its parameters and connection: the sold status changes of the period
    under the unit filters (and the manager and the viewer's team, if ``by_manager``), each
    joined to the latest deal unit it was in at that moment. Without ``where`` the project
    column is NULL (no join with the buildings). ``c1`` is the local day, or with
    ``grouping`` (a kind of ``Trunc``: week, month …) the start of that local week, month …

    The sold rows are an ORM query, with the local day computed by the database, joined to
    the deals of their units opened by then, a window keeping the latest per row. A plain
    join, no correlated subquery per row (on PostgreSQL those also wake the JIT compiler,
    which costs more than the query); no moment leaves the database, so no time zone
    conversion per row in Python.
    """
    period = params.period
    # The project costs a join with the buildings: only if asked.
    project = F("unit__building__project_id") if where else Value(None, output_field=IntegerField())
    changes = (
        StatusChange.objects.filter(
            params.unit_q(), new_status=UnitStatus.SOLD, at__gte=period.since, at__lt=period.until
        )
        .values(
            sid=F("pk"),
            uid=F("unit_id"),
            moment=F("at"),
            price_then=F("price"),
            day=TruncDate("at", tzinfo=timezone.get_current_timezone())
            if grouping is None
            else Trunc(
                "at", grouping, output_field=DateTimeField(), tzinfo=timezone.get_current_timezone()
            ),
            kind=F("unit__kind"),
            rooms=F("unit__rooms"),
            size=F("unit__total_area"),
            project=project,
            building=F("unit__building_id"),
            section=F("unit__section_id"),
        )
        .order_by()
    )
    sql, values = changes.query.sql_with_params()
    connection = connections[changes.db]
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return "d." + quote(Deal._meta.get_field(name).column)

    def part(name: str) -> str:
        return "du." + quote(DealUnit._meta.get_field(name).column)

    # A deal may carry several units: each sold unit is one sale with its own figures (its
    # ``DealUnit``: its price, list price and area), the deal's manager and promotion.
    latest = (
        "SELECT s.uid AS c0, s.day AS c1, s.project AS c2, s.building AS c3, s.section AS c4, "
        "s.kind AS c5, s.rooms AS c6, "
        f"COALESCE({part('area')}, s.size) AS c7, COALESCE({part('price')}, s.price_then) AS c8, "
        f"COALESCE({part('list_price')}, s.price_then) AS c9, {column('manager')} AS c10, "
        f"{column('promotion')} AS c11, {column('id')} AS c12, "
        f"ROW_NUMBER() OVER (PARTITION BY s.sid ORDER BY {part('added_at')} DESC, "
        f"{part('id')} DESC) AS rn, s.moment AS moment "
        f"FROM ({sql}) s LEFT JOIN {quote(DealUnit._meta.db_table)} du "
        f"ON {part('unit')} = s.uid AND {part('added_at')} <= s.moment "
        f"AND ({part('removed_at')} IS NULL OR {part('removed_at')} > s.moment) "
        f"LEFT JOIN {quote(Deal._meta.db_table)} d ON {column('id')} = {part('deal')}"
    )
    condition = "x.rn = 1"
    values = list(values)
    if by_manager and params.manager:
        condition += " AND x.c10 = %s"
        values.append(params.manager.pk)
    if by_manager and params.team is not None:
        team = sorted(params.team) or [0]  # no team: no sales
        condition += f" AND x.c10 IN ({', '.join(['%s'] * len(team))})"
        values.extend(team)
    return f"FROM ({latest}) x WHERE {condition}", values, connection


def sales(params: Params, *, by_manager: bool = True) -> list[Sale]:
    """The sales of the period under the unit filters (and the manager and the viewer's team,
    if ``by_manager``), in the order they happened: one query (``_sold_rows``)."""
    rows_sql, values, connection = _sold_rows(params, by_manager)
    # The columns used, by position: the rank and the moment stay in the database (the moment
    # orders the rows; read back, it would be parsed for every sale and never used).
    columns = ", ".join(f"x.c{n}" for n in range(13))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} {rows_sql} ORDER BY x.moment", values)
        rows = cursor.fetchall()
    return [
        Sale(
            unit_id=uid,
            day=as_local_date(day),
            project_id=project,
            building_id=building,
            section_id=section,
            type=unit_type(kind, rooms),
            area=as_decimal(area),
            price=as_decimal(price),
            list_price=as_decimal(list_price),
            manager_id=manager_id,
            promotion_id=promotion_id,
            deal_id=deal_id,
        )
        for (
            uid, day, project, building, section, kind, rooms, area, price, list_price,
            manager_id, promotion_id, deal_id,
        ) in rows
    ]  # fmt: skip


def sales_by_step(params: Params, *, by_manager: bool = True) -> dict[tuple[date, str], "Totals"]:
    """The sales of ``sales(params)`` summed per step of the period and unit type:
    ``{(step start, type): Totals}``. One query: the database sums them per kind, rooms and
    local day, or week, month … (``GROUPING``: a row per group, not per sale); those are
    rolled up into steps here, as everywhere (``periods``). The sums are rounded to the
    kopeck in SQL (SQLite adds REALs), so they equal the sums of the rows ``sales`` reads."""
    rows_sql, values, connection = _sold_rows(
        params, by_manager, where=False, grouping=GROUPING.get(params.period.step)
    )
    sums = ", ".join(kopecks_sql(f"SUM(x.c{n})") for n in (7, 8, 9))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x.c1, x.c5, x.c6, COUNT(*), {sums} {rows_sql} GROUP BY x.c1, x.c5, x.c6",
            values,
        )
        rows = cursor.fetchall()
    period = params.period
    starts: dict = {}  # day → its step's start, types: (kind, rooms) → type, computed once
    types: dict = {}
    found: dict = defaultdict(Totals)
    for day, kind, rooms, count, area, amount, list_amount in rows:
        start = starts.get(day)
        if start is None:
            start = starts[day] = period.bucket(as_local_date(day))
        kind_type = types.get((kind, rooms))
        if kind_type is None:
            kind_type = types[kind, rooms] = unit_type(kind, rooms)
        found[start, kind_type].add_sums(
            count, as_decimal(area), as_decimal(amount), as_decimal(list_amount)
        )
    return dict(found)


CENTS = Decimal("0.01")


def as_decimal(value) -> Decimal:
    """A money or area column from a raw cursor as Decimal in kopecks (PostgreSQL hands back
    ``Decimal``, SQLite an int or a float); None is 0."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(CENTS)


def per_m2(amount: Decimal, area: Decimal) -> Decimal | None:
    """A weighted average price per m² (Σ price ÷ Σ area), whole kopecks; None without area."""
    if not area:
        return None
    return (Decimal(amount) / Decimal(area)).quantize(Decimal("0.01"))


def percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


class Totals:
    """Count, m² and sum of a group of sales (or units)."""

    __slots__ = ("count", "area", "amount", "list_amount")

    def __init__(self):
        self.count, self.area, self.amount, self.list_amount = 0, Decimal(0), Decimal(0), Decimal(0)

    def add(self, area, amount, list_amount=None) -> "Totals":
        self.count += 1
        self.area += area or 0
        self.amount += amount or 0
        self.list_amount += amount if list_amount is None else list_amount
        return self

    def add_sums(self, count: int, area, amount, list_amount) -> "Totals":
        """Sales summed already (a row of the database's sums)."""
        self.count += count
        self.area += area
        self.amount += amount
        self.list_amount += list_amount
        return self

    def merge(self, other: "Totals") -> "Totals":
        return self.add_sums(other.count, other.area, other.amount, other.list_amount)

    @property
    def per_m2(self) -> Decimal | None:
        return per_m2(self.amount, self.area)

    @property
    def list_per_m2(self) -> Decimal | None:
        return per_m2(self.list_amount, self.area)

    def row(self) -> dict:
        return {
            "count": self.count,
            "area": self.area,
            "amount": self.amount,
            "per_m2": self.per_m2,
        }


def sold_total(params: Params) -> Totals:
    """All sales of the period (for comparisons), summed by the database."""
    totals = Totals()
    for totals_of_step in sales_by_step(params).values():
        totals.merge(totals_of_step)
    return totals


__all__ = [
    "Sale",
    "Totals",
    "per_m2",
    "percent",
    "sales",
    "sales_by_step",
    "sold_total",
]
