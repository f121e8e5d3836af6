"""The demo data set for benchmarks, written in bulk: ``generate_bulk(size="L")``.

``dataset.generate`` replays every event of the 18 months through the services, one call at a
time: right for the demo, far too slow for L (≈120 000 units, ≈1 M history rows). This
loader plans the same thing — the projects (``plan``), the promotions and the 18 months
(``history.simulate``: the same client paths for the same seed) — and writes the rows the
services would have written, in a few big passes:

* the inventory as ``create.create`` makes it through the services (``create_inventory``:
  the same units, numbers, codes and prices, the same creation rows, launch price lists and
  closed floors, row for row — the tests compare the two);
* then the months, played *in memory* in date order (``_Loader``): a ``StatusChange`` for
  every status move (held, hold cancelled or expired, in a deal, sold, terminated, floors
  reopened) with the price at the time, the actor and the services' reasons; a
  ``PriceBatch`` and ``PriceChange`` rows for every price rise (units held, in a deal or sold
  keep their price, as ``units_bulk_set_price`` skips them); clients with their lead,
  consent, visit and history; holds (extended, cancelled, run out) with their ``HoldEvent``
  rows; deals with their buyer, ``DealEvent`` rows (opened, schedule, stage moves, payments,
  termination), payment schedules summing to the price and the payments received (late
  payers leave some lines overdue).

Every decision of the months comes from ``sales.SaleScript``, which the services' replay
(``sales.SalesReplay``) uses too, asked in the same order: the rows are the services' rows,
row for row (``tests/test_bulk_parity.py`` compares a small data set loaded both ways). A
rule the services apply is mirrored here, never invented: a new kind of row belongs in
``SalesReplay`` first, through the services.

Rows go in with ``bulk_create`` in batches of ``BATCH``; ids are handed out here (after the
tables' current maximum), so that rows can refer to each other before they are written (the
foreign keys are checked at commit) and each table is written in one streaming pass. The
units' final status, price and hold end go in with plain ``UPDATE`` statements at the end.
Holds that ran out before the data set's end are finalised as the periodic job does (state
``expired``, the unit back on sale at the moment the hold ended, a notice to the manager).
The same seed gives the same data.
"""

import dataclasses
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Count, Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kvartal import audit
from kvartal.accounts.models import Notice, Role, Team, User
from kvartal.accounts.notices import render_message
from kvartal.clients.models import (
    Client,
    ClientEvent,
    ClientEventKind,
    ClientKind,
    Consent,
    ConsentChannel,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadStatus,
    Task,
    Visit,
)
from kvartal.clients.normalize import format_phone
from kvartal.inventory.models import (
    STATUS_TRANSITIONS,
    Building,
    BuildingKind,
    Finishing,
    Floor,
    LevelType,
    PriceBatch,
    PriceChange,
    Principal,
    Project,
    Readiness,
    Section,
    StatusChange,
    Unit,
    UnitChange,
    UnitKind,
    UnitStatus,
    WindowView,
    unit_code,
)
from kvartal.inventory.services import NUMBERING_ORDERS
from kvartal.sales import owing
from kvartal.sales.models import (
    AppliedPromotion,
    Deal,
    DealBuyer,
    DealCounter,
    DealEvent,
    DealEventKind,
    DealUnit,
    Hold,
    HoldEvent,
    HoldEventKind,
    HoldKind,
    HoldState,
    Payment,
    PaymentLine,
    PaymentMethod,
    Stage,
    StageScheme,
    StageTransition,
)
from kvartal.sales.services.payments import plan_lines

from . import dataset
from .create import SALES_OFFICE
from .data import (
    DEMO_PASSWORD,
    END,
    MONTHS,
    ROOMS_PERCENT,
    SIZES,
    STANDARD_SPACE,
    TEAM,
    VIEW_PERCENT,
    WIDE_SPACE,
)
from .floorplans import draw_plans
from .history import PRICE, SALE, simulate
from .people import COMPANIES, FEMALE_FIRST, LAST, MALE_FIRST, papers, person
from .plan import BuildingDraft, ProjectDraft, plan
from .promotions import create_promotions
from .sales import (
    HOLD_COMMENTS,
    LEAD_MESSAGE,
    TERMINATION,
    VISIT_ASKED,
    Enquiry,
    SalePath,
    SaleScript,
)

__all__ = ["BATCH", "generate_bulk", "sales_counts"]

BATCH = 5000
# Sales managers added to the team beyond the demo's two: a big developer's sales office.
EXTRA_MANAGERS = {"M": 4, "L": 12}
KOPECK = Decimal("0.01")
THOUSAND = Decimal(1000)
PRICED_BY_BATCH = (UnitStatus.AVAILABLE, UnitStatus.NOT_FOR_SALE)  # what a bulk price change moves


def generate_bulk(
    *,
    size: str,
    seed: int = 42,
    users: bool = True,
    units: int | None = None,
    say: Callable[[str], None] = lambda s: None,
) -> dataset.Report:
    """Load the demo data set of ``size`` for ``seed`` in bulk (see the module's docstring).

    ``units`` overrides the size's target unit count (small data sets for tests). One
    transaction: it loads completely or not at all. Then ``VACUUM ANALYZE`` (PostgreSQL).
    Returns the report of ``dataset.generate``, its counts extended with the sales'.
    """
    users = users and dataset.demo_users_allowed()
    spec = SIZES[size]
    if units is not None:
        spec = dataclasses.replace(spec, units=units)
    timings: dict[str, float] = {}
    clock = step = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal step
        now = time.perf_counter()
        timings[name] = now - step
        step = now

    with transaction.atomic():
        people, user_rows = dataset._users(users)
        dataset._company()
        managers = _team(people, extra=EXTRA_MANAGERS.get(size, 0), usable=users)
        lap("users")
        projects = plan(spec, random.Random(seed))
        say(
            f"Plan: {len(projects)} projects, {sum(len(p.buildings) for p in projects)} "
            f"buildings, ~{sum(b.units for p in projects for b in p.buildings)} units"
        )
        lap("plan")
        create_inventory(projects, people, say)
        if dataset.draws_plans(spec):
            draw_section_plans(projects, people[Role.INVENTORY_KEEPER])
        lap("create")
        create_promotions(projects, people)
        events = simulate(projects, seed, managers=len(managers))
        lap("simulate")
        say(f"Inventory created; playing {len(events)} events of {MONTHS} months in memory")
        loader = _Loader(people=people, managers=managers, seed=seed, say=say)
        loader.play(events)
        lap("sales")
        say("Writing the sales and the units' final state")
        loader.finish()
        # What the receivers keep on every payment and planned payment the services write.
        owing.keep(Deal.objects.values_list("pk", flat=True))
        # The history above went in without the services, so without their audit rows: the
        # log says how it came (the rows from here on are the services' own).
        audit.record(
            "seed_demo",
            object_repr=_("Demo data, size %(size)s, seed %(seed)s: the history written in bulk")
            % {"size": size, "seed": seed},
            data={"size": size, "seed": seed, "events": len(events), **sales_counts()},
        )
        lap("write")
    dataset._analyze()
    lap("analyze")
    timings["total"] = time.perf_counter() - clock
    report_counts = {**dataset.counts(), **sales_counts()}
    return dataset.Report(
        size=size, seed=seed, counts=report_counts, timings=timings, users=user_rows
    )


