"""The plan: projects, buildings and sections to create, in pure Python (no database)."""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from kvartal.inventory.models import Building, BuildingKind, Project, UnitKind, WindowView
from kvartal.inventory.services import SectionPlan, UnitSpec

from .data import (
    AREAS,
    CITIES,
    CITY_WEIGHTS,
    CLASSES,
    COMPLEXES,
    KITCHENS,
    MONTHS,
    MORE_COMPLEXES,
    STANDARD_SPACE,
    START,
    WIDE_SPACE,
    Size,
    area,
    month_start,
    quarter_end,
)


@dataclass
class SectionDraft:
    plan: SectionPlan
    views: dict[int, str] = field(default_factory=dict)  # riser position → view
    tower: bool = False
    closed_top: int = 0  # top floors closed for sale at launch
    reopens: bool = False  # … and opened again in the building's ``reopen_month``
    wide: list[int] = field(default_factory=list)  # wide parking spaces (positions)


@dataclass
class BuildingDraft:
    project: "ProjectDraft"
    name: str
    kind: str
    address: str
    launch_month: int  # sales started this many months after START (≤ 0: before)
    price_per_m2: Decimal
    sections: list[SectionDraft]
    serves: "BuildingDraft | None" = None
    completion: date | None = None
    floor_step: Decimal = Decimal(0)
    finishing: str = "none"
    ceiling: Decimal = Decimal("2.70")
    cadence: int = 2  # months between price rises
    pace: float = 36.0  # months for ~63 % of the stock to sell
    reopen_month: int | None = None
    promo_month: int | None = None
    units: int = 0
    obj: Building | None = None

    @property
    def launch(self) -> datetime:
        """When the building's units were entered and put on sale (the import date at START)."""
        if self.launch_month <= 0:
            return START + timedelta(hours=6)
        offset = sum(map(ord, self.name + self.project.name)) % 15
        return month_start(self.launch_month) + timedelta(days=offset, hours=6)


@dataclass
class ProjectDraft:
    name: str
    city: str
    district: str
    address: str
    klass: str
    feature: str  # the view that sells: park or water
    code: str
    street: str
    house: int
    buildings: list[BuildingDraft] = field(default_factory=list)
    obj: Project | None = None


def _plan_units(plan: SectionPlan) -> int:
    typical = sum(1 for i in plan.floor_indexes() if plan.risers and plan.is_typical(i))
    return typical * len(plan.risers) + len(plan.non_typical)


def _risers(rng: random.Random, n: int, klass: str) -> list[UnitSpec]:
    risers = []
    for position in range(1, n + 1):
        corner = position in (1, n)
        if klass == "бизнес":
            rooms = rng.choice([3, 3, 4] if corner else [1, 2, 2, 3])
        else:
            rooms = rng.choice([2, 3, 3] if corner else [0, 1, 1, 2])
        total = area(rng, *AREAS[rooms])
        living = (total * Decimal(rng.randint(45, 62)) / 100).quantize(Decimal("0.1"))
        kitchen = None if rooms == 0 else area(rng, *KITCHENS[rooms])
        risers.append(
            UnitSpec(
                position=position,
                rooms=rooms,
                total_area=total,
                living_area=living,
                kitchen_area=kitchen,
            )
        )
    return risers


