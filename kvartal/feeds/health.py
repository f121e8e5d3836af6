"""Health rules: every offer is checked against its portal's rules before a build is published.

Each rule has a code, a message and how to fix it, worded in the reader's language when the
feed page shows them (issues store the code and its figures, never rendered text). Which rules
apply to a portal, and whether a breach is an error (the offer is left out, and too many get
the build held back) or a warning, is the portal's ``rules`` table (``portals/``).
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kvartal.clients.normalize import normalize_phone
from kvartal.inventory.models import UnitKind

from .models import Severity
from .offers import Offer, plan_path

# Prices below this are almost always a price per m² typed as the price; above it, a typo.
MIN_PRICE = Decimal(100_000)
MAX_PRICE = Decimal(10_000_000_000)


@dataclass(frozen=True)
class Rule:
    message: str
    fix: str


RULES: dict[str, Rule] = {
    "price_zero": Rule(_("The price is zero."), _("Set the unit's price.")),
    "price_range": Rule(
        _("The price %(price)s ₽ is outside what the portal accepts (100 000 – 10 000 000 000 ₽)."),
        _("Check the unit's price: a price per m² typed as the whole price?"),
    ),
    "area_sum": Rule(
        _(
            "Living %(living)s m² and kitchen %(kitchen)s m² add up to more than "
            "the total %(total)s m²."
        ),
        _("Correct the unit's areas."),
    ),
    "living_missing": Rule(_("No living area."), _("Fill in the living area on the unit.")),
    "rooms_missing": Rule(_("No room count."), _("Set the rooms on the unit (0 for a studio).")),
    "plan_missing": Rule(_("No layout image."), _("Upload the unit's layout (PNG or JPEG).")),
    "plan_not_raster": Rule(
        _("The layout is not a PNG or JPEG image, or its file is missing."),
        _("Upload the layout again as PNG or JPEG."),
    ),
    "phone_missing": Rule(
        _("No contact phone."), _("Set the feed's contact phone, or the project's.")
    ),
    "phone_invalid": Rule(
        _("The contact phone “%(phone)s” is not a Russian number."),
        _("Write the phone as +7 and ten digits."),
    ),
    "complex_unmapped": Rule(
        _("The complex has no id in the portal's catalogue."),
        _("Enter the portal's complex id in the project's feed settings."),
    ),
    "building_unmapped": Rule(
        _("The building has no id in the portal's catalogue."),
        _("Enter the portal's building id in the feed's building ids."),
    ),
    "development_unmapped": Rule(
        _("Neither the building nor the complex has an id in the portal's catalogue."),
        _("Enter the portal's building id (or the complex id) in the feed settings."),
    ),
    "completion_missing": Rule(
        _("The building has no completion date."), _("Set the building's completion date.")
    ),
    "material_missing": Rule(
        _("The building's walls material is not set."),
        _("Choose the walls material in the feed's building facts."),
    ),
    "floors_missing": Rule(
        _("The number of floors of the building is unknown."), _("Generate the building's floors.")
    ),
    "floor_above_top": Rule(
        _("Floor %(floor)s is above the building's top floor %(floors)s."),
        _("Check the unit's floor."),
    ),
    "address_missing": Rule(
        _("No address or city."), _("Fill in the project's city and the building's address.")
    ),
    "description_empty": Rule(
        _("The description is empty."),
        _("Write a description template in the project's feed settings."),
    ),
    "description_long": Rule(
        _("The description has %(length)s characters; the portal takes %(limit)s."),
        _("Shorten the description template."),
    ),
    "duplicate_id": Rule(
        _("The id %(id)s appears twice in the feed."), _("Report this to the administrator.")
    ),
    "sold_present": Rule(
        _("The unit was held or sold while the feed was being built."),
        _("Nothing to do: the next build leaves it out."),
    ),
    "public_url_local": Rule(
        _("Image links point at %(url)s, which portals cannot reach."),
        _("Set KVARTAL_PUBLIC_URL to the address of this server on the internet."),
    ),
}


@dataclass
class Issue:
    rule: str
    severity: str
    unit_id: int | None = None
    params: dict = field(default_factory=dict)


_RASTER_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def is_raster(name: str, cache: dict) -> bool:
    """Whether a stored file is a PNG or JPEG by its content (not its name)."""
    if name not in cache:
        path = plan_path(name)
        try:
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError:
            head = b""
        cache[name] = any(head.startswith(magic) for magic in _RASTER_MAGIC)
    return cache[name]


def valid_phone(raw: str, cache: dict) -> bool:
    if raw not in cache:
        try:
            phone = normalize_phone(raw)
        except ValidationError:
            phone = ""
        cache[raw] = phone.startswith("+7") and len(phone) == 12
    return cache[raw]


class Checker:
    """Checks offers for one portal; caches what many offers share (files, phones)."""

    def __init__(self, spec):
        self.spec = spec
        self.files: dict = {}
        self.phones: dict = {}
        self.seen: set[str] = set()

    def _issue(self, issues, rule, offer, default=Severity.ERROR, **params):
        severity = self.spec.rules.get(rule, default)
        if severity is not None:
            issues.append(Issue(rule, severity, offer.unit_id, params))

    def check(self, offer: Offer) -> list[Issue]:
        spec = self.spec
        issues: list[Issue] = []
        flat = offer.kind == UnitKind.APARTMENT
        if offer.price <= 0:
            self._issue(issues, "price_zero", offer)
        elif not MIN_PRICE <= offer.price <= MAX_PRICE:
            self._issue(
                issues, "price_range", offer, price=f"{int(offer.price):,}".replace(",", " ")
            )
        living, kitchen = offer.living_area or 0, offer.kitchen_area or 0
        if living + kitchen > offer.total_area:
            self._issue(
                issues,
                "area_sum",
                offer,
                living=str(offer.living_area or 0),
                kitchen=str(offer.kitchen_area or 0),
                total=str(offer.total_area),
            )
        if flat and offer.rooms is None:
            self._issue(issues, "rooms_missing", offer)
        if flat and offer.living_area is None:
            self._issue(issues, "living_missing", offer, default=None)
        if not offer.layout:
            self._issue(issues, "plan_missing", offer)
        elif not is_raster(offer.layout, self.files):
            self._issue(issues, "plan_not_raster", offer)
        if offer.floor_plan and not is_raster(offer.floor_plan, self.files):
            offer.floor_plan_url = ""  # optional: a drawing portals cannot show is left out
        if not offer.phone:
            self._issue(issues, "phone_missing", offer)
        elif not valid_phone(offer.phone, self.phones):
            self._issue(issues, "phone_invalid", offer, phone=offer.phone)
        if not offer.complex_id:
            self._issue(issues, "complex_unmapped", offer, default=None)
        if not offer.building_external_id:
            self._issue(issues, "building_unmapped", offer, default=None)
        if not offer.building_external_id and not offer.complex_id:
            self._issue(issues, "development_unmapped", offer, default=None)
        if offer.completion is None:
            self._issue(issues, "completion_missing", offer, default=None)
        if not offer.material:
            self._issue(issues, "material_missing", offer, default=None)
        if not offer.floors_total:
            self._issue(issues, "floors_missing", offer)
        elif offer.floor > offer.floors_total:
            self._issue(
                issues, "floor_above_top", offer, floor=offer.floor, floors=offer.floors_total
            )
        if not offer.address or not offer.city:
            self._issue(issues, "address_missing", offer)
        if not offer.description:
            self._issue(issues, "description_empty", offer, default=None)
        elif len(offer.description) > spec.description_max:
            self._issue(
                issues,
                "description_long",
                offer,
                length=len(offer.description),
                limit=spec.description_max,
            )
        if offer.external_id in self.seen:
            self._issue(issues, "duplicate_id", offer, id=offer.external_id)
        self.seen.add(offer.external_id)
        return issues
