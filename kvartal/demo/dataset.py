"""The demo and benchmark data set: Ural residential complexes, the same for the same seed.

``generate(size=…, seed=…)`` first plans everything in Python with ``random.Random(seed)``
and a fixed calendar (the 18 months ending ``END``), then writes it only through the inventory
services with explicit ``at=`` dates. The history is therefore as complete as a real
installation's: every unit has its creation rows, every price move a ``PriceChange`` (the
price list by layout and view at launch, the regular rises, a few promotions), every status
move a ``StatusChange`` (floors closed and reopened, reservations, sales, cancellations,
terminated contracts), replayed in date order so that a rise skips the units then held or sold.

Sizes (see ARCHITECTURE.md, "Scale"): XS ≈ 100 units for tests, S ≈ 2 000 (the demo),
M ≈ 20 000 and L ≈ 120 000 in ~300 buildings (benchmarks). From M up the first building is
a ~1 040-unit flagship, the chessboard the benchmark measures.
"""

import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Count

from kvartal.accounts.models import Role, Team, User
from kvartal.core.models import CompanyProfile
from kvartal.inventory.models import (
    Building,
    BuildingKind,
    Floor,
    PriceBatch,
    PriceChange,
    Project,
    Section,
    StatusChange,
    Unit,
    UnitChange,
)

from .create import create
from .data import COMPANY, DEMO_PASSWORD, DEMO_USERS, END, MONTHS, SIZES, START, TEAM
from .history import replay, simulate
from .plan import plan
from .promotions import create_promotions

__all__ = [
    "COMPANY",
    "DEMO_PASSWORD",
    "demo_users_allowed",
    "END",
    "MONTHS",
    "SIZES",
    "START",
    "Report",
    "counts",
    "generate",
]


@dataclass
class Report:
    size: str
    seed: int
    counts: dict[str, int]
    timings: dict[str, float]
    users: list[tuple[str, str, str, bool]]  # login, role, name, created now


# Drawn plans are files on disk: only the small sets (the demo, the tests' XS) get them.
PLANS_UP_TO = 3000


def draws_plans(spec) -> bool:
    """Whether a data set of ``spec`` gets drawn floor and flat plans (both loaders ask)."""
    return spec.units <= PLANS_UP_TO


