"""Avito Autoload: flats in new buildings (Квартиры → Продам → Новостройка); parking spaces
and commercial premises in their own categories.

Field names and values from Avito's help as copied into integration modules
(``shared/reference/feeds.md`` §2). ``NewDevelopmentId`` is the building's (Housing) id from
Avito's directory, or the complex's (Object) id when the complex has no buildings there.
"""

from lxml import etree

from kvartal.inventory.models import Finishing, WindowView

from ..models import Material, Severity
from .base import APARTMENT, COMMERCIAL, PARKING, PortalSpec, sub, whole

DECORATION = {
    Finishing.NONE: "Без отделки",
    Finishing.WHITE_BOX: "Предчистовая",
    Finishing.FINISHED: "Чистовая",
}
HOUSE_TYPE = {
    Material.MONOLITH: "Монолитный",
    Material.MONOLITH_BRICK: "Монолитно-кирпичный",
    Material.BRICK: "Кирпичный",
    Material.PANEL: "Панельный",
    Material.BLOCK: "Блочный",
}
VIEW = {WindowView.YARD: "Во двор", WindowView.STREET: "На улицу"}


def rooms(value: int) -> str:
    if value == 0:
        return "Студия"
    return "10 и более" if value >= 10 else str(value)


def ad_element(offer, context):
    el = etree.Element("Ad")
    sub(el, "Id", offer.external_id)
    sub(el, "ContactPhone", offer.phone)
    sub(el, "CompanyName", context["organization"])
    if offer.kind == APARTMENT:
        sub(el, "Category", "Квартиры")
        sub(el, "OperationType", "Продам")
        sub(el, "MarketType", "Новостройка")
        sub(el, "NewDevelopmentId", offer.building_external_id or offer.complex_id)
        sub(el, "PropertyRights", "Застройщик")
        sub(el, "Rooms", rooms(offer.rooms))
        sub(el, "Square", offer.total_area)
        sub(el, "LivingSpace", offer.living_area)
        sub(el, "KitchenSpace", offer.kitchen_area)
        sub(el, "HouseType", HOUSE_TYPE.get(offer.material))
        sub(el, "Decoration", DECORATION.get(offer.finishing))
        sub(el, "ApartmentNumber", offer.number[:10])
        sub(el, "BalconyOrLoggia", "Балкон" if offer.has_balcony else "Нет")
        if offer.view in VIEW:
            views = etree.SubElement(el, "ViewFromWindows")
            sub(views, "Option", VIEW[offer.view])
        sub(el, "CeilingHeight", offer.ceiling_height)
    else:
        sub(
            el,
            "Category",
            "Гаражи и машиноместа" if offer.kind == PARKING else "Коммерческая недвижимость",
        )
        sub(el, "OperationType", "Продам")
        sub(
            el,
            "ObjectType",
            "Машиноместо" if offer.kind == PARKING else "Помещение свободного назначения",
        )
        sub(el, "Address", f"{offer.city}, {offer.address}")
        sub(el, "Square", offer.total_area)
    sub(el, "Floor", offer.floor)
    sub(el, "Floors", offer.floors_total)
    sub(el, "Price", whole(offer.price))
    sub(el, "Description", offer.description)
    urls = [u for u in (offer.plan_url, offer.floor_plan_url) if u]
    if urls:
        images = etree.SubElement(el, "Images")
        for url in urls:
            etree.SubElement(images, "Image", url=url)
    return el


def write(xf, offers, context):
    with xf.element("Ads", formatVersion="3", target="Avito.ru"):
        for offer in offers:
            xf.write(ad_element(offer, context), pretty_print=True)


SPEC = PortalSpec(
    code="avito",
    kinds=frozenset({APARTMENT, PARKING, COMMERCIAL}),
    rules={
        # NewDevelopmentId: the building's id, else the complex's; both missing is an error
        # (checked by ``building_unmapped`` when the complex is unmapped too, see below).
        "complex_unmapped": None,
        "building_unmapped": None,
        "development_unmapped": Severity.ERROR,
        "material_missing": Severity.ERROR,
        "description_empty": Severity.WARNING,
    },
    description_max=7_500,
    write=write,
)
