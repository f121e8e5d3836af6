"""CIAN feed, version 2: ``newBuildingFlatSale``; parking (``garageSale``) and commercial
premises (``freeAppointmentObjectSale``).

Element names and enumerations from the third-party exporters' copies of CIAN's field
descriptions (``shared/reference/feeds.md`` §3). CIAN rejects empty elements: they are left out.
"""

from lxml import etree

from kvartal.inventory.models import Finishing, WindowView

from ..models import Material, Severity
from .base import APARTMENT, COMMERCIAL, PARKING, PortalSpec, phone_digits, sub, whole

DECORATION = {Finishing.NONE: "without", Finishing.WHITE_BOX: "preFine", Finishing.FINISHED: "fine"}
MATERIAL = {
    Material.MONOLITH: "monolith",
    Material.MONOLITH_BRICK: "monolithBrick",
    Material.BRICK: "brick",
    Material.PANEL: "panel",
    Material.BLOCK: "block",
}
VIEW = {WindowView.YARD: "yard", WindowView.STREET: "street"}
QUARTER = {1: "first", 2: "second", 3: "third", 4: "fourth"}
CATEGORY = {
    APARTMENT: "newBuildingFlatSale",
    PARKING: "garageSale",
    COMMERCIAL: "freeAppointmentObjectSale",
}


def rooms_count(value: int) -> int:
    """1–5 as they are, 6 for six or more, 9 for a studio."""
    if value == 0:
        return 9
    return min(value, 6)


def object_element(offer, context):
    el = etree.Element("object")
    flat = offer.kind == APARTMENT
    sub(el, "Category", CATEGORY[offer.kind])
    sub(el, "ExternalId", offer.external_id)
    sub(el, "Description", offer.description)
    sub(el, "Address", f"{offer.city}, {offer.address}")
    if offer.latitude is not None and offer.longitude is not None:
        coordinates = etree.SubElement(el, "Coordinates")
        sub(coordinates, "Lat", offer.latitude)
        sub(coordinates, "Lng", offer.longitude)
    phones = etree.SubElement(el, "Phones")
    schema = etree.SubElement(phones, "PhoneSchema")
    sub(schema, "CountryCode", "+7")
    sub(schema, "Number", phone_digits(offer.phone))
    if flat:
        sub(el, "FlatRoomsCount", rooms_count(offer.rooms))
    if offer.kind == PARKING:
        garage = etree.SubElement(el, "Garage")
        sub(garage, "Type", "parkingPlace")
    sub(el, "TotalArea", offer.total_area)
    if flat:
        sub(el, "LivingArea", offer.living_area)
        sub(el, "KitchenArea", offer.kitchen_area)
        sub(el, "WindowsViewType", VIEW.get(offer.view))
        sub(el, "Decoration", DECORATION.get(offer.finishing))
    sub(el, "FloorNumber", offer.floor)
    building = etree.SubElement(el, "Building")
    sub(building, "FloorsCount", offer.floors_total)
    sub(building, "MaterialType", MATERIAL.get(offer.material))
    sub(building, "CeilingHeight", offer.ceiling_height)
    if offer.completion:
        deadline = etree.SubElement(building, "Deadline")
        sub(deadline, "Quarter", QUARTER[offer.ready_quarter])
        sub(deadline, "Year", offer.completion.year)
        sub(deadline, "IsComplete", offer.completed)
    jk = etree.SubElement(el, "JKSchema")
    sub(jk, "Id", offer.complex_id)
    sub(jk, "Name", offer.project_name)
    house = etree.SubElement(jk, "House")
    sub(house, "Id", offer.building_external_id)
    sub(house, "Name", offer.building_name)
    flat_el = etree.SubElement(house, "Flat")
    sub(flat_el, "FlatNumber", offer.number)
    sub(flat_el, "SectionNumber", offer.section_number)
    if offer.plan_url:
        layout = etree.SubElement(el, "LayoutPhoto")
        sub(layout, "FullUrl", offer.plan_url)
        sub(layout, "IsDefault", True)
    urls = [u for u in (offer.plan_url, offer.floor_plan_url) if u]
    if urls:
        photos = etree.SubElement(el, "Photos")
        for i, url in enumerate(urls):
            photo = etree.SubElement(photos, "PhotoSchema")
            sub(photo, "FullUrl", url)
            sub(photo, "IsDefault", i == 0)
    terms = etree.SubElement(el, "BargainTerms")
    sub(terms, "Price", whole(offer.price))
    sub(terms, "Currency", "rur")
    sub(terms, "SaleType", "fz214" if flat else None)
    return el


def write(xf, offers, context):
    with xf.element("feed"):
        version = etree.Element("feed_version")
        version.text = "2"
        xf.write(version)
        for offer in offers:
            xf.write(object_element(offer, context), pretty_print=True)


SPEC = PortalSpec(
    code="cian",
    kinds=frozenset({APARTMENT, PARKING, COMMERCIAL}),
    rules={
        "complex_unmapped": Severity.ERROR,
        "building_unmapped": Severity.WARNING,
        "description_empty": Severity.ERROR,
        "completion_missing": Severity.WARNING,
    },
    description_max=10_000,
    write=write,
)
