"""Reads for inventory pages: the chessboard of a building and the history of a unit.

Each selector runs a fixed number of queries whatever the size of the building (the
chessboard: sections, floors and units, one query each) and does the grouping, filtering
and counting in Python, so that the template only prints prepared values.
"""

import inspect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import BigIntegerField, BooleanField, F, OuterRef, Q, Subquery
from django.db.models.functions import Cast, Round
from django.utils import numberformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from kvartal.core.money import number_args
from kvartal.core.statements import Statement
from kvartal.core.templatetags.kvartal import area as area_filter
from kvartal.core.templatetags.kvartal import round_tenths

from . import extensions
from .models import (
    Building,
    PriceChange,
    Section,
    StatusChange,
    Unit,
    UnitChange,
    UnitKind,
    UnitStatus,
)

MILLION = Decimal(1_000_000)
# The rooms filter offers studio (0), 1, 2, 3 and "4 and more" under this value.
ROOMS_OR_MORE = 4
# Units sharing a grid slot (a storage room beside a parking space) stack in this order.
_KIND_ORDER = {
    UnitKind.APARTMENT: 0,
    UnitKind.COMMERCIAL: 1,
    UnitKind.PARKING: 2,
    UnitKind.STORAGE: 3,
}

_FIELD_ORDER = {f.name: i for i, f in enumerate(Unit._meta.fields)}