def draw_section_plans(projects: list[ProjectDraft], keeper) -> None:
    """The drawn plans ``create`` gives a small set, by the same function, dated the same:
    each section of a building (not a parking structure) half an hour after its launch."""
    for p in projects:
        for b in p.buildings:
            if b.kind == BuildingKind.PARKING:
                continue
            for section in b.obj.sections.select_related("building").order_by("number"):
                draw_plans(section, by=keeper, at=b.launch + timedelta(minutes=30))


def sales_counts() -> dict[str, int]:
    """The sales side of the data set, for the command's report."""
    result = {
        "clients": Client.objects.count(),
        "leads": Lead.objects.count(),
    }
    for status, n in sorted(Lead.objects.order_by().values_list("status").annotate(n=Count("pk"))):
        result[f"  {status}"] = n
    result["visits"] = Visit.objects.count()
    result["holds"] = Hold.objects.count()
    result["  active holds"] = Hold.objects.filter(state=HoldState.ACTIVE).count()
    result["deals"] = Deal.objects.count()
    result["  active deals"] = Deal.objects.filter(is_active=True).count()
    result["  terminated"] = Deal.objects.filter(is_active=False).count()
    result["deal events"] = DealEvent.objects.count()
    result["payment lines"] = PaymentLine.objects.count()
    result["payments"] = Payment.objects.count()
    return result


# --- people ---------------------------------------------------------------------------------


def _team(people, *, extra: int, usable: bool) -> list[User]:
    """The demo's managers (``dataset._managers``) and ``extra`` more in the same team,
    created in one statement when missing: ``manager3`` … (``demo-manager3`` … without demo
    users, who cannot sign in)."""
    managers = dataset._managers(people)
    if not extra:
        return managers
    team = Team.objects.get(name=TEAM)
    prefix = "" if usable else "demo-"
    logins = [f"{prefix}manager{n}" for n in range(3, 3 + extra)]
    existing = {u.username: u for u in User.objects.filter(username__in=logins)}
    rng = random.Random("demo/managers")
    password = make_password(DEMO_PASSWORD if usable else None)
    new = []
    for login in logins:
        female = rng.random() < 0.6
        first = rng.choice(FEMALE_FIRST if female else MALE_FIRST)
        last = rng.choice(LAST) + ("а" if female else "")
        if login not in existing:
            new.append(
                User(
                    username=login,
                    role=Role.SALES_MANAGER,
                    first_name=first,
                    last_name=last,
                    email=f"{login}@kvartal.local" if usable else "",
                    password=password,
                    team=team,
                )
            )
    User.objects.bulk_create(new)
    User.objects.filter(username__in=logins).update(team=team)
    by_login = {u.username: u for u in User.objects.filter(username__in=logins)}
    return managers + [by_login[login] for login in logins]


# --- the inventory -----------------------------------------------------------------------------

INVESTOR_REASON = "Договор инвестирования № 14/И"


def create_inventory(projects: list[ProjectDraft], people, say=lambda s: None) -> None:
    """What ``create.create`` writes through the services (without drawn plans), in bulk.

    The same projects, buildings, sections, floors and units — numbered and coded as
    ``section_generate`` does, priced by floor, with the data ``create`` fills in (views,
    finishing, sizes) — and the same history: a creation ``UnitChange`` and ``StatusChange``
    per unit, the launch price list (a ``PriceBatch`` per group, a ``PriceChange`` per unit),
    closed floors and the sales office (``StatusChange``), the investor's premises
    (``UnitChange``). Rows in the same order as ``create`` writes them. Sets ``obj`` on every
    draft, as ``create`` does.
    """
    keeper = people[Role.INVENTORY_KEEPER]
    Principal.objects.get_or_create(
        name="ООО «СЗ Уральский квартал»", defaults={"inn": "6658512340", "is_developer": True}
    )
    investor, _created = Principal.objects.get_or_create(
        name="ООО «Инвест-Урал»", defaults={"inn": "6670456789"}
    )
    inventory = _Inventory(keeper)
    for p in projects:
        inventory.project(p)
        say(f"  {p.name}: {len(p.buildings)} buildings")
    inventory.investor(projects, investor)
    inventory.write()


