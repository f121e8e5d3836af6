"""Small ``make_*`` factories for tests (never imported by the running code). They go through
the services where rules live."""

from decimal import Decimal
from itertools import count

from kvartal.accounts.models import Role, User
from kvartal.inventory.models import Building, BuildingKind, Project
from kvartal.inventory.services import SectionPlan, UnitSpec, section_generate

_seq = count(1)

PASSWORD = "kvartal-test-password"


def make_user(role: str = Role.SALES_MANAGER, **fields) -> User:
    n = next(_seq)
    fields.setdefault("username", f"{role}-{n}")
    fields.setdefault("first_name", "Анна")
    fields.setdefault("last_name", f"Тестова{n}")
    user = User(role=role, **fields)
    user.set_password(PASSWORD)
    if role == Role.ADMIN:
        user.is_staff = user.is_superuser = True
    user.save()
    return user


def browser_sign_in(page, user: User):
    """Sign ``user`` in through the real login form in a Playwright ``page`` (its context's
    base URL the live server's); the page is left on the user's start page."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/app/**")
    return page


def make_project(**fields) -> Project:
    fields.setdefault("name", f"ЖК Тестовый {next(_seq)}")
    fields.setdefault("city", "Екатеринбург")
    return Project.objects.create(**fields)


def make_building(project: Project | None = None, **fields) -> Building:
    fields.setdefault("name", f"Корпус {next(_seq)}")
    fields.setdefault("construction_address", "г. Екатеринбург, ул. Радищева, уч. 6")
    fields.setdefault("kind", BuildingKind.RESIDENTIAL)
    return Building.objects.create(project=project or make_project(), **fields)


def typical_risers(n: int = 4) -> list[UnitSpec]:
    """A common floor: studio, 1-, 2- and 3-room flats, repeated up to n positions."""
    shapes = [
        (0, "27.50", "14.10", "6.20"),
        (1, "38.40", "17.80", "9.10"),
        (2, "56.20", "31.00", "10.50"),
        (3, "78.90", "46.30", "12.40"),
    ]
    risers = []
    for position in range(1, n + 1):
        rooms, total, living, kitchen = shapes[(position - 1) % len(shapes)]
        risers.append(
            UnitSpec(
                position=position,
                rooms=rooms,
                total_area=Decimal(total),
                living_area=Decimal(living),
                kitchen_area=Decimal(kitchen),
            )
        )
    return risers


def make_section(
    building: Building | None = None,
    *,
    by=None,
    number: int = 1,
    floors: int = 5,
    per_floor: int = 4,
    price_per_m2: Decimal | None = Decimal("150000"),
    **plan_fields,
):
    """A generated section: floors 1…floors all typical with ``per_floor`` risers, on sale."""
    building = building or make_building()
    plan = SectionPlan(
        number=number,
        floors=floors,
        typical_from=1,
        risers=typical_risers(per_floor),
        price_per_m2=price_per_m2,
        **plan_fields,
    )
    return section_generate(building=building, plan=plan, by=by)
