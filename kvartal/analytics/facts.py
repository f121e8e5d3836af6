"""The rows the reports read: sales from the status history, with the deal that made them.

A *sale* is a status change of a unit to "sold" (``StatusChange``) inside the period — the
seed's definition — together with the deal the unit was in at that moment (the latest deal
on the unit opened at or before the change): its price, contract area, list price, manager
and promotion. Two queries whatever the period; the rows are small tuples.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connections
from django.db.models import F
from django.db.models.functions import TruncDate
from django.utils import timezone

from kvartal.inventory.models import StatusChange, UnitStatus
from kvartal.sales.models import Deal

from .base import Params, unit_type
from .periods import as_local_date


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


def sales(params: Params, *, by_manager: bool = True) -> list[Sale]:
    """The sales of the period under the unit filters (and the manager, if ``by_manager``).

    One query: the sold rows (an ORM query, with the local day computed by the database)
    joined to the deals of their units opened by then, a window keeping the latest per row.
    A plain join, no correlated subquery per row (on PostgreSQL those also wake the JIT
    compiler, which costs more than the query); no moment leaves the database, so no time
    zone conversion per row in Python.
    """
    period = params.period
    changes = (
        StatusChange.objects.filter(
            params.unit_q(), new_status=UnitStatus.SOLD, at__gte=period.since, at__lt=period.until
        )
        .values(
            sid=F("pk"),
            uid=F("unit_id"),
            moment=F("at"),
            price_then=F("price"),
            day=TruncDate("at", tzinfo=timezone.get_current_timezone()),
            project=F("unit__building__project_id"),
            building=F("unit__building_id"),
            section=F("unit__section_id"),
            kind=F("unit__kind"),
            rooms=F("unit__rooms"),
            size=F("unit__total_area"),
        )
        .order_by()
    )
    sql, values = changes.query.sql_with_params()
    connection = connections[changes.db]
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return "d." + quote(Deal._meta.get_field(name).column)

    latest = (
        "SELECT s.uid, s.day, s.project, s.building, s.section, s.kind, s.rooms, "
        f"COALESCE({column('area')}, s.size), COALESCE({column('price')}, s.price_then), "
        f"COALESCE({column('list_price')}, s.price_then), {column('manager')}, "
        f"{column('promotion')}, {column('id')}, "
        f"ROW_NUMBER() OVER (PARTITION BY s.sid ORDER BY {column('created_at')} DESC, "
        f"{column('id')} DESC) AS rn, s.moment "
        f"FROM ({sql}) s LEFT JOIN {quote(Deal._meta.db_table)} d "
        f"ON {column('unit')} = s.uid AND {column('created_at')} <= s.moment"
    )
    query = f"SELECT * FROM ({latest}) x WHERE x.rn = 1"
    values = list(values)
    if by_manager and params.manager:
        query += f" AND x.{quote('manager_id')} = %s"
        values.append(params.manager.pk)
    with connection.cursor() as cursor:
        cursor.execute(query + " ORDER BY x.moment", values)
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
            manager_id, promotion_id, deal_id, _rn, _moment,
        ) in rows
    ]  # fmt: skip


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
    """All sales of the period (for comparisons), in one aggregate over the same rows."""
    totals = Totals()
    for sale in sales(params):
        totals.add(sale.area, sale.price, sale.list_price)
    return totals


__all__ = ["Sale", "Totals", "per_m2", "percent", "sales", "sold_total"]
