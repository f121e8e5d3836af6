"""Reads of the showcase: the public querysets, public statuses, shown prices, the buyer's
chessboard. Nothing here writes.

Public means: the project is published (``ProjectShowcase.is_published``) and the unit is
not "not for sale". A visitor sees three statuses only — available, booked, sold — and
never a client's or manager's name. "Available" is the one availability rule as SQL
(``Unit.objects.on_sale``); the unit page asks ``unit_is_available``.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import router
from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    Value,
)
from django.db.models.functions import NullIf
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.core.statements import Statement
from kvartal.inventory.models import Building, Project, Unit, UnitKind, UnitStatus
from kvartal.inventory.selectors import floor_number
from kvartal.sales.selectors import promotion_price_expression, promotions_for_units

from .models import Compared, Favourite, PriceShown, ProjectShowcase, Visitor


class PublicStatus:
    AVAILABLE = "available"
    BOOKED = "booked"
    SOLD = "sold"
    LABELS = {AVAILABLE: _("Available"), BOOKED: _("Booked"), SOLD: _("Sold")}


PUBLIC_KINDS = (UnitKind.APARTMENT, UnitKind.COMMERCIAL)


def published_projects():
    return Project.objects.filter(showcase__is_published=True)


def public_units(now=None):
    """Units a visitor may see: of a published project, not "not for sale", of the kinds
    the showcase sells (apartments and commercial premises)."""
    return Unit.objects.filter(
        building__project__showcase__is_published=True, kind__in=PUBLIC_KINDS
    ).exclude(status=UnitStatus.NOT_FOR_SALE)


def shown_units(now=None):
    """Public units the showcase shows a page of: every public unit, but where the marketer
    hides booked and sold units ("show taken" off) only those anyone can book now."""
    return public_units().filter(
        Q(building__project__showcase__show_taken=True)
        | Q(pk__in=Unit.objects.on_sale(now or timezone.now()).values("pk"))
    )


def is_public_file(name: str) -> bool:
    """Is the stored file ``name`` a picture of the showcase: a published project's photo, or
    the layout or floor plan of a public unit?"""
    if not name:
        return False
    return (
        public_units().filter(Q(layout=name) | Q(floor__plan=name)).exists()
        or ProjectShowcase.objects.filter(is_published=True, photo=name).exists()
    )


def available_units(now=None):
    """Public units anyone can book now: the availability rule as SQL."""
    return public_units().filter(pk__in=Unit.objects.on_sale(now or timezone.now()).values("pk"))


def public_status(unit: Unit, now=None) -> str:
    status = unit.effective_status(now)
    if status == UnitStatus.AVAILABLE:
        return PublicStatus.AVAILABLE
    if status == UnitStatus.SOLD:
        return PublicStatus.SOLD
    return PublicStatus.BOOKED


@dataclass(frozen=True)
class ShownPrice:
    """The price a visitor sees and, when a promotion lowers it, the list price beside it."""

    price: Decimal
    list_price: Decimal
    promotion: str = ""

    @property
    def discounted(self) -> bool:
        return self.price < self.list_price


def settings_of(project_ids) -> dict[int, ProjectShowcase]:
    return {
        s.project_id: s for s in ProjectShowcase.objects.filter(project_id__in=set(project_ids))
    }


def shown_prices(units: list[Unit], showcases: dict[int, ProjectShowcase], now=None) -> dict:
    """``{unit id: ShownPrice}`` for units on sale, in a constant number of queries: the list
    price, or the best running promotion's price where the marketer shows it."""
    now = now or timezone.now()
    wanted = [
        u.pk
        for u in units
        if (s := showcases.get(u.building.project_id)) and s.price_shown == PriceShown.PROMOTION
    ]
    promotions = promotions_for_units(wanted, timezone.localdate(now), on_sale_only=True)
    prices = {}
    for unit in units:
        best, name = unit.price, ""
        for promotion in promotions.get(unit.pk, []):
            if promotion.condition:  # applies only when its condition holds on a deal
                continue
            after = unit.price - promotion.discount_for(price=unit.price, area=unit.total_area)
            if after < best:
                best, name = after, promotion.name
        prices[unit.pk] = ShownPrice(best, unit.price, name)
    return prices


