"""The units a chessboard mark provider is given, as ``BoardUnit``s whatever the caller passed."""

from collections.abc import Iterable
from datetime import datetime

from kvartal.inventory.extensions import BoardUnit, BoardUnits
from kvartal.inventory.models import (
    BuildingKind,
    Unit,
    UnitKind,
    UnitStatus,
    effective_status_of,
)


def board_units(units: Iterable[BoardUnit | int], now: datetime) -> list[BoardUnit]:
    """``units`` as ``BoardUnit``s: those given as such cost nothing (the chessboard and the
    unit card pass them); plain ids are read in one query."""
    if type(units) is BoardUnits:  # a board's thousand units: as given
        return units
    given = list(units)
    if all(type(u) is BoardUnit for u in given):
        return given
    ids = [u for u in given if not isinstance(u, BoardUnit)]
    found = [u for u in given if isinstance(u, BoardUnit)]
    if not ids:
        return found
    for pk, building_id, project_id, building_kind, kind, rooms, status, until in (
        Unit.objects.filter(pk__in=ids)
        .order_by()
        .values_list(
            "pk",
            "building_id",
            "building__project_id",
            "building__kind",
            "kind",
            "rooms",
            "status",
            "hold_until",
        )
    ):
        status = effective_status_of(status, until, now)  # a hold that ran out: available
        live = until if status == UnitStatus.RESERVED else None
        found.append(
            BoardUnit(pk, building_id, project_id, building_kind, kind, rooms, status, live)
        )
    return found


def one_building(units: list[BoardUnit]) -> int | None:
    """The building all ``units`` are in, if they are in one: a board filters by it."""
    if type(units) is BoardUnits:
        return units.building_id
    buildings = {u.building_id for u in units}
    return buildings.pop() if len(buildings) == 1 else None


def held_units(units: list[BoardUnit]) -> list[BoardUnit]:
    """Those of ``units`` with a live hold's end (a board knows them already)."""
    if type(units) is BoardUnits:
        return units.held
    return [u for u in units if u.hold_until is not None]


def parking_spaces(units: list[BoardUnit]) -> set[int]:
    """The ids of ``units`` that are parking spaces: every unit of a parking structure, and
    units of the parking kind anywhere (none to look for on a board without them)."""
    if type(units) is BoardUnits:
        if units.building_kind == BuildingKind.PARKING:
            return {u.pk for u in units}
        if UnitKind.PARKING not in units.kinds:
            return set()
    return {
        u.pk for u in units if u.building_kind == BuildingKind.PARKING or u.kind == UnitKind.PARKING
    }
