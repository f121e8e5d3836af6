"""Which units a promotion covers: a pure rule shared by the deal form and the promotion pages."""

from kvartal.inventory.models import Unit

from .models import Promotion


def promotion_applies(promotion: Promotion, unit: Unit) -> bool:
    """A promotion covers a unit when the unit matches every list the promotion sets:
    its projects, its buildings, its room counts and its units. An empty list means "any".

    Reads the lists through ``.all()`` so that a prefetched promotion costs no query.
    """
    projects = {p.pk for p in promotion.projects.all()}
    if projects and unit.building.project_id not in projects:
        return False
    buildings = {b.pk for b in promotion.buildings.all()}
    if buildings and unit.building_id not in buildings:
        return False
    rooms = {int(r) for r in (promotion.rooms or [])}
    if rooms and unit.rooms not in rooms:
        return False
    units = {u.pk for u in promotion.units.all()}
    return not units or unit.pk in units