# --- the chessboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    """What the user is looking for. Units that do not match are dimmed, not removed.

    ``rooms`` holds 0 (studio) … ``ROOMS_OR_MORE`` (that many or more); ``price_*`` are in
    millions of roubles, as people say them; ``floor_*`` compare with the floor number people
    see (the label when it is a number, else the physical index). ``section`` (a section
    number) is the only filter that hides: the other sections' boards are left out.
    """

    rooms: frozenset[int] = frozenset()
    area_min: Decimal | None = None
    area_max: Decimal | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    statuses: frozenset[str] = frozenset()
    floor_min: int | None = None
    floor_max: int | None = None
    kind: str = ""
    section: int | None = None

    @property
    def dims(self) -> bool:
        """Whether any filter that dims cells is set."""
        return bool(
            self.rooms
            or self.statuses
            or self.kind
            or any(
                v is not None
                for v in (
                    self.area_min,
                    self.area_max,
                    self.price_min,
                    self.price_max,
                    self.floor_min,
                    self.floor_max,
                )
            )
        )

    @property
    def active(self) -> bool:
        return self.dims or self.section is not None

    def matches(
        self,
        *,
        rooms: int | None,
        area: Decimal,
        price: Decimal,
        status: str,
        floor: int,
        kind: str,
    ) -> bool:
        if self.rooms and (rooms is None or min(rooms, ROOMS_OR_MORE) not in self.rooms):
            return False
        if self.statuses and status not in self.statuses:
            return False
        if self.kind and kind != self.kind:
            return False
        if self.area_min is not None and area < self.area_min:
            return False
        if self.area_max is not None and area > self.area_max:
            return False
        if self.price_min is not None and price < self.price_min * MILLION:
            return False
        if self.price_max is not None and price > self.price_max * MILLION:
            return False
        if self.floor_min is not None and floor < self.floor_min:
            return False
        return not (self.floor_max is not None and floor > self.floor_max)


class Cell(NamedTuple):
    """One unit on the board, with the texts its cell prints already worked out (its link
    and tooltip are written with the cell: ``presenters.board_grids``). A named tuple: a big
    board makes a thousand and more, and a tuple is made several times faster than a
    dataclass."""

    id: int
    number: str
    status: str
    css: str
    tag: str  # "2BR", "St", a kind's short name, or "" for parking spaces
    area: str  # "56,2 m²", the number as the ``area`` filter writes it; "" for parking
    price: str  # formatted like the ``millions`` filter; "—" when there is no price yet


@dataclass(slots=True)
class Row:
    """One line of a board. A floor whose positions hold two units (a parking space and a
    storage room) takes two lines; only the first carries the floor label, spanning both."""

    label: str
    floor_id: int
    span: int  # rowspan of the label cell; 0 on continuation lines
    cells: list[Cell | None]  # one per position; None is an empty slot (.cell.void)


@dataclass(slots=True)
class SectionBoard:
    id: int
    number: int
    title: str
    positions: list[int]
    rows: list[Row]
    units: int  # all units of the section
    shown: int  # of them, those matching the filters


@dataclass(slots=True)
class StatusTotal:
    status: str
    label: str
    count: int = 0
    area: Decimal = Decimal(0)
    price: Decimal = Decimal(0)


@dataclass
class Board:
    """The chessboard of one building, filtered: grids per section and totals per status."""

    building: Building
    filters: BoardFilters
    sections: list[SectionBoard]
    section_choices: list[tuple[int, str]]  # every section, for the filter form
    totals: list[StatusTotal]  # per status, over the matching units of the shown sections
    shown: int  # units matching the filters in the shown sections
    total: int  # every unit of the building
    shown_area: Decimal = Decimal(0)
    shown_price: Decimal = Decimal(0)
    priced_area: Decimal = Decimal(0)  # area of the matching units that have a price
    kinds: list[str] = field(default_factory=list)  # the unit kinds present in the building
    as_of: date | None = None  # the board as it was at the end of that day (from history)
    # Every unit as the marks providers see it (``extensions.BoardUnit``); None in the past.
    units: list | None = None

    @property
    def has_sections(self) -> bool:
        return bool(self.section_choices)

    @property
    def is_parking(self) -> bool:
        return self.building.is_parking

    @property
    def price_per_m2(self) -> Decimal | None:
        """The average price per m² of the matching units that have a price."""
        if not self.priced_area:
            return None
        return (self.shown_price / self.priced_area).quantize(Decimal(1))


def floor_number(index: int, label: str) -> int:
    """The floor number people see: the label when it is a number ("14", "-1"), else the
    physical index (for "M", "Тех." and the like)."""
    try:
        return int(label)
    except ValueError:
        return index


def section_title(building: Building, number: int, name: str) -> str:
    if name:
        return name
    if building.is_parking:
        return _("Queue %(number)s") % {"number": number}
    return _("Section %(number)s") % {"number": number}


def _tags() -> dict:
    """The short text in the corner of a cell, by rooms (apartments) or by kind."""
    return {
        "studio": pgettext("rooms on the chessboard", "St"),
        "rooms": pgettext("rooms on the chessboard", "%(rooms)sBR"),
        UnitKind.COMMERCIAL: pgettext("kind on the chessboard", "Com"),
        UnitKind.STORAGE: pgettext("kind on the chessboard", "Stor"),
        UnitKind.PARKING: "",
    }


class _Numbers:
    """The ``area`` and ``millions`` filters, fast enough to run once per cell, on the whole
    hundredths the board reads (kopecks of a price, hundredths of a square metre).

    ``number_format`` looks the locale's separators up on every call, which is a third of
    the page's time on a big board; here they are read once and reused, and the arithmetic
    is on integers. The output is the filters' own (tests compare them).
    """

    def __init__(self):
        self.args = number_args(1)
        self.point = self.args[0]
        # Without grouping, millions with one decimal are the price's leading digits.
        self.grouped = settings.USE_THOUSAND_SEPARATOR
        self.areas: dict[int, str] = {}  # a building has few distinct areas

    def millions(self, kopecks: int | None) -> str:
        if not kopecks:
            return "—"
        if kopecks > 0 and not self.grouped:
            # What the ``millions`` filter prints (tenths rounded half up), done with
            # integers. For a positive price, floor((roubles + 50 000) / 100 000) reads the
            # same from its whole roubles.
            tenths = (kopecks // 100 + 50_000) // 100_000
            return f"{tenths // 10}{self.point}{tenths % 10}"
        return numberformat.format(round_tenths(hundredths(kopecks) / MILLION), *self.args)

    def area(self, value: int | None) -> str:
        text = self.areas.get(value)
        if text is None:
            if value is None or abs(value) >= 100_000:  # from 1 000 m²: grouped
                text = area_filter(None if value is None else hundredths(value))
            else:
                # What the ``area`` filter prints below a thousand: the stored decimals
                # without trailing zeros, a whole number without a point.
                whole, part = divmod(abs(value), 100)
                sign = "-" if value < 0 else ""
                text = f"{sign}{whole}"
                if part:
                    text += f"{self.point}{part:02d}".rstrip("0")
            self.areas[value] = text
        return text


def hundredths(value: int) -> Decimal:
    """A whole number of hundredths (kopecks, hundredths of a m²) as the exact Decimal."""
    return Decimal(value).scaleb(-2)


class _Whole(Cast):
    """A cast to a whole number: every database hands it over as an int already, so the
    ORM's converter (``int(value)`` per row and column) is left out, and a board's rows
    come as the driver gave them."""

    convert_value = staticmethod(Cast._convert_value_noop)


def _in_hundredths(field: str) -> Cast:
    """A two-decimal column as a whole number of hundredths, read as an int (a Decimal costs
    several times more to read, hash and add up; SQLite's REAL is rounded, not cut)."""
    return _Whole(Round(F(field) * 100), BigIntegerField())


_BOARD_COLUMNS = ("id", "section_id", "floor_id", "position", "kind", "number", "rooms")
_BOARD_COLUMNS += ("area_c", "price_k", "status", "hold_until")  # area and price in hundredths


def _board_rows(units, *more: str):
    """``units`` as the board reads them (``_BOARD_COLUMNS``, then ``more``)."""
    return units.annotate(
        area_c=_in_hundredths("total_area"), price_k=_in_hundredths("price")
    ).values_list(*_BOARD_COLUMNS, *more)


# The board's two reads of today, built by the ORM once per process (``core.statements``):
# building them cost as much as running them. Their parameter is the building's id.
_BOARD_FLOORS = Statement(
    lambda building_id: (
        Section.objects.filter(building_id=building_id)
        .order_by("number", "pk", "-floors__index")
        .values_list("id", "number", "name", "floors__id", "floors__index", "floors__label")
    ),
    samples=(-1, -2),
)
_BOARD_UNITS = Statement(
    lambda building_id: _board_rows(Unit.objects.filter(building_id=building_id).order_by()),
    samples=(-1, -2),
)


_BOARD_BUILDING = Statement(
    lambda pk: Building.objects.select_related("project").filter(pk=pk), samples=(-1, -2)
)


def board_building(pk: int) -> Building:
    """The building of a chessboard, with its project (``Building.DoesNotExist``)."""
    found = _BOARD_BUILDING.objects(pk)
    if not found:
        raise Building.DoesNotExist
    return found[0]


def chessboard(
    building: Building,
    filters: BoardFilters | None = None,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
) -> Board:
    """The chessboard of ``building``: per section, floors top first × positions 1…max.

    Two queries (the sections with their floors, the units) whatever the size of the
    building. Every unit is on the board; those not matching ``filters`` carry the ``dim``
    class, and the totals count only the matching units of the sections shown. Statuses are
    effective ones: a unit whose hold ran out (``hold_until`` passed) shows and filters as
    available at once.

    ``as_of``: the board at the end of that day, computed from ``StatusChange`` and
    ``PriceChange`` (the last row at or before it, per unit); units created later, with no
    history by then, are absent.
    """
    filters = filters or BoardFilters()
    # The sections and their floors in one query (a section without floors: one row of nulls).
    sections: list[tuple[int, int, str]] = []
    floors_by_section: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for section_id, number, name, floor_id, index, label in _BOARD_FLOORS.rows(building.pk):
        if not sections or sections[-1][0] != section_id:
            sections.append((section_id, number, name))
        if floor_id is not None:
            floors_by_section[section_id].append((floor_id, index, label))
    if as_of is None:
        rows = _BOARD_UNITS.rows(building.pk)
    else:
        units = Unit.objects.filter(building=building).order_by()
        rows = _then(_board_rows(_as_of(units, as_of), *_THEN))
    now = now or timezone.now()

    labels = {value: str(label) for value, label in UnitStatus.choices}  # translated once
    totals = {status: StatusTotal(status, label) for status, label in UnitStatus.choices}
    tags = _tags()
    room_tags = {0: tags["studio"]}
    numbers = _Numbers()
    millions = numbers.millions
    mln, m2 = _("mln ₽"), _("m²")
    # Per cell, the parts that repeat are made once: the classes per status, the area's
    # text per area.
    classes = {status: f"cell st-{status}" for status in labels}
    dimmed = {status: f"cell st-{status} dim" for status in labels}
    area_texts: dict[int, str] = {}
    floor_numbers = {
        floor_id: floor_number(index, label)
        for floors in floors_by_section.values()
        for floor_id, index, label in floors
    }
    shown_sections = {
        section_id
        for section_id, number, _name in sections
        if filters.section is None or number == filters.section
    }
    dims = filters.dims

    # floor -> its units as (position, kind, cell), in the order read (a floor is in one section)
    on_floor: dict[int, list[tuple[int, Cell]]] = {}
    matched_in: dict[int, int] = defaultdict(int)
    units_in: dict[int, int] = defaultdict(int)
    # The matching units' areas and prices per status (in hundredths), summed after the loop.
    areas: dict[str, list[int]] = {status: [] for status in labels}
    prices: dict[str, list[int]] = {status: [] for status in labels}
    priced_areas: list[int] = []
    kinds: set[str] = set()
    total = 0
    reserved, available = UnitStatus.RESERVED, UnitStatus.AVAILABLE
    apartment, parking = UnitKind.APARTMENT, UnitKind.PARKING  # read once, not per cell
    # What the marks providers may know of each unit without a query (none on a past board).
    facts: list[extensions.BoardUnit] | None = [] if as_of is None else None
    held: list[extensions.BoardUnit] = []
    # The named tuples made per unit, through ``tuple.__new__`` with their fields in order:
    # half the time of calling the class (its generated ``__new__`` takes them by name).
    new, board_unit, cell_of = tuple.__new__, extensions.BoardUnit, Cell
    building_id, project_id, building_kind = building.pk, building.project_id, building.kind
    for row in rows:
        pk, section_id, floor_id, position, kind, number, rooms, area, price, status, until = row
        if status == reserved and until is not None and until <= now and as_of is None:
            status = available  # the hold has run out: on sale again, before any job runs
        total += 1
        if facts is not None:
            if status == reserved and until is not None:
                fact = new(
                    board_unit,
                    (pk, building_id, project_id, building_kind, kind, rooms, status, until),
                )
                held.append(fact)
            else:
                fact = new(
                    board_unit,
                    (pk, building_id, project_id, building_kind, kind, rooms, status, None),
                )
            facts.append(fact)
        kinds.add(kind)
        if section_id not in shown_sections or floor_id not in floor_numbers:
            continue
        units_in[section_id] += 1
        match = not dims or filters.matches(
            rooms=rooms,
            area=hundredths(area),
            price=hundredths(price),
            status=status,
            floor=floor_numbers[floor_id],
            kind=kind,
        )
        if match:
            matched_in[section_id] += 1
            areas[status].append(area)
            prices[status].append(price)
            if price:
                priced_areas.append(area)
        if kind == apartment and rooms is not None:
            tag = room_tags.get(rooms)
            if tag is None:
                tag = room_tags[rooms] = tags["rooms"] % {"rooms": rooms}
        else:
            tag = tags.get(kind, "")
        if kind == parking:
            # A parking cell has no area line, so its price has room for the unit.
            area_text = ""
            price_text = f"{millions(price)} {mln}" if price else millions(price)
        else:
            area_text = area_texts.get(area)
            if area_text is None:
                area_text = area_texts[area] = f"{numbers.area(area)} {m2}"
            price_text = millions(price)
        cell = new(
            cell_of,
            (
                pk,
                number,
                status,
                classes[status] if match else dimmed[status],
                tag,
                area_text,
                price_text,
            ),
        )
        units = on_floor.get(floor_id)
        if units is None:
            on_floor[floor_id] = [(position, kind, cell)]
        else:
            units.append((position, kind, cell))

    def total_of(values: list[int]) -> Decimal:
        return hundredths(sum(values)) if values else Decimal(0)

    shown_area = shown_price = Decimal(0)
    for status, t in totals.items():
        t.count = len(areas[status])
        t.area = total_of(areas[status])
        t.price = total_of(prices[status])
        shown_area += t.area
        shown_price += t.price
    shown = sum(t.count for t in totals.values())
    priced_area = total_of(priced_areas)

    boards = []
    for section_id, number, name in sections:
        if section_id not in shown_sections:
            continue
        floors = floors_by_section.get(section_id, [])
        width = max(
            (position for f in floors for position, _k, _c in on_floor.get(f[0], ())), default=0
        )
        board_rows = []
        for floor_id, _index, label in floors:
            board_rows += _floor_rows(floor_id, label, on_floor.get(floor_id, ()), width)
        boards.append(
            SectionBoard(
                id=section_id,
                number=number,
                title=section_title(building, number, name),
                positions=list(range(1, width + 1)),
                rows=board_rows,
                units=units_in[section_id],
                shown=matched_in[section_id],
            )
        )
    return Board(
        building=building,
        filters=filters,
        sections=boards,
        section_choices=[
            (number, section_title(building, number, name)) for _id, number, name in sections
        ],
        totals=list(totals.values()),
        shown=shown,
        total=total,
        shown_area=shown_area,
        shown_price=shown_price,
        priced_area=priced_area,
        kinds=[k for k in UnitKind.values if k in kinds],
        as_of=as_of,
        units=None
        if facts is None
        else extensions.BoardUnits(
            facts,
            building_id=building_id,
            project_id=project_id,
            building_kind=building_kind,
            kinds=kinds,
            held=held,
        ),
    )


def _floor_rows(floor_id: int, label: str, units, width: int) -> list[Row]:
    """The lines of one floor: its cells by position (None where no unit is); a position
    holding several units (a parking space and a storage room) makes the floor as many
    lines deep, the units in kind order, then by number."""
    cells: list[Cell | None] = [None] * width
    for position, _kind, cell in units:
        if position < 1:
            continue  # positions count from 1: the board has no place for it
        if cells[position - 1] is not None:
            break  # a shared position (rare): stacked below
        cells[position - 1] = cell
    else:
        return [Row(label=label, floor_id=floor_id, span=1, cells=cells)]
    at: dict[int, list[tuple]] = defaultdict(list)
    for position, kind, cell in units:
        if position >= 1:
            at[position].append((_KIND_ORDER.get(kind, 99), cell.number, cell))
    for stacked in at.values():
        stacked.sort(key=lambda u: (u[0], u[1]))
    depth = max(len(stacked) for stacked in at.values())
    return [
        Row(
            label=label,
            floor_id=floor_id,
            span=depth if layer == 0 else 0,
            cells=[
                at[p][layer][2] if p in at and len(at[p]) > layer else None
                for p in range(1, width + 1)
            ],
        )
        for layer in range(depth)
    ]


def day_end(day: date) -> datetime:
    """The first instant after ``day`` in the current time zone: "as of a day" means every
    history row dated before it."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


_THEN = ("status_last", "status_next", "price_last", "price_next")


def _then(rows):
    """Board rows with the status and price of then in place of today's (no hold end)."""
    for *head, price, status, _until, status_last, status_next, price_last, price_next in rows:
        # No row up to then: the value the first later row started from; no row at all:
        # today's. A unit's first status row starts from "" (it did not exist before).
        if status_last is None and status_next is not None:
            status = status_next
        then_price = price_last if price_last is not None else price_next
        yield (
            *head,
            price if then_price is None else round(then_price * 100),  # in kopecks
            (status_last or status) or UnitStatus.NOT_FOR_SALE,
            None,
        )


def _as_of(units, day: date):
    """``units`` as they were at the end of ``day``: created by then, with the status and
    price of their last history rows up to then (or, when the first row is later, the value
    it started from). Correlated subqueries on the (unit, at) indexes: still one query.
    Units whose history starts before their row was created count from their history."""
    end = day_end(day)
    statuses = StatusChange.objects.filter(unit=OuterRef("pk"))
    prices = PriceChange.objects.filter(unit=OuterRef("pk"))
    last_status = statuses.filter(at__lt=end).order_by("-at", "-pk").values("new_status")[:1]
    next_status = statuses.filter(at__gte=end).order_by("at", "pk").values("old_status")[:1]
    last_price = prices.filter(at__lt=end).order_by("-at", "-pk").values("new_price")[:1]
    next_price = prices.filter(at__gte=end).order_by("at", "pk").values("old_price")[:1]
    # A unit existed by then when its row was created by then, or when its history starts
    # earlier than its row (an import dates the history back to when the unit was entered).
    return units.annotate(
        status_last=Subquery(last_status),
        status_next=Subquery(next_status),
        price_last=Subquery(last_price),
        price_next=Subquery(next_price),
    ).filter(Q(created_at__lt=end) | Q(status_last__isnull=False) | Q(price_last__isnull=False))


# --- the history of a unit ----------------------------------------------------------------


@dataclass(slots=True)
class PriceRow:
    at: datetime
    old: Decimal
    new: Decimal
    delta_percent: Decimal | None  # None when the old price was zero
    actor: str
    reason: str

    @property
    def went_up(self) -> bool:
        return self.new > self.old


@dataclass(slots=True)
class Event:
    """One line of a unit's timeline, whatever its source table."""

    at: datetime
    pk: int
    kind: str  # "status" | "price" | "data" | "created"
    actor: str
    reason: str
    status: str = ""  # the new status, for the colour of the dot
    old: str = ""
    new: str = ""
    old_price: Decimal | None = None
    new_price: Decimal | None = None
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # label, old, new
    text: str = ""  # "extra": a line from a higher app's timeline provider
    css: str = ""  # "extra": its own kind (``hold``, ``deal`` …), a class on the line


@dataclass
class UnitHistory:
    prices: list[PriceRow]  # newest first
    timeline: list[Event]  # newest first


def _who(user) -> str:
    return user.short_name if user is not None else _("system")


def _change_line(name: str, old, new) -> tuple[str, str, str]:
    """A field's label and its old and new values as people read them: choice labels
    instead of codes, yes/no instead of True/False. History stores the raw strings."""
    try:
        model_field = Unit._meta.get_field(name)
    except FieldDoesNotExist:  # a field since removed: the history keeps its name
        return name, _shown(old), _shown(new)
    choices = {str(k): v for k, v in model_field.choices or ()}
    if isinstance(model_field, BooleanField):
        choices = {"True": _("yes"), "False": _("no")}

    def read(value):
        return _shown(choices.get(value, value) if value is not None else None)

    return str(model_field.verbose_name), read(old), read(new)


def _shown(value) -> str:
    return "—" if value in (None, "") else str(value)


def _extra_event(item) -> Event:
    """A timeline provider's item: an ``Event`` as is, or a dict with ``at``, ``kind``,
    ``text`` and optionally ``actor``, ``reason``, ``status``, ``pk``."""
    if isinstance(item, Event):
        return item
    return Event(
        at=item["at"],
        pk=item.get("pk", 0),
        kind="extra",
        actor=item.get("actor", ""),
        reason=item.get("reason", ""),
        status=item.get("status", ""),
        text=item["text"],
        css=item.get("kind", ""),
    )


def _takes_user(provider) -> bool:
    try:
        return "user" in inspect.signature(provider).parameters
    except (TypeError, ValueError):
        return False


def unit_history(unit: Unit, user=None) -> UnitHistory:
    """Price history and the merged timeline (status, price and data changes) of a unit.

    Three queries (one per history table, each with its actor) whatever the length, plus
    those of the registered ``extensions.unit_timeline`` providers (a constant number each).
    ``user``: who reads it, passed to the providers that take it (``user=``) so that they
    show another manager's rows without their private details.
    """
    prices, timeline = [], []
    for row in PriceChange.objects.filter(unit=unit).select_related("actor"):
        delta = None
        if row.old_price:
            delta = ((row.new_price - row.old_price) / row.old_price * 100).quantize(Decimal("0.1"))
        who = _who(row.actor)
        prices.append(PriceRow(row.at, row.old_price, row.new_price, delta, who, row.reason))
        timeline.append(
            Event(
                at=row.at,
                pk=row.pk,
                kind="price",
                actor=who,
                reason=row.reason,
                old_price=row.old_price,
                new_price=row.new_price,
            )
        )
    labels = dict(UnitStatus.choices)
    for row in StatusChange.objects.filter(unit=unit).select_related("actor"):
        timeline.append(
            Event(
                at=row.at,
                pk=row.pk,
                kind="status",
                actor=_who(row.actor),
                reason=row.reason,
                status=row.new_status,
                old=labels.get(row.old_status, row.old_status),
                new=labels.get(row.new_status, row.new_status),
                new_price=row.price,
            )
        )
    for row in UnitChange.objects.filter(unit=unit).select_related("actor"):
        # In the model's field order: PostgreSQL's jsonb does not keep the keys' order.
        fields = sorted((row.changes or {}).items(), key=lambda item: _FIELD_ORDER.get(item[0], 99))
        changes = [_change_line(name, *values) for name, values in fields]
        timeline.append(
            Event(
                at=row.at,
                pk=row.pk,
                kind="data" if changes else "created",
                actor=_who(row.actor),
                reason=row.reason,
                changes=changes,
            )
        )
    for provider in extensions.unit_timeline:
        items = provider(unit, user=user) if _takes_user(provider) else provider(unit)
        timeline.extend(_extra_event(item) for item in items)
    # Newest first; at one instant the creation reads as the oldest, then status, then price,
    # then what higher apps add (a hold is made, then the unit turns reserved).
    order = {"extra": -1, "price": 0, "status": 1, "data": 2, "created": 2}
    timeline.sort(key=lambda e: (e.at, -order[e.kind], e.pk), reverse=True)
    return UnitHistory(prices=prices, timeline=timeline)
