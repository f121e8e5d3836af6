"""Read-only summaries of the inventory: the start page, a project's buildings, the
"General information" sheet (общая справка по объекту) of a building or a whole project.

Every function here runs a fixed number of grouped aggregate queries, however many
buildings, sections and units there are (architecture rule 11).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Case, Count, F, Prefetch, Q, Sum, Value, When
from django.utils.translation import gettext as _

from .models import (
    Building,
    BuildingKind,
    LevelType,
    Project,
    Readiness,
    Section,
    Unit,
    UnitKind,
    UnitStatus,
    effective_status_q,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _m2(value) -> Decimal:
    """An area sum as stored (two decimals): SQLite returns sums with stray precision."""
    return ZERO if value is None else Decimal(value).quantize(CENT)


# The order in which statuses are shown as badges and table columns.
STATUS_ORDER = (
    UnitStatus.AVAILABLE,
    UnitStatus.RESERVED,
    UnitStatus.IN_DEAL,
    UnitStatus.SOLD,
    UnitStatus.NOT_FOR_SALE,
)

# Apartments are broken down as studio, 1, 2, 3 and "4 and more" rooms.
ROOM_BUCKETS = 5


# --- status counts: the start page and the project page ----------------------------------


@dataclass
class UnitCounts:
    """How many units of a building (or project) are in each status, and their total area."""

    by_status: dict[str, int] = field(default_factory=dict)
    total_area: Decimal = ZERO

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def count(self, status: str) -> int:
        return self.by_status.get(status, 0)

    @property
    def columns(self) -> list[tuple[str, str, int]]:
        """(status, label, count) for every status, in display order: table columns."""
        return [(s.value, s.label, self.count(s)) for s in STATUS_ORDER]

    @property
    def badges(self) -> list[tuple[str, str, int]]:
        """Only the statuses that have units: small badges on a card."""
        return [column for column in self.columns if column[2]]

    def add(self, other: "UnitCounts") -> None:
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n
        self.total_area += other.total_area


def unit_counts_by_building(buildings: Q | None = None) -> dict[int, UnitCounts]:
    """``UnitCounts`` per building id, in ONE grouped query. ``buildings`` filters units."""
    rows = Unit.objects.all()
    if buildings is not None:
        rows = rows.filter(buildings)
    counts: dict[int, UnitCounts] = defaultdict(UnitCounts)
    # Counted by the status users see: a hold that has run out is on sale again.
    shown = Case(
        When(effective_status_q(UnitStatus.AVAILABLE), then=Value(UnitStatus.AVAILABLE.value)),
        default=F("status"),
    )
    for row in (
        rows.annotate(shown=shown)
        .values("building_id", "shown")
        .annotate(n=Count("pk"), area=Sum("total_area"))
        .order_by()
    ):
        entry = counts[row["building_id"]]
        entry.by_status[row["shown"]] = entry.by_status.get(row["shown"], 0) + row["n"]
        entry.total_area += _m2(row["area"])
    return counts


def _building_order(building: Building) -> tuple:
    """Residential buildings first, then parking; names in natural order (Корпус 2 < 10)."""
    return (building.kind == BuildingKind.PARKING, _natural_key(building.name))


def _natural_key(text: str) -> tuple:
    parts, digits, chars = [], "", ""
    for ch in text:
        if ch.isdigit():
            if chars:
                parts.append((1, 0, chars.lower()))
                chars = ""
            digits += ch
        else:
            if digits:
                parts.append((0, int(digits), ""))
                digits = ""
            chars += ch
    if digits:
        parts.append((0, int(digits), ""))
    if chars:
        parts.append((1, 0, chars.lower()))
    return tuple(parts)


def projects_overview() -> list[Project]:
    """Every project with ``.building_list`` (each building with ``.counts``) and ``.counts``.

    Three queries: projects, their buildings, and unit counts grouped by building and status.
    """
    projects = list(
        Project.objects.prefetch_related(
            Prefetch("buildings", queryset=Building.objects.select_related("serves"))
        )
    )
    counts = unit_counts_by_building()
    for project in projects:
        project.counts = UnitCounts()
        project.building_list = sorted(project.buildings.all(), key=_building_order)
        for building in project.building_list:
            building.counts = counts.get(building.pk, UnitCounts())
            project.counts.add(building.counts)
    return projects


def project_buildings(project: Project) -> list[Building]:
    """The project's buildings and parking structures, each with ``.counts`` (two queries)."""
    buildings = sorted(
        Building.objects.filter(project=project).select_related("serves"), key=_building_order
    )
    counts = unit_counts_by_building(Q(building__project=project))
    for building in buildings:
        building.counts = counts.get(building.pk, UnitCounts())
    return buildings


