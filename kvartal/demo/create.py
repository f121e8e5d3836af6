"""Creating the planned projects and buildings through the services, on their launch dates."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from kvartal.accounts.models import Role
from kvartal.inventory.models import (
    Building,
    BuildingKind,
    Finishing,
    Principal,
    Project,
    Readiness,
    Section,
    Unit,
    UnitKind,
    UnitStatus,
    WindowView,
)
from kvartal.inventory.services import (
    building_save,
    project_save,
    section_generate,
    unit_update,
    units_bulk_set_price,
    units_bulk_set_status,
)

from .data import END, ROOMS_PERCENT, STANDARD_SPACE, VIEW_PERCENT, WIDE_SPACE
from .floorplans import draw_plans
from .plan import BuildingDraft, ProjectDraft, SectionDraft

SALES_OFFICE = "Офис продаж застройщика: не продаётся до сдачи комплекса"


def create(projects: list[ProjectDraft], people, say, *, plans: bool = False) -> None:
    """Create the planned projects and buildings, each with its sections, launch price list and
    closed floors, dated on the building's launch; ``people`` maps roles to the acting users."""
    keeper = people[Role.INVENTORY_KEEPER]
    # The developer sells every unit without a principal; an investor took some premises.
    Principal.objects.get_or_create(
        name="ООО «СЗ Уральский квартал»", defaults={"inn": "6658512340", "is_developer": True}
    )
    investor, _ = Principal.objects.get_or_create(
        name="ООО «Инвест-Урал»", defaults={"inn": "6670456789"}
    )
    for p in projects:
        p.obj = project_save(
            project=Project(
                name=p.name,
                city=p.city,
                district=p.district,
                address=p.address,
                description=f"Жилой комплекс класса «{p.klass}», {p.district}, г. {p.city}.",
            ),
            by=keeper,
        )
        for b in p.buildings:
            _create_building(p, b, keeper, plans=plans)
        say(f"  {p.name}: {len(p.buildings)} buildings")
    # An investor took the commercial premises of one complex: the first after the flagship's
    # that has any.
    for p in projects[1:] + projects[:1]:
        premises = Unit.objects.filter(building__project=p.obj, kind=UnitKind.COMMERCIAL)
        if premises.exists():
            launch = {b.obj.pk: b.launch for b in p.buildings}
            for unit in premises.order_by("pk"):
                unit_update(
                    unit=unit,
                    data={"principal": investor},
                    by=keeper,
                    reason="Договор инвестирования № 14/И",
                    at=launch[unit.building_id] + timedelta(hours=4),
                )
            break


def _create_building(p: ProjectDraft, b: BuildingDraft, keeper, *, plans: bool) -> None:
    completed = b.completion is not None and b.completion < END.date()
    n = p.buildings.index(b) + 1
    region = p.code.split("-")[0]
    b.obj = building_save(
        building=Building(
            project=p.obj,
            kind=b.kind,
            name=b.name,
            object_code=f"{p.code}-{n}",
            construction_address=b.address,
            postal_address=f"г. {p.city}, {p.street}, д. {p.house + 2 * n}" if completed else "",
            cadastral_number=(
                f"{region}:41:{int(p.code[-2:]) * 1000 + n:07d}:{100 + n * 37}" if completed else ""
            ),
            completion_date=b.completion,
            readiness=Readiness.COMPLETED if completed else Readiness.UNDER_CONSTRUCTION,
            serves=b.serves.obj if b.serves else None,
        ),
        by=keeper,
    )
    for s in b.sections:
        s.plan.price_per_m2 = b.price_per_m2
        s.plan.floor_price_step = b.floor_step
        section = section_generate(building=b.obj, plan=s.plan, by=keeper, at=b.launch)
        _complete_creation_data(section, s, b)
        if plans and b.kind != BuildingKind.PARKING:
            draw_plans(section, by=keeper, at=b.launch + timedelta(minutes=30))
    # The units were entered on the launch, where their history starts (``created_at`` is
    # set to now on insert): the chessboard as of a past date finds them.
    Unit.objects.filter(building=b.obj).update(created_at=b.launch)
    _price_list(b, keeper)
    closed = Unit.objects.none()
    for s in b.sections:
        if s.closed_top:
            top = s.plan.floors - s.closed_top
            closed |= Unit.objects.filter(
                building=b.obj, section__number=s.plan.number, floor__index__gt=top
            )
    if closed.exists():
        units_bulk_set_status(
            units=closed,
            status=UnitStatus.NOT_FOR_SALE,
            by=keeper,
            reason="Верхние этажи закрыты до следующего этапа продаж",
            at=b.launch + timedelta(hours=2),
        )
    if b is p.buildings[0]:
        office = b.obj.units.filter(kind=UnitKind.COMMERCIAL, section__number=1, position=1)
        if office.exists():
            units_bulk_set_status(
                units=office,
                status=UnitStatus.NOT_FOR_SALE,
                by=keeper,
                reason=SALES_OFFICE,
                at=b.launch + timedelta(hours=2),
            )


