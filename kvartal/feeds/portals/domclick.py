"""DomClick: one document of complexes → buildings → flats (third-party descriptions only,
``shared/reference/feeds.md`` §4). Flats only. Without the portal's own ids, the complex and
the building carry Kvartal's stable ids (``p-<id>``, ``b-<id>``) and a warning.
"""

from itertools import chain, groupby
from operator import attrgetter

from lxml import etree

from kvartal.inventory.models import Finishing

from ..models import Material, Severity
from .base import APARTMENT, PortalSpec, sub, whole

RENOVATION = {
    Finishing.NONE: "нет",
    Finishing.WHITE_BOX: "предчистовая",
    Finishing.FINISHED: "чистовая",
}
BUILDING_TYPE = {
    Material.MONOLITH: "монолитный",
    Material.MONOLITH_BRICK: "монолитно-кирпичный",
    Material.BRICK: "кирпичный",
    Material.PANEL: "панельный",
    Material.BLOCK: "блочный",
}


def _complex_head(offer, context):
    project = context["projects"][offer.project_id]
    parts = []
    for tag, value in (
        ("id", offer.complex_id or f"p-{offer.project_id}"),
        ("name", offer.project_name),
    ):
        el = etree.Element(tag)
        el.text = str(value)
        parts.append(el)
    if offer.latitude is not None and offer.longitude is not None:
        for tag, value in (("latitude", offer.latitude), ("longitude", offer.longitude)):
            el = etree.Element(tag)
            el.text = str(value)
            parts.append(el)
    address = etree.Element("address")
    address.text = f"{offer.city}, {offer.address}"
    parts.append(address)
    description = etree.Element("description_main")
    sub(description, "title", offer.project_name)
    sub(description, "text", project.description or f"{offer.project_name}, {offer.city}")
    parts.append(description)
    return parts


def _building_head(offer):
    parts = []
    for tag, value in (
        ("id", offer.building_external_id or f"b-{offer.building_id}"),
        ("fz_214", 1),
        ("name", offer.building_name),
        ("floors", offer.floors_total),
        ("building_state", "сдан" if offer.completed else "строится"),
        ("built_year", offer.completion.year if offer.completion else None),
        ("ready_quarter", offer.ready_quarter),
        ("building_type", BUILDING_TYPE.get(offer.material)),
    ):
        if value not in (None, ""):
            el = etree.Element(tag)
            el.text = str(value)
            parts.append(el)
    return parts


def flat_element(offer):
    el = etree.Element("flat")
    sub(el, "flat_id", offer.external_id)
    sub(el, "apartment", offer.number)
    sub(el, "floor", offer.floor)
    sub(el, "room", offer.rooms)
    sub(el, "plan", offer.plan_url)
    sub(el, "balcony", "балкон" if offer.has_balcony else None)
    sub(el, "renovation", RENOVATION.get(offer.finishing))
    sub(el, "price", whole(offer.price))
    sub(el, "area", offer.total_area)
    sub(el, "living_area", offer.living_area)
    sub(el, "kitchen_area", offer.kitchen_area)
    return el


def _sales_info(context):
    info = etree.Element("sales_info")
    sub(info, "sales_phone", context["phone"])
    sub(info, "timezone", context["timezone"])
    return info


def write(xf, offers, context):
    """Offers come sorted by project and building: one ``complex`` per project, one
    ``building`` per building, streamed."""
    with xf.element("complexes"):
        for _, in_project in groupby(offers, key=attrgetter("project_id")):
            first = next(in_project)
            with xf.element("complex"):
                for part in _complex_head(first, context):
                    xf.write(part)
                with xf.element("buildings"):
                    for _, in_building in groupby(
                        chain([first], in_project), key=attrgetter("building_id")
                    ):
                        head = next(in_building)
                        with xf.element("building"):
                            for part in _building_head(head):
                                xf.write(part)
                            with xf.element("flats"):
                                for offer in chain([head], in_building):
                                    xf.write(flat_element(offer), pretty_print=True)
                xf.write(_sales_info(context))


SPEC = PortalSpec(
    code="domclick",
    kinds=frozenset({APARTMENT}),
    rules={
        "complex_unmapped": Severity.WARNING,
        "building_unmapped": Severity.WARNING,
        "plan_missing": Severity.WARNING,
        "completion_missing": Severity.WARNING,
    },
    description_max=10_000,
    write=write,
)