def generate(
    *,
    size: str,
    seed: int = 42,
    users: bool = True,
    units: int | None = None,
    say: Callable[[str], None] = lambda s: None,
) -> Report:
    """Create the demo data set of ``size`` for ``seed``: the same data on every run.

    Writes through the inventory services only (with ``at=`` dates), in one transaction:
    it either loads completely or not at all. Demo users are created when missing (password
    ``DEMO_PASSWORD``); existing users are left as they are. ``units`` overrides the size's
    target unit count (small data sets for tests).
    """
    spec = SIZES[size]
    if units is not None:
        spec = dataclasses.replace(spec, units=units)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    with transaction.atomic():
        people, user_rows = _users(users)
        _company()
        timings["users"] = time.perf_counter() - clock
        step = time.perf_counter()
        projects = plan(spec, random.Random(seed))
        timings["plan"] = time.perf_counter() - step
        say(
            f"Plan: {len(projects)} projects, {sum(len(p.buildings) for p in projects)} "
            f"buildings, ~{sum(b.units for p in projects for b in p.buildings)} units"
        )
        step = time.perf_counter()
        create(projects, people, say, plans=draws_plans(spec))
        timings["create"] = time.perf_counter() - step
        step = time.perf_counter()
        managers = _managers(people)
        create_promotions(projects, people)
        events = simulate(projects, seed, managers=len(managers))
        timings["simulate"] = time.perf_counter() - step
        say(f"Created; replaying {len(events)} events of {MONTHS} months")
        step = time.perf_counter()
        replay(events, people, managers, seed, say=say)
        timings["history"] = time.perf_counter() - step
    step = time.perf_counter()
    _analyze()
    timings["analyze"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - clock
    return Report(size=size, seed=seed, counts=counts(), timings=timings, users=user_rows)


SELLING_ROLES = (Role.SALES_HEAD, Role.SALES_MANAGER, Role.CASHIER)


def demo_users_allowed() -> bool:
    """Demo users (a known password) only where asked for: KVARTAL_DEMO=1, which ``make
    run`` sets, and never with KVARTAL_HTTPS (production); see settings."""
    from django.conf import settings

    return settings.KVARTAL_DEMO


def _users(wanted: bool) -> tuple[dict[str, User | None], list]:
    wanted = wanted and demo_users_allowed()
    people: dict[str, User | None] = {}
    rows = []
    # One hash for the one known password: hashing it afresh for each of the ten users cost
    # seconds of the demo's load (PBKDF2 is slow on purpose) and protects nothing more.
    hashed = make_password(DEMO_PASSWORD) if wanted else None
    for login, role, first, last in DEMO_USERS:
        user = User.objects.filter(username=login).first()
        created = False
        if user is None and wanted:
            user = User(username=login, role=role, first_name=first, last_name=last)
            user.email = f"{login}@kvartal.local"
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.password = hashed
            user.save()
            created = True
        if user is None and role in SELLING_ROLES:
            # Without demo users the sales still need someone to act: a stand-in who
            # cannot sign in (no usable password).
            user = User.objects.filter(username=f"demo-{login}").first()
            if user is None:
                user = User(username=f"demo-{login}", role=role, first_name=first, last_name=last)
                user.set_unusable_password()
                user.save()
        people[role] = user
        if user is not None and wanted:
            rows.append((login, Role(user.role).label, user.get_full_name(), created))
    return people, rows


def _managers(people) -> list[User]:
    """The sales managers who sell in the demo, in one team under the sales head."""
    logins = [login for login, role, *_ in DEMO_USERS if role == Role.SALES_MANAGER]
    managers = list(
        User.objects.filter(
            role=Role.SALES_MANAGER, username__in=[*logins, *(f"demo-{x}" for x in logins)]
        ).order_by("username")
    ) or [people[Role.SALES_MANAGER]]
    team, _ = Team.objects.get_or_create(name=TEAM, defaults={"head": people[Role.SALES_HEAD]})
    User.objects.filter(pk__in=[m.pk for m in managers]).update(team=team)
    return managers


def _analyze() -> None:
    """Reclaim the replayed history's dead row versions and refresh the planner's statistics:
    a bulk load leaves both to autovacuum, and until it comes round (or where it is off)
    PostgreSQL reads bloated tables with poor plans (the catalogue search ran 5× slower)."""
    if connection.in_atomic_block:
        return  # inside a test's transaction: VACUUM cannot run there, and needs not
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def _company() -> None:
    profile = CompanyProfile.current()
    if not profile.name:
        profile.name = COMPANY
        profile.save(update_fields=["name"])


# --- what is there --------------------------------------------------------------------------


def counts() -> dict[str, int]:
    """Sizes of the inventory and its history, for the commands' reports."""
    result = {
        "projects": Project.objects.count(),
        "buildings": Building.objects.filter(kind=BuildingKind.RESIDENTIAL).count(),
        "parking structures": Building.objects.filter(kind=BuildingKind.PARKING).count(),
        "sections": Section.objects.count(),
        "floors": Floor.objects.count(),
        "units": Unit.objects.count(),
    }
    for kind, n in sorted(Unit.objects.order_by().values_list("kind").annotate(n=Count("pk"))):
        result[f"  {kind}"] = n
    for state, n in sorted(Unit.objects.order_by().values_list("status").annotate(n=Count("pk"))):
        result[f"  {state}"] = n
    result["status changes"] = StatusChange.objects.count()
    result["price changes"] = PriceChange.objects.count()
    result["data changes"] = UnitChange.objects.count()
    result["history rows"] = sum(
        result[k] for k in ("status changes", "price changes", "data changes")
    )
    result["price batches"] = PriceBatch.objects.count()
    return result