def buyer_price(now=None):
    """The price a visitor sees and pays as a SQL expression over units on sale: the best
    running promotion's price in projects whose marketer shows it, the list price elsewhere
    (``shown_prices`` in SQL, so that filters and sorts use the figure the cards show)."""
    shown = ProjectShowcase.objects.filter(price_shown=PriceShown.PROMOTION).values_list(
        "project_id", flat=True
    )
    return promotion_price_expression(
        timezone.localdate(now or timezone.now()), project_ids=list(shown)
    )


def with_buyer_price(units, now=None, *, per_m2: bool = False):
    """``units`` annotated with ``buyer_price`` (and ``buyer_price_m2``, that price per m² of
    the total area, when ``per_m2``: the price-per-m² sort)."""
    units = units.annotate(buyer_price=buyer_price(now))
    if per_m2:
        units = units.annotate(
            buyer_price_m2=ExpressionWrapper(
                F("buyer_price") / NullIf(F("total_area"), Value(0)),
                output_field=DecimalField(max_digits=16, decimal_places=2),
            )
        )
    return units


def buyer_prices_m2(unit_ids) -> dict:
    """``{unit id: the price a buyer pays per m² of the total area}`` for those of
    ``unit_ids`` on sale (``with_buyer_price``: the promotion price where the marketer shows
    it); units not on sale are left out (their shown price is the list price). One query and
    the promotions' two."""
    ids = list(unit_ids)
    if not ids:
        return {}
    rows = with_buyer_price(available_units().filter(pk__in=ids), per_m2=True)
    return dict(rows.values_list("pk", "buyer_price_m2"))


def project_cards():
    """Published projects with their buildings and the count and lowest price of units on
    sale per project (three queries)."""
    projects = list(
        published_projects()
        .select_related("showcase")
        .prefetch_related(
            Prefetch("buildings", queryset=Building.objects.order_by("completion_date", "name"))
        )
        .order_by("name")
    )
    counts = defaultdict(lambda: [0, None])
    rows = with_buyer_price(available_units()).values_list("building__project_id", "buyer_price")
    for project_id, price in rows:
        entry = counts[project_id]
        entry[0] += 1
        entry[1] = price if entry[1] is None else min(entry[1], price)
    for project in projects:
        project.on_sale, project.price_from = counts[project.pk]
    return projects


@dataclass
class BuyerCell:
    unit: Unit | None
    status: str = ""
    price: ShownPrice | None = None


@dataclass
class BuyerRow:
    label: str
    cells: list


@dataclass
class BuyerSection:
    title: str
    rows: list


def buyer_chessboard(building: Building, now=None) -> list[BuyerSection]:
    """The buyer's chessboard of a building: sections × floors × positions, with public
    statuses only. Units not for sale leave an empty cell; booked and sold cells show as
    such only where the marketer chose to show them. Three queries however many units."""
    now = now or timezone.now()
    showcase = ProjectShowcase.objects.filter(project_id=building.project_id).first()
    units = list(
        public_units()
        .filter(building=building)
        .select_related("section", "floor", "building")
        .order_by("section__number", "-floor__index", "position")
    )
    prices = shown_prices(units, {building.project_id: showcase} if showcase else {}, now)
    grid: dict = defaultdict(dict)  # (section id, floor id) → {position: unit}
    sections_seen: dict = {}  # section id → (section, {floor id: floor}, {positions})
    for unit in units:
        section, floors, positions = sections_seen.setdefault(
            unit.section_id, (unit.section, {}, set())
        )
        floors[unit.floor_id] = unit.floor
        positions.add(unit.position)
        grid[unit.section_id, unit.floor_id][unit.position] = unit
    hide_taken = showcase is not None and not showcase.show_taken
    sections = []
    for section, floors, positions in sections_seen.values():
        rows = []
        for floor in sorted(floors.values(), key=lambda f: -f.index):
            cells = []
            for position in sorted(positions):
                unit = grid[section.pk, floor.pk].get(position)
                status = public_status(unit, now) if unit is not None else ""
                if unit is None or (hide_taken and status != PublicStatus.AVAILABLE):
                    cells.append(BuyerCell(None))
                else:
                    cells.append(BuyerCell(unit, status, prices.get(unit.pk)))
            rows.append(BuyerRow(str(floor_number(floor.index, floor.label)), cells))
        sections.append(BuyerSection(str(section), rows))
    return sections