class _Inventory:
    def __init__(self, keeper):
        self.actor = keeper.pk if keeper is not None else None
        self.ids = _Ids(Project, Building, Section, Floor, Unit, PriceBatch)
        self.sink = _Sink()
        self.units: list[Unit] = []
        self.floors: dict[int, Floor] = {}
        self.launch: dict[int, datetime] = {}

    def project(self, p: ProjectDraft) -> None:
        p.obj = Project(
            id=self.ids(Project),
            name=p.name,
            city=p.city,
            district=p.district,
            address=p.address,
            description=f"Жилой комплекс класса «{p.klass}», {p.district}, г. {p.city}.",
        )
        self.sink.add(p.obj)
        for n, b in enumerate(p.buildings, start=1):
            self.building(p, b, n)

    def building(self, p: ProjectDraft, b: BuildingDraft, n: int) -> None:
        completed = b.completion is not None and b.completion < END.date()
        region = p.code.split("-")[0]
        b.obj = Building(
            id=self.ids(Building),
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
        )
        self.sink.add(b.obj)
        self.launch[b.obj.id] = b.launch
        numbers: dict[str, int] = {}  # the next number per kind in the building
        units: list[Unit] = []
        for s in b.sections:
            s.plan.price_per_m2 = b.price_per_m2
            s.plan.floor_price_step = b.floor_step
            units += self.section(b, s, numbers)
        self.price_list(b, units)
        closed = [
            u
            for s in b.sections
            if s.closed_top
            for u in units
            if u.section.number == s.plan.number
            and self.floors[u.floor_id].index > s.plan.floors - s.closed_top
        ]
        self.close(closed, b, "Верхние этажи закрыты до следующего этапа продаж")
        if b is p.buildings[0]:
            office = [
                u
                for u in units
                if u.kind == UnitKind.COMMERCIAL and u.section.number == 1 and u.position == 1
            ]
            self.close(office, b, SALES_OFFICE)
        self.units += units

    def section(self, b: BuildingDraft, s, numbers: dict[str, int]) -> list[Unit]:
        """``section_generate`` and ``_complete_creation_data`` of ``create``."""
        plan_ = s.plan
        plan_.validate()
        section = Section(
            id=self.ids(Section), building=b.obj, number=plan_.number, name=plan_.name
        )
        self.sink.add(section)
        labels = plan_.labels()
        floors = []
        for index in plan_.floor_indexes():
            floor = Floor(
                id=self.ids(Floor),
                section=section,
                index=index,
                label=labels[index],
                level_type=LevelType.UNDERGROUND if index < 0 else LevelType.ABOVE_GROUND,
                is_typical=bool(plan_.risers) and plan_.is_typical(index),
            )
            self.floors[floor.id] = floor
            self.sink.add(floor)
            floors.append(floor)
        by_floor: dict[int, list] = {}
        for spec in plan_.non_typical:
            by_floor.setdefault(spec.floor, []).append(spec)
        places = [
            (floor, spec)
            for floor in floors
            for spec in (plan_.risers if floor.is_typical else by_floor.get(floor.index, []))
        ]
        places.sort(key=NUMBERING_ORDERS[plan_.numbering])
        at = b.launch
        units = []
        for floor, spec in places:
            number = numbers.get(spec.kind, 1)
            numbers[spec.kind] = number + 1
            factor = plan_.price_factor(floor.index)
            price = _round_price(spec.total_area * plan_.price_per_m2 * factor, THOUSAND)
            unit = Unit(
                id=self.ids(Unit),
                building=b.obj,
                section=section,
                floor_id=floor.id,
                kind=spec.kind,
                number=str(number),
                code=unit_code(
                    kind=spec.kind, section=plan_.number, floor=floor.index, position=spec.position
                ),
                position=spec.position,
                rooms=spec.rooms if spec.kind == UnitKind.APARTMENT else None,
                total_area=spec.total_area,
                living_area=spec.living_area,
                kitchen_area=spec.kitchen_area,
                price=price,
                status=UnitStatus.AVAILABLE if price else UnitStatus.NOT_FOR_SALE,
                status_changed_at=at,
                created_by_id=self.actor,
            )
            self._complete(unit, floor, s, b)
            units.append(unit)
        for u in units:
            self.sink.add(UnitChange(unit_id=u.id, at=at, actor_id=self.actor, changes={}))
        for u in units:
            self.sink.add(
                StatusChange(
                    unit_id=u.id,
                    at=at,
                    actor_id=self.actor,
                    old_status="",
                    new_status=u.status,
                    price=u.price,
                )
            )
        return units

    @staticmethod
    def _complete(unit: Unit, floor: Floor, s, b: BuildingDraft) -> None:
        """The data ``create._complete_creation_data`` fills in after generating."""
        if b.kind == BuildingKind.PARKING:
            unit.length, unit.width = WIDE_SPACE if unit.position in s.wide else STANDARD_SPACE
        elif unit.kind == UnitKind.APARTMENT:
            view = s.views.get(unit.position, "")
            if s.tower and view == WindowView.STREET and floor.index >= 15:
                view = WindowView.CITY
            unit.view = view
            unit.finishing, unit.ceiling_height = b.finishing, b.ceiling
            unit.has_balcony = unit.rooms >= 1
        elif unit.kind == UnitKind.COMMERCIAL:
            unit.view, unit.finishing = WindowView.STREET, Finishing.WHITE_BOX
            unit.ceiling_height = Decimal("4.20")

    def price_list(self, b: BuildingDraft, units: list[Unit]) -> None:
        """``create._price_list``: by rooms and view for flats, by kind and level for the
        rest, one ``units_bulk_set_price`` each."""
        at = b.launch + timedelta(hours=1)
        groups: list[tuple[Callable, Decimal]] = []
        reason = "Прайс-лист по планировкам, видам и этажам"
        if b.kind == BuildingKind.PARKING:
            reason = "Прайс-лист паркинга по уровням"
            for level, percent in ((1, Decimal(-20)), (-2, Decimal(-8))):
                groups.append(
                    (lambda u, level=level: self.floors[u.floor_id].index == level, percent)
                )
        else:
            flats = sorted({(u.rooms, u.view) for u in units if u.kind == UnitKind.APARTMENT})
            for rooms, view in flats:
                percent = (
                    Decimal(100 + ROOMS_PERCENT[rooms]) * (100 + VIEW_PERCENT.get(view, 0)) / 100
                    - 100
                )
                groups.append(
                    (
                        lambda u, rooms=rooms, view=view: (
                            u.kind == UnitKind.APARTMENT and u.rooms == rooms and u.view == view
                        ),
                        percent,
                    )
                )
            groups += [
                (lambda u: u.kind == UnitKind.COMMERCIAL, Decimal(40)),
                (lambda u: u.kind == UnitKind.STORAGE, Decimal(-40)),
            ]
        for member, percent in groups:
            group = [u for u in units if member(u)]
            if not percent or not group:
                continue
            percent = percent.quantize(Decimal("0.1"))
            factor = 1 + percent / 100
            changes = []
            for u in group:
                new = _round_price(u.price * factor, THOUSAND)
                if u.price and new != u.price:
                    changes.append((u, new))
            if not changes:
                continue
            batch = PriceBatch(
                id=self.ids(PriceBatch),
                at=at,
                actor_id=self.actor,
                description=f"{percent:+} % — {reason}"[:300],
                units_count=len(changes),
            )
            self.sink.add(batch)
            for u, new in changes:
                self.sink.add(
                    PriceChange(
                        unit_id=u.id,
                        at=at,
                        actor_id=self.actor,
                        old_price=u.price,
                        new_price=new,
                        reason=reason,
                        batch_id=batch.id,
                    )
                )
                u.price = new

    def close(self, units: list[Unit], b: BuildingDraft, reason: str) -> None:
        """Units taken off sale at the building's launch (``units_bulk_set_status``)."""
        at = b.launch + timedelta(hours=2)
        for u in sorted(units, key=lambda u: u.id):
            if u.status != UnitStatus.AVAILABLE:
                raise RuntimeError(f"unit {u.id} is {u.status}: it cannot be closed")
            self.sink.add(
                StatusChange(
                    unit_id=u.id,
                    at=at,
                    actor_id=self.actor,
                    old_status=u.status,
                    new_status=UnitStatus.NOT_FOR_SALE,
                    price=u.price,
                    reason=reason,
                )
            )
            u.status, u.status_changed_at = UnitStatus.NOT_FOR_SALE, at

    def investor(self, projects: list[ProjectDraft], investor: Principal) -> None:
        """The investor took the commercial premises of the first complex after the
        flagship's that has any (``unit_update`` with the principal)."""
        for p in projects[1:] + projects[:1]:
            buildings = {b.obj.id for b in p.buildings}
            premises = [
                u
                for u in self.units
                if u.building_id in buildings and u.kind == UnitKind.COMMERCIAL
            ]
            if premises:
                for u in premises:
                    u.principal = investor
                    self.sink.add(
                        UnitChange(
                            unit_id=u.id,
                            at=self.launch[u.building_id] + timedelta(hours=4),
                            actor_id=self.actor,
                            changes={"principal": [None, str(investor)]},
                            reason=INVESTOR_REASON,
                        )
                    )
                break

    def write(self) -> None:
        _write_all(Unit, self.units)
        # ``created_at`` is set to now on insert (auto_now_add): the units were entered on
        # their building's launch, where their history starts.
        for building_id, launch in self.launch.items():
            Unit.objects.filter(building_id=building_id).update(created_at=launch)
        self.sink.flush()
        self.ids.reset()


