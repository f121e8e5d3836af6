"""What a feed offers: the units on sale in its scope, read in a constant number of queries.

Every portal's writer and every health rule reads the same ``Offer`` rows. Units come from
``Unit.objects.on_sale(now)`` — the one availability rule as SQL — so a held, sold or
withdrawn unit leaves every feed at its next build.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from string import Formatter

from django.conf import settings
from django.db.models import Max
from django.urls import reverse

from kvartal.inventory.models import Finishing, Floor, LevelType, Unit, UnitKind
from kvartal.sales.models import Promotion
from kvartal.sales.promotions_rules import promotion_rule

from .models import Feed, FeedBuilding, FeedProject, PriceMode

FIELDS = (
    "id",
    "number",
    "code",
    "kind",
    "rooms",
    "total_area",
    "living_area",
    "kitchen_area",
    "ceiling_height",
    "finishing",
    "view",
    "has_balcony",
    "price",
    "layout",
    "created_at",
    "section_id",
    "section__number",
    "floor__index",
    "floor__plan",
    "building_id",
    "building__name",
    "building__construction_address",
    "building__completion_date",
    "building__readiness",
    "building__project_id",
    "building__project__name",
    "building__project__city",
    "building__listing__material",
    "building__listing__latitude",
    "building__listing__longitude",
)

ROOMS_TEXT = {0: "Студия", 1: "1-комнатная квартира", 2: "2-комнатная квартира"}
FINISHING_TEXT = {
    Finishing.NONE: "без отделки",
    Finishing.WHITE_BOX: "с предчистовой отделкой",
    Finishing.FINISHED: "с отделкой под ключ",
}
DEFAULT_TEMPLATE = (
    "{rooms_text}, {area} м², {floor} этаж из {floors}, {finishing}. "
    "{project}, {building}, секция {section}. Срок сдачи: {completion}. "
    "Продажа от застройщика."
)
TEMPLATE_FIELDS = (
    "rooms_text",
    "rooms",
    "area",
    "living_area",
    "kitchen_area",
    "floor",
    "floors",
    "finishing",
    "project",
    "building",
    "section",
    "number",
    "code",
    "price",
    "city",
    "address",
    "completion",
)


def template_unknown_fields(template: str) -> list[str]:
    """The names in braces that are not unit fields (the form names them); malformed braces
    count as one unknown field, ``{``."""
    try:
        names = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError:
        return ["{"]
    return [name for name in names if name not in TEMPLATE_FIELDS]


@dataclass(slots=True)
class Offer:
    unit_id: int
    external_id: str
    number: str
    code: str
    kind: str
    rooms: int | None
    total_area: Decimal
    living_area: Decimal | None
    kitchen_area: Decimal | None
    ceiling_height: Decimal | None
    finishing: str
    view: str
    has_balcony: bool
    list_price: Decimal
    price: Decimal
    layout: str
    floor_plan: str
    created_at: datetime
    section_number: int
    floor: int
    floors_total: int | None
    building_id: int
    building_name: str
    address: str
    completion: date | None
    completed: bool
    project_id: int
    project_name: str
    city: str
    material: str
    latitude: Decimal | None
    longitude: Decimal | None
    complex_id: str
    building_external_id: str
    phone: str
    description: str
    plan_url: str
    floor_plan_url: str

    @property
    def is_studio(self) -> bool:
        return self.kind == UnitKind.APARTMENT and self.rooms == 0

    @property
    def ready_quarter(self) -> int | None:
        return (self.completion.month - 1) // 3 + 1 if self.completion else None


def external_id(unit_id: int) -> str:
    """A unit's id in every feed: never reused, never changed between builds."""
    return f"kv-{unit_id}"


# Where image links point while KVARTAL_PUBLIC_URL is not set (the health report flags it).
LOCAL_ORIGIN = "http://127.0.0.1:8000"


def public_origin() -> str:
    """The address portals reach this server at: KVARTAL_PUBLIC_URL, else this machine's."""
    return settings.KVARTAL_PUBLIC_URL.rstrip("/") or LOCAL_ORIGIN


def public_url(path: str) -> str:
    return public_origin() + path


def plan_path(name: str) -> Path | None:
    return Path(settings.MEDIA_ROOT) / name if name else None


def _floors_total(building_ids) -> dict[int, int]:
    rows = (
        Floor.objects.filter(section__building_id__in=building_ids)
        .exclude(level_type=LevelType.UNDERGROUND)
        .values("section__building_id")
        .annotate(top=Max("index"))
    )
    return {row["section__building_id"]: row["top"] for row in rows}


def _promotion_prices(today: date):
    """A function (unit row) → the lowest price a running promotion gives, or None."""
    promotions = list(
        Promotion.objects.filter(is_active=True, starts_on__lte=today, ends_on__gte=today)
        .prefetch_related("projects", "buildings", "units")
        .order_by("pk")
    )
    rules = [(p, promotion_rule(p)) for p in promotions]

    def best(unit) -> Decimal | None:
        discounts = [
            p.discount_for(price=unit.price, area=unit.total_area)
            for p, applies in rules
            if applies(unit)
        ]
        best_discount = max(discounts, default=Decimal(0))
        return unit.price - best_discount if best_discount > 0 else None

    return best


class _UnitView:
    """The attributes ``promotion_rule`` reads, over a values() row."""

    __slots__ = ("pk", "rooms", "building_id", "building", "price", "total_area")

    class _Building:
        __slots__ = ("project_id",)

    def __init__(self, row: dict):
        self.pk = row["id"]
        self.rooms = row["rooms"]
        self.building_id = row["building_id"]
        self.building = self._Building()
        self.building.project_id = row["building__project_id"]
        self.price = row["price"]
        self.total_area = row["total_area"]


def _describe(template: str, values: dict) -> str:
    try:
        return template.format_map(values).strip()
    except (KeyError, ValueError, IndexError):
        return ""


def _number(value) -> str:
    if value is None:
        return ""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _quarter_text(when: date | None) -> str:
    if when is None:
        return "уточняется"
    return f"{['I', 'II', 'III', 'IV'][(when.month - 1) // 3]} кв. {when.year}"


def feed_scope(feed: Feed) -> list[FeedProject]:
    return list(
        feed.projects.filter(is_published=True)
        .select_related("project")
        .prefetch_related("excluded_sections", "excluded_units")
    )


def offers(
    feed: Feed, *, now: datetime, limit: int | None = None, scope: list | None = None
) -> Iterator[Offer]:
    """The feed's offers in a stable order (project, building, section, floor, position).

    Queries: the scope (3), the buildings' mappings (1), floor counts (1), running promotions
    (4), the units (1, streamed in chunks) — the same for ten units or fifty thousand.
    """
    scope = feed_scope(feed) if scope is None else scope
    if not scope:
        return
    by_project = {fp.project_id: fp for fp in scope}
    building_ids = {
        b["building_id"]: b["external_id"]
        for b in FeedBuilding.objects.filter(feed=feed).values("building_id", "external_id")
    }
    units = (
        Unit.objects.on_sale(now)
        .filter(building__project_id__in=list(by_project), price__gt=0)
        .order_by(
            "building__project_id", "building_id", "section__number", "floor__index", "position"
        )
    )
    excluded_units = {u.pk for fp in scope for u in fp.excluded_units.all()}
    excluded_sections = {s.pk for fp in scope for s in fp.excluded_sections.all()}
    kinds = {kind for fp in scope for kind in fp.unit_kinds}
    units = units.filter(kind__in=sorted(kinds))
    if limit:
        units = units[:limit]
    floors = _floors_total(
        list(
            Unit.objects.filter(building__project_id__in=list(by_project))
            .values_list("building_id", flat=True)
            .distinct()
        )
    )
    promo_price = _promotion_prices(now.date())
    phone_default = feed.contact_phone
    # One reverse() per build, not two per unit.
    plan_url = public_url(reverse("feeds-public:plan", args=[feed.token, 999999999, "unit"]))
    plan_prefix = plan_url.split("999999999/unit")[0]
    for row in units.values(*FIELDS).iterator(chunk_size=2000):
        fp = by_project[row["building__project_id"]]
        if (
            row["id"] in excluded_units
            or row["section_id"] in excluded_sections
            or row["kind"] not in fp.unit_kinds
        ):
            continue
        price = row["price"]
        if fp.price_mode == PriceMode.PROMOTION:
            price = promo_price(_UnitView(row)) or price
        completion = row["building__completion_date"]
        floors_total = floors.get(row["building_id"])
        values = {
            "rooms_text": ROOMS_TEXT.get(row["rooms"], f"{row['rooms']}-комнатная квартира")
            if row["kind"] == UnitKind.APARTMENT
            else "",
            "rooms": row["rooms"] if row["rooms"] is not None else "",
            "area": _number(row["total_area"]).replace(".", ","),
            "living_area": _number(row["living_area"]).replace(".", ","),
            "kitchen_area": _number(row["kitchen_area"]).replace(".", ","),
            "floor": row["floor__index"],
            "floors": floors_total or "",
            "finishing": FINISHING_TEXT.get(row["finishing"], ""),
            "project": row["building__project__name"],
            "building": row["building__name"],
            "section": row["section__number"],
            "number": row["number"],
            "code": row["code"],
            "price": f"{int(price):,}".replace(",", " "),
            "city": row["building__project__city"],
            "address": row["building__construction_address"],
            "completion": _quarter_text(completion),
        }
        ext = external_id(row["id"])
        yield Offer(
            unit_id=row["id"],
            external_id=ext,
            number=row["number"],
            code=row["code"],
            kind=row["kind"],
            rooms=row["rooms"],
            total_area=row["total_area"],
            living_area=row["living_area"],
            kitchen_area=row["kitchen_area"],
            ceiling_height=row["ceiling_height"],
            finishing=row["finishing"],
            view=row["view"],
            has_balcony=row["has_balcony"],
            list_price=row["price"],
            price=price,
            layout=row["layout"] or "",
            floor_plan=row["floor__plan"] or "",
            created_at=row["created_at"],
            section_number=row["section__number"],
            floor=row["floor__index"],
            floors_total=floors_total,
            building_id=row["building_id"],
            building_name=row["building__name"],
            address=row["building__construction_address"],
            completion=completion,
            completed=row["building__readiness"] == "completed"
            or (completion is not None and completion <= now.date()),
            project_id=row["building__project_id"],
            project_name=row["building__project__name"],
            city=row["building__project__city"],
            material=row["building__listing__material"] or "",
            latitude=row["building__listing__latitude"],
            longitude=row["building__listing__longitude"],
            complex_id=fp.complex_id,
            building_external_id=building_ids.get(row["building_id"], ""),
            phone=fp.contact_phone or phone_default,
            description=_describe(fp.description_template or DEFAULT_TEMPLATE, values),
            plan_url=f"{plan_prefix}{row['id']}/unit" if row["layout"] else "",
            floor_plan_url=f"{plan_prefix}{row['id']}/floor" if row["floor__plan"] else "",
        )
