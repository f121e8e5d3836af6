"""Which units a promotion covers: a pure rule shared by the deal form and the promotion pages."""

from kvartal.inventory.models import Unit

from .models import Promotion


def promotion_applies(promotion: Promotion, unit: Unit) -> bool:
    """A promotion covers a unit when the unit matches every list the promotion sets:
    its unit kinds, projects, buildings, room counts and units. An empty list means "any".

    Reads the lists through ``.all()`` so that a prefetched promotion costs no query.
    """
    return promotion_rule(promotion)(unit)


def promotion_rule(promotion: Promotion):
    """``promotion_applies`` for one promotion as a function of the unit, with its lists read
    once: for checking many units (a chessboard) against the same promotion."""
    projects = {p.pk for p in promotion.projects.all()}
    buildings = {b.pk for b in promotion.buildings.all()}
    rooms = {int(r) for r in (promotion.rooms or [])}
    units = {u.pk for u in promotion.units.all()}
    kinds = set(promotion.unit_kinds or [])

    def applies(unit) -> bool:
        return (
            (not kinds or unit.kind in kinds)
            and (not projects or unit.building.project_id in projects)
            and (not buildings or unit.building_id in buildings)
            and (not rooms or unit.rooms in rooms)
            and (not units or unit.pk in units)
        )

    return applies