def _complete_creation_data(section: Section, s: SectionDraft, b: BuildingDraft) -> None:
    """Fill in what a ``UnitSpec`` cannot carry yet: view, finishing, balcony, sizes.

    These are the units' data as entered, written in the transaction that created them, so
    their creation ``UnitChange`` row stays the truth (no edit has happened). The proper home
    is ``UnitSpec`` itself; then this function goes.
    """
    units = Unit.objects.filter(section=section)
    if b.kind == BuildingKind.PARKING:
        wide = units.filter(position__in=s.wide)
        wide.update(length=WIDE_SPACE[0], width=WIDE_SPACE[1])
        units.exclude(position__in=s.wide).update(length=STANDARD_SPACE[0], width=STANDARD_SPACE[1])
        return
    flats = units.filter(kind=UnitKind.APARTMENT)
    by_view = defaultdict(list)
    for position, view in s.views.items():
        by_view[view].append(position)
    for view, positions in sorted(by_view.items()):
        flats.filter(position__in=positions).update(view=view)
    if s.tower:
        flats.filter(view=WindowView.STREET, floor__index__gte=15).update(view=WindowView.CITY)
    flats.update(finishing=b.finishing, ceiling_height=b.ceiling)
    flats.filter(rooms__gte=1).update(has_balcony=True)
    units.filter(kind=UnitKind.COMMERCIAL).update(
        view=WindowView.STREET, finishing=Finishing.WHITE_BOX, ceiling_height=Decimal("4.20")
    )


def _price_list(b: BuildingDraft, keeper) -> None:
    """The launch price list: by rooms and view for flats, by kind and level for the rest."""
    at = b.launch + timedelta(hours=1)
    units = Unit.objects.filter(building=b.obj)
    groups: list[tuple[dict, Decimal]] = []
    reason = "Прайс-лист по планировкам, видам и этажам"
    if b.kind == BuildingKind.PARKING:
        reason = "Прайс-лист паркинга по уровням"
        groups += [({"floor__index": 1}, Decimal(-20)), ({"floor__index": -2}, Decimal(-8))]
    else:
        flats = units.filter(kind=UnitKind.APARTMENT).order_by()
        for rooms, view in sorted(flats.values_list("rooms", "view").distinct()):
            percent = (
                Decimal(100 + ROOMS_PERCENT[rooms]) * (100 + VIEW_PERCENT.get(view, 0)) / 100 - 100
            )
            groups.append(({"kind": UnitKind.APARTMENT, "rooms": rooms, "view": view}, percent))
        groups += [
            ({"kind": UnitKind.COMMERCIAL}, Decimal(40)),
            ({"kind": UnitKind.STORAGE}, Decimal(-40)),
        ]
    for lookup, percent in groups:
        group = units.filter(**lookup)
        if percent and group.exists():
            units_bulk_set_price(
                units=group,
                percent=percent.quantize(Decimal("0.1")),
                round_to=Decimal(1000),
                by=keeper,
                reason=reason,
                at=at,
            )