# --- the general information sheet --------------------------------------------------------


@dataclass
class UnitMix:
    """Apartments by rooms (studio, 1, 2, 3, 4+), commercial premises and storage rooms."""

    by_rooms: list[int] = field(default_factory=lambda: [0] * ROOM_BUCKETS)
    rooms_unknown: int = 0
    commercial: int = 0
    storage: int = 0

    @property
    def apartments(self) -> int:
        return sum(self.by_rooms) + self.rooms_unknown

    def add_units(self, kind: str, rooms: int | None, n: int) -> None:
        if kind == UnitKind.APARTMENT:
            if rooms is None:
                self.rooms_unknown += n
            else:
                self.by_rooms[min(rooms, ROOM_BUCKETS - 1)] += n
        elif kind == UnitKind.COMMERCIAL:
            self.commercial += n
        elif kind == UnitKind.STORAGE:
            self.storage += n

    def add(self, other: "UnitMix") -> None:
        self.by_rooms = [a + b for a, b in zip(self.by_rooms, other.by_rooms, strict=True)]
        self.rooms_unknown += other.rooms_unknown
        self.commercial += other.commercial
        self.storage += other.storage


@dataclass
class Areas:
    """Total (all units), living (apartments) and commercial areas, m²."""

    total: Decimal = ZERO
    living: Decimal = ZERO
    commercial: Decimal = ZERO

    def add(self, other: "Areas") -> None:
        self.total += other.total
        self.living += other.living
        self.commercial += other.commercial