# --- writing ---------------------------------------------------------------------------------


class _Ids:
    """Ids handed out in Python, after each table's current maximum: rows can point at each
    other before any is written. The sequences are moved past them at the end (``reset``)."""

    def __init__(self, *models_: type[models.Model]):
        self.next = {m: (m.objects.aggregate(n=Max("pk"))["n"] or 0) + 1 for m in models_}

    def __call__(self, model: type[models.Model]) -> int:
        n = self.next[model]
        self.next[model] = n + 1
        return n

    def reset(self) -> None:
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), list(self.next)):
                cursor.execute(sql)


class _Sink:
    """Append-only rows, written ``BATCH`` at a time as they come (``bulk_create``)."""

    def __init__(self):
        self.rows: dict[type, list] = defaultdict(list)
        self.written: Counter = Counter()

    def add(self, obj: models.Model) -> None:
        rows = self.rows[type(obj)]
        rows.append(obj)
        if len(rows) >= BATCH:
            self.flush(type(obj))

    def flush(self, model: type | None = None) -> None:
        for m in [model] if model is not None else list(self.rows):
            rows = self.rows[m]
            if rows:
                m.objects.bulk_create(rows, batch_size=BATCH)
                self.written[m] += len(rows)
                rows.clear()


def _write_all(model: type[models.Model], rows: list) -> None:
    for i in range(0, len(rows), BATCH):
        model.objects.bulk_create(rows[i : i + BATCH], batch_size=BATCH)


# --- the units in memory ---------------------------------------------------------------------


@dataclasses.dataclass(slots=True, eq=False)
class _Unit:
    """What the months change on a unit, and what the sales read about it."""

    pk: int
    building_id: int
    project_id: int
    kind: str
    rooms: int | None
    number: str
    total_area: Decimal
    status: str
    price: Decimal
    changed_at: datetime | None
    completion: object  # the building's completion date
    hold_until: datetime | None = None
    hold: Hold | None = None  # the active hold
    deal: Deal | None = None  # the active deal
    dirty: bool = False

    @property
    def building(self):  # ``promotion_rule`` reads ``unit.building.project_id``
        return self

    def __str__(self) -> str:
        return f"{UnitKind(self.kind).label} {self.number}"