def monthly_payment_limit(showcase_rate: Decimal, monthly: Decimal) -> Decimal:
    """The largest price whose mortgage (the default terms: 20 % down, 30 years, the
    project's market rate) costs at most ``monthly`` a month."""
    from .calculators import annuity_factor

    factor = annuity_factor(showcase_rate, DEFAULT_YEARS * 12)
    return (monthly / factor / (1 - DEFAULT_DOWN_SHARE)).quantize(Decimal(1))


DEFAULT_YEARS = 30
DEFAULT_DOWN_SHARE = Decimal("0.2")


def monthly_payment_q(monthly: Decimal) -> Q:
    """Units whose default mortgage costs at most ``monthly``: a limit per project on the
    price the buyer pays (a queryset ``with_buyer_price``)."""
    q = Q(pk__in=[])
    for project_id, rate in ProjectShowcase.objects.filter(is_published=True).values_list(
        "project_id", "mortgage_rate"
    ):
        q |= Q(
            building__project_id=project_id, buyer_price__lte=monthly_payment_limit(rate, monthly)
        )
    return q


@dataclass(frozen=True)
class VisitorMarks:
    favourite: bool
    compared: bool


def _with_marks(visitors, unit_id):
    """``visitors`` with whether each keeps the unit in favourites and in the comparison."""
    return visitors.annotate(
        is_favourite=Exists(Favourite.objects.filter(visitor=OuterRef("pk"), unit_id=unit_id)),
        is_compared=Exists(Compared.objects.filter(visitor=OuterRef("pk"), unit_id=unit_id)),
    )


def visitor_marks(*, visitor: Visitor | None, unit_id: int) -> VisitorMarks:
    """Whether the visitor keeps the unit in favourites and in the comparison (one query)."""
    if visitor is None:
        return VisitorMarks(False, False)
    row = (
        _with_marks(Visitor.objects.filter(pk=visitor.pk), unit_id)
        .values_list("is_favourite", "is_compared")
        .first()
    )
    return VisitorMarks(*row) if row else VisitorMarks(False, False)


def _visitor_columns() -> list[str]:
    return [field.attname for field in Visitor._meta.concrete_fields]


# The kept unit page's one read of a returning visitor, built by the ORM once per process
# (``core.statements``): building it cost as much as running it. Its values: the cookie's
# token and the unit's id.
_VISITOR_AND_MARKS = Statement(
    lambda token, unit_id: (
        _with_marks(Visitor.objects.filter(token=token), unit_id)
        .order_by()
        .values_list(*_visitor_columns(), "is_favourite", "is_compared")[:1]
    ),
    samples=(("stand-in-token-one", -1), ("stand-in-token-two", -2)),
    arity=2,
)


def visitor_and_marks(request, unit_id: int) -> tuple[Visitor, VisitorMarks]:
    """The request's visitor (a new one without a valid cookie) and whether they keep the
    unit in favourites and in the comparison: one query for a returning visitor."""
    from .visitors import adopt, cookie_token, visitor_of

    token = cookie_token(request)
    rows = _VISITOR_AND_MARKS.rows(token, unit_id) if token else []
    if not rows:
        return visitor_of(request, create=True), VisitorMarks(False, False)
    *values, is_favourite, is_compared = rows[0]
    visitor = Visitor.from_db(router.db_for_read(Visitor), _visitor_columns(), values)
    adopt(request, visitor)
    return visitor, VisitorMarks(is_favourite, is_compared)


def visitor_unit_ids(visitor: Visitor | None) -> tuple[set[int], set[int]]:
    """The units the visitor keeps in favourites and in the comparison (one query)."""
    if visitor is None:
        return set(), set()
    kept = (
        Favourite.objects.filter(visitor=visitor)
        .order_by()
        .annotate(list=Value(1))
        .values_list("unit_id", "list")
    )
    compared = Compared.objects.filter(visitor=visitor).order_by().annotate(list=Value(2))
    favourites, comparison = set(), set()
    for unit_id, which in kept.union(compared.values_list("unit_id", "list"), all=True):
        (favourites if which == 1 else comparison).add(unit_id)
    return favourites, comparison
