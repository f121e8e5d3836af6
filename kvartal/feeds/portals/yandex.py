"""Yandex Realty (YRL), new-build flats; parking spaces and commercial premises.

From Yandex's "general requirements" and housing pages and the new-build field list in
``shared/reference/feeds.md`` §1. Sold, held and withdrawn units are simply absent.
"""

from django.utils import timezone
from lxml import etree

from kvartal.inventory.models import Finishing, WindowView

from ..models import Material, Severity
from .base import APARTMENT, COMMERCIAL, PARKING, PortalSpec, sub, whole

NS = "http://webmaster.yandex.ru/schemas/feed/realty/2010-06"
RENOVATION = {
    Finishing.NONE: "без отделки",
    Finishing.WHITE_BOX: "предчистовая",
    Finishing.FINISHED: "под ключ",
}
BUILDING_TYPE = {
    Material.MONOLITH: "монолит",
    Material.BRICK: "кирпичный",
    Material.PANEL: "панельный",
}
WINDOW_VIEW = {WindowView.YARD: "во двор", WindowView.STREET: "на улицу"}
CATEGORY = {APARTMENT: "квартира", PARKING: "гараж", COMMERCIAL: "коммерческая"}


def _area(parent, tag, value):
    if value:
        el = etree.SubElement(parent, tag)
        sub(el, "value", value)
        sub(el, "unit", "кв. м")


def offer_element(offer, context):
    el = etree.Element("offer", {"internal-id": offer.external_id})
    flat = offer.kind == APARTMENT
    sub(el, "type", "продажа")
    sub(el, "property-type", "жилая" if flat else None)
    sub(el, "category", CATEGORY[offer.kind])
    if offer.kind == PARKING:
        sub(el, "garage-type", "машиноместо")
    if offer.kind == COMMERCIAL:
        sub(el, "commercial-type", "free purpose")
    sub(el, "creation-date", timezone.localtime(offer.created_at))
    location = etree.SubElement(el, "location")
    sub(location, "country", "Россия")
    sub(location, "locality-name", offer.city)
    sub(location, "address", offer.address)
    sub(location, "apartment", offer.number if flat else None)
    if offer.latitude is not None and offer.longitude is not None:
        sub(location, "latitude", offer.latitude)
        sub(location, "longitude", offer.longitude)
    agent = etree.SubElement(el, "sales-agent")
    sub(agent, "phone", offer.phone)
    sub(agent, "category", "застройщик")
    sub(agent, "organization", context["organization"])
    sub(el, "deal-status", "первичная продажа")
    price = etree.SubElement(el, "price")
    sub(price, "value", whole(offer.price))
    sub(price, "currency", "RUB")
    _area(el, "area", offer.total_area)
    if flat:
        _area(el, "living-space", offer.living_area)
        _area(el, "kitchen-space", offer.kitchen_area)
    if offer.plan_url:
        sub(el, "image", offer.plan_url, tag="plan")
    sub(el, "image", offer.floor_plan_url)
    sub(el, "description", offer.description)
    if flat:
        sub(el, "renovation", RENOVATION.get(offer.finishing))
        sub(el, "new-flat", "да")
        if offer.is_studio:
            sub(el, "studio", "да")
        else:
            sub(el, "rooms", offer.rooms)
        sub(el, "balcony", "балкон" if offer.has_balcony else None)
        sub(el, "window-view", WINDOW_VIEW.get(offer.view))
    sub(el, "floor", offer.floor)
    sub(el, "floors-total", offer.floors_total)
    sub(el, "building-name", offer.project_name)
    sub(el, "yandex-building-id", offer.complex_id)
    sub(el, "yandex-house-id", offer.building_external_id)
    sub(el, "building-section", f"секция {offer.section_number}")
    state = "hand-over" if offer.completed else "unfinished"
    sub(el, "building-state", state)
    if offer.completion:
        sub(el, "built-year", offer.completion.year)
        sub(el, "ready-quarter", offer.ready_quarter)
    sub(el, "building-type", BUILDING_TYPE.get(offer.material))
    sub(el, "ceiling-height", offer.ceiling_height)
    return el


def write(xf, offers, context):
    with xf.element(f"{{{NS}}}realty-feed", nsmap={None: NS}):
        xf.write(_generation_date(context))
        for offer in offers:
            xf.write(offer_element(offer, context), pretty_print=True)


def _generation_date(context):
    el = etree.Element("generation-date")
    el.text = context["now"].isoformat(timespec="seconds")
    return el


SPEC = PortalSpec(
    code="yandex",
    kinds=frozenset({APARTMENT, PARKING, COMMERCIAL}),
    rules={
        "complex_unmapped": Severity.ERROR,
        "building_unmapped": Severity.ERROR,
        "completion_missing": Severity.ERROR,
        "living_missing": Severity.WARNING,
        "description_empty": Severity.WARNING,
    },
    description_max=10_000,
    write=write,
)
