"""Reads of the partner programme: the units opened to partners, in the order agents read
them (project, building, then the unit's number as a number where it is one)."""

from django.db.models.functions import Length

from kvartal.inventory.models import Unit

from .models import Fixation

# Numbers of one length sort as numbers ("Корпус 2" < "Корпус 10", "Квартира 9" < "11" <
# "102"); the catalogue's sort by number does the same. Ends with the key so pages never
# overlap.
UNIT_ORDER = (
    "building__project__name",
    Length("building__name"),
    "building__name",
    "building_id",
    Length("number"),
    "number",
    "kind",
    "pk",
)


def partner_units():
    """Every unit of the projects opened to partners, whatever its state: what an agent may
    ask to hold (the hold service refuses, with the availability rule's message, a unit that
    is taken or not on sale)."""
    return Unit.objects.filter(building__project__partner_terms__is_open=True)


def partner_units_on_sale():
    """The units on sale in the projects opened to partners, in the agents' order."""
    return partner_units().on_sale().select_related("building__project").order_by(*UNIT_ORDER)


def hold_offer(fixation: Fixation):
    """The units offered for a hold of ``fixation``'s client: on sale in its project."""
    return partner_units_on_sale().filter(building__project_id=fixation.project_id)