@dataclass
class ParkingCount:
    """Parking spaces counted from the parking inventory, by the level they are on."""

    underground: int = 0
    above_ground: int = 0
    # (structure's name or "" for the building's own, level index, level label) → spaces
    by_level: dict[tuple[str, int, str], int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.underground + self.above_ground

    @property
    def levels(self) -> list[tuple[str, str, int]]:
        """(structure's name or "", level label, spaces), level by level from the lowest."""
        return [
            (source, label, n)
            for (source, _index, label), n in sorted(
                self.by_level.items(), key=lambda item: (item[0][0], item[0][1])
            )
        ]

    def add_spaces(self, level_type: str, n: int, level: tuple[str, int, str] | None = None):
        if level_type == LevelType.UNDERGROUND:
            self.underground += n
        else:
            self.above_ground += n
        if level is not None:
            self.by_level[level] = self.by_level.get(level, 0) + n

    def add(self, other: "ParkingCount") -> None:
        self.underground += other.underground
        self.above_ground += other.above_ground
        for level, n in other.by_level.items():
            self.by_level[level] = self.by_level.get(level, 0) + n


@dataclass
class SectionSummary:
    number: int
    name: str
    floors: int
    underground: int
    mix: UnitMix = field(default_factory=UnitMix)

    @property
    def label(self) -> str:
        return self.name or _("Section %(number)s") % {"number": self.number}


@dataclass
class BuildingSheet:
    """The general information sheet of one building (seed module "Дом", items 1–10)."""

    building: Building
    sections: list[SectionSummary] = field(default_factory=list)
    mix: UnitMix = field(default_factory=UnitMix)
    areas: Areas = field(default_factory=Areas)
    parking: ParkingCount = field(default_factory=ParkingCount)
    parking_sources: list[str] = field(default_factory=list)

    @property
    def section_count(self) -> int:
        return len(self.sections)


@dataclass
class ProjectSheet:
    """A project's sheet: its residential buildings' sheets and their totals.

    Parking spaces of the project's parking structures that serve no building are added to
    the project's parking (``unassigned_parking``) so the project counts every space it owns.
    """

    project: Project
    buildings: list[BuildingSheet]
    parking_structures: list[Building]
    unassigned_parking: ParkingCount
    mix: UnitMix = field(default_factory=UnitMix)
    areas: Areas = field(default_factory=Areas)
    parking: ParkingCount = field(default_factory=ParkingCount)

    def __post_init__(self) -> None:
        for sheet in self.buildings:
            self.mix.add(sheet.mix)
            self.areas.add(sheet.areas)
            self.parking.add(sheet.parking)
        self.parking.add(self.unassigned_parking)

    @property
    def section_count(self) -> int:
        return sum(sheet.section_count for sheet in self.buildings)

    @property
    def completion_dates(self) -> list[date]:
        return sorted({s.building.completion_date for s in self.buildings} - {None})

    @property
    def completed_count(self) -> int:
        return sum(s.building.readiness == Readiness.COMPLETED for s in self.buildings)


def _sheets(buildings: list[Building], *, project_structures: list[Building] = ()) -> tuple:
    """Sheets for ``buildings`` in three grouped queries; also the unassigned parking.

    Parking spaces are units of kind "parking": those in the building itself plus those in
    parking structures whose ``serves`` is the building, split by the level type of their
    floor. Spaces in ``project_structures`` that serve no building come back separately.
    """
    sheets = {b.pk: BuildingSheet(building=b) for b in buildings}
    ids = list(sheets)
    sections: dict[int, SectionSummary] = {}
    for section in (
        Section.objects.filter(building_id__in=ids)
        .annotate(
            floor_count=Count("floors", filter=Q(floors__index__gte=1)),
            underground_count=Count(
                "floors",
                filter=Q(floors__index__lt=1, floors__level_type=LevelType.UNDERGROUND),
            ),
        )
        .order_by("building_id", "number")
    ):
        summary = SectionSummary(
            number=section.number,
            name=section.name,
            floors=section.floor_count,
            underground=section.underground_count,
        )
        sections[section.pk] = summary
        sheets[section.building_id].sections.append(summary)

    for row in (
        Unit.objects.filter(building_id__in=ids)
        .values("building_id", "section_id", "kind", "rooms")
        .annotate(n=Count("pk"), total=Sum("total_area"), living=Sum("living_area"))
        .order_by()
    ):
        sheet = sheets[row["building_id"]]
        sheet.mix.add_units(row["kind"], row["rooms"], row["n"])
        sections[row["section_id"]].mix.add_units(row["kind"], row["rooms"], row["n"])
        sheet.areas.total += _m2(row["total"])
        if row["kind"] == UnitKind.APARTMENT:
            sheet.areas.living += _m2(row["living"])
        elif row["kind"] == UnitKind.COMMERCIAL:
            sheet.areas.commercial += _m2(row["total"])

    unassigned = ParkingCount()
    structure_ids = [s.pk for s in project_structures]
    spaces = Unit.objects.filter(kind=UnitKind.PARKING).filter(
        Q(building_id__in=ids + structure_ids) | Q(building__serves_id__in=ids)
    )
    for row in (
        spaces.values(
            "building_id",
            "building__name",
            "building__serves_id",
            "floor__level_type",
            "floor__index",
            "floor__label",
        )
        .annotate(n=Count("pk"))
        .order_by("building__name")
    ):
        level = (row["building__name"], row["floor__index"], row["floor__label"])
        if row["building_id"] in sheets:
            sheet = sheets[row["building_id"]]
            level = ("", row["floor__index"], row["floor__label"])
        elif row["building__serves_id"] in sheets:
            sheet = sheets[row["building__serves_id"]]
            if row["building__name"] not in sheet.parking_sources:
                sheet.parking_sources.append(row["building__name"])
        elif row["building__serves_id"] is None:
            unassigned.add_spaces(row["floor__level_type"], row["n"], level)
            continue
        else:  # a structure of this project serving another project's building
            continue
        sheet.parking.add_spaces(row["floor__level_type"], row["n"], level)
    return [sheets[b.pk] for b in buildings], unassigned


def building_sheet(building: Building) -> BuildingSheet:
    """The general information sheet of one building: three grouped queries."""
    sheets, _unassigned = _sheets([building])
    return sheets[0]


def project_sheet(project: Project) -> ProjectSheet:
    """The sheet of a project: each residential building's sheet and the totals (four queries).

    Parking structures are not buildings of the sheet: their spaces count towards the
    building they serve, or towards the project when they serve none.
    """
    everything = sorted(
        Building.objects.filter(project=project).select_related("serves"), key=_building_order
    )
    for building in everything:
        building.project = project  # the sheet names "project, building" without a query each
    residential = [b for b in everything if not b.is_parking]
    structures = [b for b in everything if b.is_parking]
    sheets, unassigned = _sheets(residential, project_structures=structures)
    return ProjectSheet(
        project=project,
        buildings=sheets,
        parking_structures=structures,
        unassigned_parking=unassigned,
    )
