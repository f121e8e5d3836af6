"""The sales plan against the sales: which plan rows a filter reads, and the fact by month.

A plan row is for a project and month, optionally one building and one unit type. For a
filter (project, building, unit types) and a month the plan is read at the *least specific
level that exists*: the project's all-types row if there is one, else the sum of its rows by
type, else the sum of its buildings' rows, else everything more detailed — so a company that
plans only by type, or only per building, still sees its plan, and nothing is counted twice.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .models import SalesPlan

ZERO = Decimal(0)


@dataclass
class Amounts:
    units: int = 0
    area: Decimal = ZERO
    revenue: Decimal = ZERO

    def add(self, units, area, revenue) -> None:
        self.units += units
        self.area += area
        self.revenue += revenue

    @property
    def per_m2(self) -> Decimal | None:
        return (self.revenue / self.area).quantize(Decimal(1)) if self.area else None


def _level(row: SalesPlan) -> int:
    return (1 if row.unit_type else 0) + (2 if row.building_id else 0)


def plan_by_month(
    *,
    start: date,
    end: date,
    project_id: int | None = None,
    building_id: int | None = None,
    unit_types: list[str] | None = None,
) -> dict[date, Amounts]:
    """{first day of month: planned amounts} for the months in [start, end]. One query."""
    rows = SalesPlan.objects.filter(month__gte=start.replace(day=1), month__lte=end)
    if project_id:
        rows = rows.filter(project_id=project_id)
    if building_id:
        rows = rows.filter(building_id=building_id)
    if unit_types:
        rows = rows.filter(unit_type__in=unit_types)
    groups: dict = defaultdict(list)
    for row in rows:
        groups[row.project_id, row.month].append(row)
    result: dict[date, Amounts] = defaultdict(Amounts)
    for (_project, month), members in groups.items():
        level = min(_level(r) for r in members)
        for r in members:
            if _level(r) == level:
                result[month].add(r.units, r.area, r.revenue)
    return result