def _residential_section(
    rng: random.Random,
    size: Size,
    number: int,
    shape: tuple[int, int] | None,
    project: ProjectDraft,
) -> SectionDraft:
    floors, n = shape or (rng.choice(size.floors), rng.randint(*size.risers))
    commercial = shape is not None or rng.random() < 0.75
    storage = shape is not None or rng.random() < 0.5
    non_typical = []
    if commercial:
        non_typical += [
            UnitSpec(position=p, floor=1, kind=UnitKind.COMMERCIAL, total_area=area(rng, 45, 180))
            for p in range(1, max(2, n // 3) + 1)
        ]
    if storage:
        non_typical += [
            UnitSpec(position=p, floor=-1, kind=UnitKind.STORAGE, total_area=area(rng, 2.5, 7.5))
            for p in range(1, rng.randint(*size.storage) + 1)
        ]
    skip = [13] if floors >= 14 and (number % 2 == 0 or rng.random() < 0.3) else []
    plan = SectionPlan(
        number=number,
        name=f"Секция {number}",
        floors=floors,
        typical_from=2 if commercial else 1,
        risers=_risers(rng, n, project.klass),
        non_typical=non_typical,
        underground=1 if storage else 0,
        skip_floor_labels=skip,
    )
    views = {p: WindowView.STREET if p <= n // 2 else WindowView.YARD for p in range(1, n + 1)}
    if rng.random() < 0.5:
        views[n] = views[n - 1] = project.feature
    closed = rng.choice([2, 3, 4]) if floors >= 12 and rng.random() < 0.5 else 0
    if shape is not None and number == 1:  # the flagship shows closed floors on its chessboard
        closed = 3
    return SectionDraft(
        plan=plan,
        views=views,
        tower=floors >= 20,
        closed_top=closed,
        reopens=closed > 0 and number > 1 and rng.random() < 0.6,
    )


def _parking_section(rng: random.Random, number: int, spaces: int) -> SectionDraft:
    levels = [-2, -1] if spaces > 120 else [-1]
    above = spaces > 60 and rng.random() < 0.35
    if above:
        levels.append(1)
    per_level = max(4, spaces // len(levels))
    wide = [p for p in range(1, per_level + 1) if p % 9 == 0]
    specs = []
    for level in levels:
        for p in range(1, per_level + 1):
            length, width = WIDE_SPACE if p in wide else STANDARD_SPACE
            specs.append(
                UnitSpec(position=p, floor=level, kind=UnitKind.PARKING, total_area=length * width)
            )
    plan = SectionPlan(
        number=number,
        name=f"Очередь {number}",
        floors=1,  # level 1 exists even when nothing stands on it: a plan has ≥ 1 floor
        underground=-min(levels),
        non_typical=specs,
    )
    return SectionDraft(plan=plan, wide=wide)


def plan(size: Size, rng: random.Random) -> list[ProjectDraft]:
    """The projects, buildings and sections to create: pure Python, no database.

    Complexes are added until the size's unit count is reached; each has its residential
    buildings (launched in phases) and a parking structure per ``parking_every`` of them.
    """
    projects: list[ProjectDraft] = []
    total = 0
    names = list(COMPLEXES)
    rng.shuffle(names)
    names += MORE_COMPLEXES
    while total < size.units:
        project = _project(rng, len(projects), names)
        projects.append(project)
        first_month = rng.randint(-30, 8) if len(projects) > 1 else -14
        word = rng.choice(["Корпус", "Дом"])
        factor = next(f for f, label in CLASSES if label == project.klass)
        price = Decimal(CITIES[project.city][1]) * factor * Decimal(rng.randint(95, 105)) / 100
        residential = []
        for j in range(rng.randint(*size.buildings_per_project)):
            if total >= size.units and j:
                break
            flagship = size.flagship if len(projects) == 1 and j == 0 else None
            n_sections = flagship[0] if flagship else rng.randint(*size.sections)
            sections = [
                _residential_section(rng, size, s, flagship[1:] if flagship else None, project)
                for s in range(1, n_sections + 1)
            ]
            # The last building of a size shrinks so as not to overshoot by much (with parking).
            while (
                len(sections) > 1
                and total + 1.3 * sum(_plan_units(s.plan) for s in sections) > 1.05 * size.units
            ):
                sections.pop()
            started = first_month + j * rng.randint(2, 6)
            building = BuildingDraft(
                project=project,
                name=f"{word} {j + 1}",
                kind=BuildingKind.RESIDENTIAL,
                address=(
                    f"г. {project.city}, {project.district}, {project.street}, "
                    f"уч. {project.house}/{j + 1}"
                ),
                launch_month=min(started, MONTHS - 3),
                price_per_m2=(price * Decimal(rng.randint(97, 103)) / 100).quantize(Decimal(100)),
                sections=sections,
                floor_step=Decimal(rng.choice(["0.3", "0.4", "0.5", "0.6", "0.8"])),
                finishing=rng.choice(["none", "white_box", "finished"]),
                ceiling=Decimal(rng.choice(["2.70", "2.75", "2.80", "3.00"])),
                cadence=rng.choice([1, 1, 2, 2, 3]),
                pace=rng.uniform(28, 44),
                completion=_completion(rng, started),
            )
            _schedule_extras(rng, building)
            building.units = sum(_plan_units(s.plan) for s in sections)
            total += building.units
            residential.append(building)
        project.buildings += residential
        parking = _parking_structures(rng, size, residential, factor)
        project.buildings += parking
        total += sum(b.units for b in parking)
    return projects


def _project(rng: random.Random, k: int, names: list[str]) -> ProjectDraft:
    """The k-th complex: the first three in Yekaterinburg, Tyumen and Chelyabinsk."""
    base = names[k % len(names)]
    name = f"ЖК «{base}»" if k < len(names) else f"ЖК «{base}-{k // len(names) + 1}»"
    cities = list(CITY_WEIGHTS)
    city = cities[k] if k < 3 else rng.choices(cities, [CITY_WEIGHTS[c] for c in cities])[0]
    region, _price, districts, streets = CITIES[city]
    street = rng.choice(streets)
    house = rng.randint(2, 180)
    klass = "комфорт" if k == 0 else rng.choices(["стандарт", "комфорт", "бизнес"], [2, 5, 2])[0]
    return ProjectDraft(
        name=name,
        city=city,
        district=f"{rng.choice(districts)} район",
        address=f"г. {city}, {street}, {house}",
        street=street,
        house=house,
        klass=klass,
        feature=rng.choice([WindowView.PARK, WindowView.WATER]),
        code=f"{region}-{k + 1:02d}",
    )


def _parking_structures(
    rng: random.Random, size: Size, residential: list[BuildingDraft], factor: Decimal
) -> list[BuildingDraft]:
    """One underground parking per ``size.parking_every`` buildings, serving the first of them."""
    every = size.parking_every
    structures = []
    for p, served in enumerate(residential[::every], start=1):
        group = residential[every * (p - 1) : every * p]
        spaces = int(sum(b.units for b in group) * rng.uniform(*size.spaces_per_unit))
        queues = 2 if spaces > 300 else 1
        sections = [_parking_section(rng, q, spaces // queues) for q in range(1, queues + 1)]
        space_price = Decimal(rng.randint(9, 16)) * 150_000 * factor
        parking = BuildingDraft(
            project=served.project,
            name=f"Паркинг {p}",
            kind=BuildingKind.PARKING,
            address=f"{served.address}, подземная автостоянка",
            launch_month=served.launch_month,
            price_per_m2=(space_price / Decimal("13.25")).quantize(Decimal(100)),
            sections=sections,
            serves=served,
            cadence=3,
            pace=served.pace * 1.6,
            completion=served.completion,
        )
        parking.units = sum(_plan_units(s.plan) for s in sections)
        structures.append(parking)
    return structures


def _completion(rng: random.Random, started: int) -> date:
    moment = month_start(started + rng.randint(24, 36))
    return min(max(quarter_end(moment), date(2025, 3, 31)), date(2028, 12, 31))


def _schedule_extras(rng: random.Random, b: BuildingDraft) -> None:
    first = max(b.launch_month, 0)
    if any(s.reopens for s in b.sections) and first + 5 < MONTHS:
        b.reopen_month = rng.randint(first + 4, min(first + 9, MONTHS - 1))
    if first + 3 < MONTHS and rng.random() < 0.25:
        b.promo_month = rng.randint(first + 2, MONTHS - 1)
