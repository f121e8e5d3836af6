"""The rows the reports read: sales from the status history, with the deal that made them.

A *sale* is a status change of a unit to "sold" (``StatusChange``) inside the period — the
seed's definition — together with the deal the unit was in at that moment (the latest deal
on the unit opened at or before the change): its price, contract area, list price, manager
and promotion. Two queries whatever the period; the rows are small tuples.
"""

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from kvartal.inventory.models import StatusChange, UnitStatus
from kvartal.sales.models import Deal

from .base import Params, unit_type


@dataclass(slots=True)
class Sale:
    unit_id: int
    at: datetime
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
    """The sales of the period under the unit filters (and the manager, if ``by_manager``)."""
    period = params.period
    changes = StatusChange.objects.filter(
        new_status=UnitStatus.SOLD, at__gte=period.since, at__lt=period.until
    ).filter(params.unit_q())
    rows = list(
        changes.order_by("at", "pk").values_list(
            "unit_id",
            "at",
            "price",
            "unit__building__project_id",
            "unit__building_id",
            "unit__section_id",
            "unit__kind",
            "unit__rooms",
            "unit__total_area",
        )
    )
    if not rows:
        return []
    deals = defaultdict(list)
    for unit_id, created, *deal in (
        Deal.objects.filter(unit_id__in=changes.values("unit_id"), created_at__lt=period.until)
        .order_by("unit_id", "created_at", "pk")
        .values_list(
            "unit_id",
            "created_at",
            "pk",
            "price",
            "area",
            "list_price",
            "manager_id",
            "promotion_id",
        )
    ):
        deals[unit_id].append((created, deal))
    result = []
    manager = params.manager.pk if (by_manager and params.manager) else None
    for unit_id, at, price, project, building, section, kind, rooms, area in rows:
        on_unit = deals.get(unit_id, [])
        i = bisect.bisect_right([d[0] for d in on_unit], at)
        deal = on_unit[i - 1][1] if i else None
        if deal:
            deal_id, deal_price, deal_area, list_price, manager_id, promotion_id = deal
        else:
            deal_id, deal_price, deal_area, list_price, manager_id, promotion_id = (
                None, price, area, price, None, None,
            )  # fmt: skip
        if manager is not None and manager_id != manager:
            continue
        result.append(
            Sale(
                unit_id=unit_id,
                at=at,
                day=timezone.localtime(at).date(),
                project_id=project,
                building_id=building,
                section_id=section,
                type=unit_type(kind, rooms),
                area=deal_area or area or Decimal(0),
                price=deal_price,
                list_price=list_price,
                manager_id=manager_id,
                promotion_id=promotion_id,
                deal_id=deal_id,
            )
        )
    return result


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