def _round_price(value: Decimal, step: Decimal) -> Decimal:
    """As ``units_bulk_set_price`` rounds: half up to ``step``, kept in kopecks."""
    return ((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).quantize(KOPECK)


def _pk(user) -> int | None:
    return user.pk if user is not None else None


def _money(value) -> str:
    return str(Decimal(value).quantize(KOPECK))


def _until(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%d.%m.%Y %H:%M")


def _line_data(line: PaymentLine) -> dict:
    return {
        "due_date": line.due_date.isoformat(),
        "amount": str(line.amount),
        "kind": line.kind,
        "payer": line.payer,
    }


class _Loader(SaleScript):
    """Plays the simulated months in date order against the units in memory and collects
    the rows the services would have written. Every decision (a buyer's first call, a hold's
    term and extensions, the discounts, the payments' dates) comes from ``SaleScript``, asked
    in the order ``SalesReplay`` asks it: the same seed gives the same rows."""

    def __init__(self, *, people, managers: list[User], seed: int, say):
        super().__init__(people=people, managers=managers, seed=seed)
        self.say = say
        self.keeper = people[Role.INVENTORY_KEEPER]
        self.scheme = StageScheme.default()
        self.stages = {s.code: s for s in Stage.objects.filter(scheme=self.scheme)}
        self.initial = next(s for s in self.stages.values() if s.is_initial)
        self.termination = next(s for s in self.stages.values() if s.is_termination)
        self.moves = set(
            StageTransition.objects.filter(scheme=self.scheme).values_list("source_id", "target_id")
        )
        self.ids = _Ids(
            Client, Lead, Consent, Visit, Hold, Deal, PaymentLine, Payment, PriceBatch, Notice
        )
        self.sink = _Sink()
        self.units: dict[int, _Unit] = {}
        self.by_building: dict[int, list[_Unit]] = defaultdict(list)
        completion = dict(Building.objects.values_list("pk", "completion_date"))
        for row in Unit.objects.order_by("pk").values_list(
            "pk",
            "building_id",
            "building__project_id",
            "kind",
            "rooms",
            "number",
            "total_area",
            "status",
            "price",
            "status_changed_at",
            "hold_until",
        ):
            unit = _Unit(*row[:10], completion=completion[row[1]], hold_until=row[10])
            self.units[unit.pk] = unit
            self.by_building[unit.building_id].append(unit)
        self.holds: list[Hold] = []
        self.deals: list[Deal] = []
        self.received: dict[int, Decimal] = {}
        self.clients: dict[object, tuple[int, str]] = {}  # buyer key → (id, name)
        self.client_names: dict[int, str] = {}
        self.seed = seed
        self.numbers: Counter = Counter()  # deal numbers per year
        self.labels = {s.pk: s.label for s in self.stages.values()}

    # --- the calendar ---------------------------------------------------------------------

    def play(self, events: list[tuple]) -> None:
        for (at, order, group), items in groupby(events, key=lambda e: e[:3]):
            self.play_due(at)
            payloads = [e[3] for e in items]
            if order == SALE:
                for action, path, until in payloads:
                    getattr(self, f"on_{action}")(at, path, until)
            elif order == PRICE:
                for building_id, percent, rooms, reason in payloads:
                    self.reprice(at, building_id, percent, rooms, reason)
            else:
                new_status, reason = group.split("|", 1)
                self.open(at, payloads, new_status, reason)
        self.play_to_end()

    # --- inventory ------------------------------------------------------------------------

    def _status(self, unit: _Unit, status: str, *, at, by, reason: str, hold_until=None) -> None:
        """``unit_set_sales_state`` / ``unit_set_status``: the move and its history row."""
        if status != unit.status:
            if status not in STATUS_TRANSITIONS[unit.status]:
                raise RuntimeError(f"unit {unit.pk}: {unit.status} → {status} at {at}")
            self.sink.add(
                StatusChange(
                    unit_id=unit.pk,
                    at=at,
                    actor_id=_pk(by),
                    old_status=unit.status,
                    new_status=status,
                    price=unit.price,
                    reason=reason,
                )
            )
            unit.status, unit.changed_at = status, at
        unit.hold_until = hold_until if status == UnitStatus.RESERVED else None
        unit.dirty = True

    def open(self, at: datetime, unit_ids: list[int], status: str, reason: str) -> None:
        """Closed floors opened for sale (``units_bulk_set_status``)."""
        for pk in sorted(unit_ids):
            unit = self.units[pk]
            if unit.status != UnitStatus.NOT_FOR_SALE:
                raise RuntimeError(f"unit {pk} is {unit.status}, not closed, at {at}")
            self._status(unit, status, at=at, by=self.keeper, reason=reason)

    def reprice(self, at, building_id: int, percent: Decimal, rooms, reason: str) -> None:
        """A price rise (or a promotion's cut) of a building's units on sale or closed, as
        ``units_bulk_set_price``: one batch, a ``PriceChange`` per unit whose price moves."""
        factor = 1 + Decimal(percent) / 100
        changes = []
        for unit in self.by_building[building_id]:
            if unit.status not in PRICED_BY_BATCH or not unit.price:
                continue
            if rooms is not None and unit.rooms != rooms:
                continue
            new = _round_price(unit.price * factor, THOUSAND)
            if new <= 0:
                raise RuntimeError(f"unit {unit.pk} would cost {new}")
            if new != unit.price:
                changes.append((unit, new))
        if not changes:
            return  # the service refuses a change that changes nothing: no batch
        batch = PriceBatch(
            id=self.ids(PriceBatch),
            at=at,
            actor_id=_pk(self.keeper),
            description=f"{Decimal(percent):+} % — {reason}"[:300],
            units_count=len(changes),
        )
        self.sink.add(batch)
        for unit, new in changes:
            self.sink.add(
                PriceChange(
                    unit_id=unit.pk,
                    at=at,
                    actor_id=_pk(self.keeper),
                    old_price=unit.price,
                    new_price=new,
                    reason=reason,
                    batch_id=batch.id,
                )
            )
            unit.price = new
            unit.dirty = True

    # --- people ---------------------------------------------------------------------------

    def client(self, path: SalePath, at: datetime) -> tuple[int, str]:
        """The path's buyer, as ``SalesReplay.client``: a person came as a lead a few days
        before, was converted, gave consent and visited the office; companies are few."""
        key = ("company", path.buyer % len(COMPANIES)) if path.company else path.buyer
        known = self.clients.get(key)
        if known is not None:
            return known
        manager = self.managers[path.manager]
        first_contact = self.first_contact(at)
        pk = self.ids(Client)
        if path.company:
            name = COMPANIES[path.buyer % len(COMPANIES)]
            phone = f"+7343{3_100_000 + path.buyer * 7919 % 6_000_000:07d}"
            self.sink.add(
                Client(
                    id=pk,
                    kind=ClientKind.COMPANY,
                    company_name=name,
                    inn=f"66{7_100_000 + path.buyer:08d}",
                    phone=format_phone(phone),
                    phone_normalized=phone,
                    manager_id=manager.pk,
                    created_by_id=manager.pk,
                    created_at=first_contact,
                )
            )
            self._client_event(pk, ClientEventKind.CREATED, manager, first_contact)
        else:
            p = person(self.pool_rng, path.buyer)
            name = f"{p.last_name} {p.first_name} {p.middle_name}"
            channel = self.channel()
            converted = first_contact + timedelta(hours=2)
            lead_id = self._lead(
                at=first_contact,
                name=name,
                phone=p.phone,
                email=p.email,
                channel=channel,
                manager=manager,
                message=LEAD_MESSAGE,
                status=LeadStatus.CONVERTED,
                client_id=pk,
            )
            self.sink.add(
                LeadEvent(
                    lead_id=lead_id,
                    at=converted,
                    actor_id=manager.pk,
                    kind=LeadEventKind.CONVERTED,
                    old=LeadStatus.NEW,
                    new=str(pk),
                )
            )
            for enquiry in self.enquiries(first_contact):
                self.enquire(enquiry)
            self.sink.add(
                Client(
                    id=pk,
                    kind=ClientKind.PERSON,
                    last_name=p.last_name,
                    first_name=p.first_name,
                    middle_name=p.middle_name,
                    phone=format_phone(p.phone),
                    phone_normalized=p.phone,
                    email=p.email,
                    email_normalized=p.email.lower(),
                    manager_id=manager.pk,
                    created_by_id=manager.pk,
                    created_at=first_contact,
                    **papers(path.buyer, at.date()),
                )
            )
            self._client_event(pk, ClientEventKind.CREATED, manager, converted)
            consent = self.ids(Consent)
            self.sink.add(
                Consent(
                    id=consent,
                    client_id=pk,
                    given_at=at - timedelta(hours=1),
                    text_version="1.0",
                    channel=ConsentChannel.PAPER,
                    recorded_by_id=manager.pk,
                )
            )
            self._client_event(
                pk,
                ClientEventKind.CONSENT,
                manager,
                at - timedelta(hours=1),
                consent=consent,
                version="1.0",
            )
            visit = self.ids(Visit)
            self.sink.add(
                Visit(
                    id=visit,
                    client_id=pk,
                    at=at - timedelta(hours=1),
                    received_by_id=manager.pk,
                    asked_about=VISIT_ASKED,
                    created_by_id=manager.pk,
                )
            )
            self.sink.add(Visit.units_shown.through(visit_id=visit, unit_id=path.unit))
        self.clients[key] = (pk, name)
        self.client_names[pk] = name
        return pk, name

    def _client_event(self, client_id: int, kind: str, by, at, **data) -> None:
        self.sink.add(
            ClientEvent(client_id=client_id, at=at, actor_id=_pk(by), kind=kind, data=data)
        )

    def _lead(
        self, *, at, name, phone, email, channel, manager, message, status, client_id=None, lost=""
    ) -> int:
        """A lead as ``lead_create`` registers it (received, assigned), in ``status``."""
        pk = self.ids(Lead)
        self.sink.add(
            Lead(
                id=pk,
                created_at=at,
                name=name,
                phone=format_phone(phone),
                phone_normalized=phone,
                email=email,
                email_normalized=email.lower(),
                message=message,
                channel_id=channel.pk,
                utm_source=channel.code if channel.code in ("yandex", "cian", "avito") else "",
                status=status,
                lost_reason=lost,
                manager_id=manager.pk,
                client_id=client_id,
                created_by_id=manager.pk,
            )
        )
        self.sink.add(
            LeadEvent(
                lead_id=pk, at=at, actor_id=manager.pk, kind=LeadEventKind.CREATED, new=channel.code
            )
        )
        self.sink.add(
            LeadEvent(
                lead_id=pk,
                at=at,
                actor_id=manager.pk,
                kind=LeadEventKind.ASSIGNED,
                new=manager.short_name[:100],
            )
        )
        return pk

    def enquire(self, enquiry: Enquiry) -> None:
        """A request that led to no sale, as ``SalesReplay.enquire`` writes it."""
        manager = self.managers[enquiry.manager]
        lead_id = self._lead(
            at=enquiry.at,
            name=enquiry.name,
            phone=enquiry.phone,
            email=enquiry.email,
            channel=enquiry.channel,
            manager=manager,
            message=enquiry.message,
            status=enquiry.status,
            lost=enquiry.reason,
        )
        if enquiry.moved_at is not None:
            self.sink.add(
                LeadEvent(
                    lead_id=lead_id,
                    at=enquiry.moved_at,
                    actor_id=manager.pk,
                    kind=LeadEventKind.STATUS,
                    old=LeadStatus.NEW,
                    new=enquiry.status,
                    reason=enquiry.reason,
                )
            )
        if enquiry.task:
            self.sink.add(
                Task(
                    title=enquiry.task,
                    due_at=enquiry.task_due,
                    assignee_id=manager.pk,
                    lead_id=lead_id,
                    created_by_id=manager.pk,
                )
            )

    # --- holds ----------------------------------------------------------------------------

    def on_hold(self, at: datetime, path: SalePath, until: datetime | None) -> None:
        """``hold_create``, and for an undecided client the extensions (``hold_extend``)."""
        unit = self.units[path.unit]
        if unit.status != UnitStatus.AVAILABLE or unit.hold or unit.deal:
            raise RuntimeError(f"unit {unit.pk} cannot be held at {at}: {unit.status}")
        manager = self.managers[path.manager]
        client_id, _name = self.client(path, at)
        end = self.hold_end(at, until)
        by = self.hold_maker(manager, at, end)
        amount, receipt = self.deposit(path)
        hold = Hold(
            id=self.ids(Hold),
            unit_id=unit.pk,
            client_id=client_id,
            manager_id=manager.pk,
            kind=path.kind,
            basis=path.basis,
            comment=HOLD_COMMENTS[path.basis],
            amount=amount,
            receipt_number=receipt,
            price=unit.price,
            starts_at=at,
            expires_at=end,
            state=HoldState.ACTIVE,
            created_by_id=_pk(by),
        )
        self.holds.append(hold)
        self._hold_event(hold, HoldEventKind.CREATED, by, at, new=end, reason=hold.comment)
        kind = HoldKind(hold.kind).label.lower()
        self._status(
            unit,
            UnitStatus.RESERVED,
            at=at,
            by=by,
            reason=_("Held (%(kind)s, until %(until)s)") % {"kind": kind, "until": _until(end)},
            hold_until=end,
        )
        path.hold, unit.hold = hold, hold
        if until is None:
            for when, extender, new_end, reason in self.extensions(
                starts_at=at, expires_at=end, manager=manager
            ):
                self._hold_event(
                    hold,
                    HoldEventKind.EXTENDED,
                    extender,
                    when,
                    old=hold.expires_at,
                    new=new_end,
                    reason=reason,
                )
                hold.expires_at, hold.extensions = new_end, hold.extensions + 1
            unit.hold_until = hold.expires_at
        if hold.expires_at < END:  # runs out within the data: the periodic job finalises it
            self.push(hold.expires_at, "expire", path)

    def _hold_event(self, hold: Hold, kind: str, by, at, *, old=None, new=None, reason=""):
        self.sink.add(
            HoldEvent(
                hold_id=hold.id,
                at=at,
                actor_id=_pk(by),
                kind=kind,
                old_expires_at=old,
                new_expires_at=new,
                reason=reason[:300],
            )
        )

    def _end_hold(self, hold: Hold, state: str, at: datetime, by, reason: str = "") -> None:
        unit = self.units[hold.unit_id]
        if hold.state != HoldState.ACTIVE or unit.hold is not hold or hold.expires_at < at:
            raise RuntimeError(f"hold {hold.id} is not live at {at}")
        hold.state, hold.ended_at, hold.ended_by = state, at, by
        hold.end_reason = reason[:300]
        unit.hold = None

    def on_cancel(self, at: datetime, path: SalePath, extra) -> None:
        manager = self.managers[path.manager]
        reason = self.cancel_reason()
        hold = path.hold
        self._end_hold(hold, HoldState.CANCELLED, at, manager, reason)
        self._hold_event(
            hold, HoldEventKind.CANCELLED, manager, at, old=hold.expires_at, reason=reason
        )
        unit = self.units[hold.unit_id]
        self._status(unit, UnitStatus.AVAILABLE, at=at, by=manager, reason=_("Hold cancelled"))

    def on_expire(self, at: datetime, path: SalePath, extra) -> None:
        """``holds._expire``: the hold ran out untouched; dated when it ended."""
        hold = path.hold
        unit = self.units[hold.unit_id]
        if hold.state != HoldState.ACTIVE or unit.hold is not hold:
            return  # cancelled or turned into a deal before it ran out
        self._end_hold(hold, HoldState.EXPIRED, at, None)
        hold.end_reason = ""
        self._hold_event(hold, HoldEventKind.EXPIRED, None, at, old=hold.expires_at)
        self._status(unit, UnitStatus.AVAILABLE, at=at, by=None, reason=_("The hold expired"))
        client = self.client_names[hold.client_id]
        # as ``notice_send`` stores it: the message key and its arguments, read in the
        # reader's language; the text in the site's language for old readers
        message = gettext_noop("The hold of %(unit)s for %(client)s has expired.")
        args = {"unit": str(unit), "client": str(client)}
        with translation.override(settings.LANGUAGE_CODE):
            text = render_message(message, args)
        self.sink.add(
            Notice(
                id=self.ids(Notice),
                user_id=hold.manager_id,
                created_at=at,
                text=text[:300],
                message=message,
                args=args,
                url=reverse("inventory:unit-detail", args=[unit.pk]),
            )
        )

    # --- deals ----------------------------------------------------------------------------

    def on_deal(self, at: datetime, path: SalePath, extra) -> None:
        """``deal_open`` (from the path's hold, or straight from sale), the schedule laid out
        for the buyer (``schedule_generate``), signed the same day; payments as they fall."""
        unit = self.units[path.unit]
        manager = self.managers[path.manager]
        hold = path.hold
        if unit.deal is not None or (unit.hold is not None and unit.hold is not hold):
            raise RuntimeError(f"unit {unit.pk} is taken at {at}")
        if hold is None and unit.status != UnitStatus.AVAILABLE:
            raise RuntimeError(f"unit {unit.pk} is {unit.status} at {at}")
        client_id, client_name = self.client(path, at)
        on = timezone.localdate(at)
        list_price = hold.price if hold is not None else unit.price
        promotion, manual = self.discounts(unit, on, list_price)
        promo_discount = (
            promotion.discount_for(price=list_price, area=unit.total_area)
            if promotion is not None
            else Decimal(0)
        )
        price = list_price - promo_discount - manual
        method = path.method
        self.numbers[on.year] += 1
        number = f"Д-{on.year}-{self.numbers[on.year]:05d}"
        deal = Deal(
            id=self.ids(Deal),
            number=number,
            unit_id=unit.pk,
            hold=hold,
            scheme=self.scheme,
            stage=self.initial,
            is_active=True,
            manager_id=manager.pk,
            contract_type=self.contract_type(unit.completion, on),
            payment_method=method,
            bank=self.bank(method),
            programme=self.programme(method),
            list_price=list_price,
            promotion=promotion,
            promotion_discount=promo_discount.quantize(KOPECK),
            manual_discount=manual,
            price=price.quantize(KOPECK),
            area=unit.total_area,
            created_at=at,
            created_by_id=manager.pk,
        )
        self.deals.append(deal)
        self.received[deal.id] = Decimal(0)
        self.sink.add(DealBuyer(deal_id=deal.id, client_id=client_id, order=0))
        if hold is not None:
            self._end_hold(hold, HoldState.CONVERTED, at, manager)
            self._hold_event(hold, HoldEventKind.CONVERTED, manager, at, old=hold.expires_at)
        self._status(
            unit,
            self.initial.unit_status,
            at=at,
            by=manager,
            reason=_("Deal %(number)s") % {"number": number},
        )
        unit.deal = deal
        data = {
            "number": number,
            "hold": hold.id if hold is not None else None,
            "list_price": _money(list_price),
            "promotion": promotion.name if promotion else None,
            "promotion_discount": _money(promo_discount),
            "manual_discount": _money(manual),
            "approved_by": None,
            "price": _money(deal.price),
            "buyers": [{"client": client_id, "name": client_name, "share": "1/1"}],
        }
        self._deal_event(deal, DealEventKind.CREATED, manager, at, to_stage=self.initial, data=data)
        # deal_open lays out the default schedule; the manager then sets the buyer's own.
        first = plan_lines(method=method, total=deal.price, first_due=on)
        lines = plan_lines(
            method=method,
            total=deal.price,
            first_due=(at + timedelta(days=5)).date(),
            down_payment="30%" if method == PaymentMethod.INSTALMENTS else None,
            months=path.months or 12,
        )
        for line in lines:
            line.id, line.deal_id = self.ids(PaymentLine), deal.id
            self.sink.add(line)
        for old, new in (([], first), (first, lines)):
            schedule = {
                "action": "generated",
                "method": method,
                "old": [_line_data(x) for x in old],
                "new": [_line_data(x) for x in new],
            }
            self._deal_event(deal, DealEventKind.SCHEDULE, manager, at, data=schedule)
        self._move(deal, self.stages["signed"], at, manager)
        deal.signed_on = on
        path.deal = deal
        self.plan_payments(path, sorted(lines, key=lambda line: line.due_date), at)

    def _deal_event(self, deal: Deal, kind: str, by, at, *, data=None, **fields) -> None:
        self.sink.add(
            DealEvent(
                deal_id=deal.id,
                at=at,
                actor_id=_pk(by),
                kind=kind,
                unit_id=deal.unit_id,
                data=data or {},
                **fields,
            )
        )

    def _move(self, deal: Deal, stage: Stage, at, by, *, data=None, reason: str = "") -> None:
        """``deal_move``: along a transition of the flow; the unit takes the stage's status
        (a termination closes the deal and puts the unit back on sale)."""
        if not deal.is_active or (deal.stage_id, stage.pk) not in self.moves:
            raise RuntimeError(f"deal {deal.number}: {deal.stage.code} → {stage.code} at {at}")
        source = deal.stage
        deal.stage = stage
        unit = self.units[deal.unit_id]
        if stage.is_termination:
            deal.is_active, deal.closed_at, deal.termination_reason = False, at, reason[:300]
            status = UnitStatus.AVAILABLE
            unit.deal = None
        else:
            status = stage.unit_status
        self._status(
            unit,
            status,
            at=at,
            by=by,
            reason=_("Deal %(number)s: %(stage)s")
            % {"number": deal.number, "stage": self.labels[stage.pk]},
        )
        kind = DealEventKind.TERMINATED if stage.is_termination else DealEventKind.STAGE
        self._deal_event(
            deal, kind, by, at, from_stage=source, to_stage=stage, data=data, reason=reason[:300]
        )

    def on_register(self, at: datetime, path: SalePath, extra) -> None:
        deal = path.deal
        number = self.registration_number(at)
        deal.registration_number, deal.registration_date = number, at.date()
        data = {"registration_number": number, "registration_date": str(at.date())}
        manager = self.managers[path.manager]
        self._move(deal, self.stages["registered"], at, manager, data=data)
        self._paid_in_full(path, at, manager)

    def _paid_in_full(self, path: SalePath, at, by) -> None:
        """A registered deal whose buyers have paid everything moves on to "paid", and is
        handed over later (``hand_over_later``)."""
        deal = path.deal
        paid = self.stages.get("paid")
        received = self.received[deal.id]
        registered = self.stages["registered"].pk
        if paid is not None and deal.stage_id == registered and received >= deal.price:
            data = {"paid": _money(received), "due": _money(deal.price)}
            self._move(deal, paid, at, by, data=data)
            self.hand_over_later(path, at, self.units[deal.unit_id].completion)

    def on_handover(self, at: datetime, path: SalePath, extra) -> None:
        """``deal_move`` to "handed over" with the act's date (``SalesReplay.on_handover``)."""
        deal, handed = path.deal, self.stages.get("handed_over")
        if not deal.is_active or handed is None or deal.stage_id != self.stages["paid"].pk:
            return
        deal.act_date = timezone.localdate(at)
        data = {"act_date": str(deal.act_date)}
        self._move(deal, handed, at, self.managers[path.manager], data=data)

    def on_payment(self, at: datetime, path: SalePath, lines: list[PaymentLine]) -> None:
        deal = path.deal
        if not deal.is_active:
            return
        amount = sum(line.amount for line in lines)
        outstanding = deal.price - self.received[deal.id]
        if amount > outstanding:
            raise RuntimeError(f"deal {deal.number}: {amount} > outstanding {outstanding}")
        payment = Payment(
            id=self.ids(Payment),
            deal_id=deal.id,
            line_id=lines[0].id if len(lines) == 1 else None,
            received_on=at.date(),
            amount=amount,
            document=self.document(),
            recorded_by_id=_pk(self.cashier),
            recorded_at=at,
        )
        self.sink.add(payment)
        self.received[deal.id] += amount
        data = {
            "payment": payment.id,
            "amount": str(amount),
            "received_on": payment.received_on.isoformat(),
            "line": payment.line_id,
            "document": payment.document,
            "channel": "",
            "outstanding": str(outstanding - amount),
        }
        self._deal_event(deal, DealEventKind.PAYMENT, self.cashier, at, data=data)
        self._paid_in_full(path, at, self.managers[path.manager])

    def on_terminate(self, at: datetime, path: SalePath, extra) -> None:
        self._move(path.deal, self.termination, at, self.head, reason=TERMINATION)

    # --- the end --------------------------------------------------------------------------

    def finish(self) -> None:
        """Write what is left: the holds and deals in their final state, the leads that did
        not buy, the units' status, price and hold end; then move the id sequences on."""
        _write_all(Hold, self.holds)
        _write_all(Deal, self.deals)
        # One unit per demo deal, with the deal's own figures (as the migration made them).
        units = [
            DealUnit(
                deal_id=d.id,
                unit_id=d.unit_id,
                building_id=self.units[d.unit_id].building_id,
                list_price=d.list_price,
                promotion_discount=d.promotion_discount,
                manual_discount=d.manual_discount,
                price=d.price,
                area=d.area,
                is_active=d.is_active,
                added_at=d.created_at,
            )
            for d in self.deals
        ]
        _write_all(DealUnit, units)
        # The chosen promotion's discount on that unit, as the pricing rule records it.
        _write_all(
            AppliedPromotion,
            [
                AppliedPromotion(
                    deal_id=row.deal_id,
                    deal_unit_id=row.pk,
                    promotion_id=d.promotion_id,
                    amount=d.promotion_discount,
                )
                for d, row in zip(self.deals, units, strict=True)
                if d.promotion_id is not None and d.promotion_discount
            ],
        )
        # The numbering goes on from the last number given in each year.
        DealCounter.objects.bulk_create(
            [DealCounter(year=year, last=last) for year, last in self.numbers.items()]
        )
        self.sink.flush()
        self._update_units([u for u in self.units.values() if u.dirty])
        self.ids.reset()

    def _update_units(self, units: list[_Unit]) -> None:
        table = Unit._meta.db_table
        ops = connection.ops
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for i in range(0, len(units), BATCH):
                    chunk = units[i : i + BATCH]
                    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
                    params = [
                        x
                        for u in chunk
                        for x in (u.pk, u.status, u.price, u.changed_at, u.hold_until)
                    ]
                    cursor.execute(
                        f"UPDATE {table} AS u SET status = v.status, "
                        "price = v.price::numeric, "
                        "status_changed_at = v.changed::timestamptz, "
                        "hold_until = v.hold_until::timestamptz "
                        f"FROM (VALUES {values}) AS v(id, status, price, changed, hold_until) "
                        "WHERE u.id = v.id",
                        params,
                    )
            else:
                cursor.executemany(
                    f"UPDATE {table} SET status = %s, price = %s, status_changed_at = %s, "
                    "hold_until = %s WHERE id = %s",
                    [
                        (
                            u.status,
                            ops.adapt_decimalfield_value(u.price, 14, 2),
                            ops.adapt_datetimefield_value(u.changed_at),
                            ops.adapt_datetimefield_value(u.hold_until),
                            u.pk,
                        )
                        for u in units
                    ],
                )
