"""The demo data set: the same for the same seed, with a complete, believable history."""

import re
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kvartal.accounts.models import Role, User
from kvartal.agencies.models import Fixation
from kvartal.core.models import CompanyProfile
from kvartal.demo import dataset as demo
from kvartal.demo.management.commands.bench import board_floor
from kvartal.inventory.models import (
    Building,
    BuildingKind,
    PriceBatch,
    PriceChange,
    Project,
    StatusChange,
    Unit,
    UnitChange,
    UnitKind,
    UnitStatus,
)
from kvartal.sales.models import Hold
from kvartal.testing import make_building, make_section

pytestmark = pytest.mark.django_db


@pytest.fixture
def xs():
    return demo.generate(size="XS", seed=7, users=False)


def inventory() -> list[tuple]:
    place = ("building__project__name", "building__name", "kind", "code")
    return list(Unit.objects.order_by(*place).values_list(*place, "number", "price", "status"))


def history() -> list[tuple]:
    place = (
        "unit__building__project__name",
        "unit__building__name",
        "unit__kind",
        "unit__number",
        "at",
    )
    return [
        *StatusChange.objects.order_by(*place, "pk").values_list(
            *place, "old_status", "new_status", "price", "reason"
        ),
        *PriceChange.objects.order_by(*place, "pk").values_list(
            *place, "old_price", "new_price", "reason"
        ),
        *UnitChange.objects.order_by(*place, "pk").values_list(*place, "changes", "reason"),
    ]


def wipe() -> None:
    from kvartal.clients.models import Client
    from kvartal.sales.models import Deal, DealCounter, Hold, Payment, Promotion, QueueEntry

    Payment.objects.all().delete()  # the sales protect their units and clients: they go first
    Deal.objects.all().delete()
    DealCounter.objects.all().delete()  # the numbering starts again with the deals
    QueueEntry.objects.all().delete()
    Hold.objects.all().delete()
    Promotion.objects.all().delete()
    Client.objects.all().delete()
    Unit.objects.all().delete()  # units protect their floors: they go first
    Building.objects.all().delete()
    Project.objects.all().delete()
    PriceBatch.objects.all().delete()


def test_the_same_seed_gives_the_same_data_and_history():
    demo.generate(size="XS", seed=7, users=False)
    first = inventory(), history()
    wipe()
    demo.generate(size="XS", seed=7, users=False)
    assert (inventory(), history()) == first
    wipe()
    demo.generate(size="XS", seed=8, users=False)
    assert inventory() != first[0]


def test_every_unit_is_in_the_status_its_history_ends_with(xs):
    last = {}
    for unit_id, status, at in StatusChange.objects.order_by("at", "pk").values_list(
        "unit_id", "new_status", "at"
    ):
        last[unit_id] = (status, at)
    units = list(Unit.objects.values_list("pk", "status", "status_changed_at"))
    assert units
    for pk, status, changed_at in units:
        assert last[pk] == (status, changed_at)
    sold = Unit.objects.filter(status=UnitStatus.SOLD)
    assert sold.exists()
    assert (
        sold.count() == sold.filter(status_changes__new_status=UnitStatus.SOLD).distinct().count()
    )


def test_the_current_price_is_the_last_price_change(xs):
    last = {}
    for unit_id, price in PriceChange.objects.order_by("at", "pk").values_list(
        "unit_id", "new_price"
    ):
        last[unit_id] = price
    assert len(last) > Unit.objects.count() / 2
    for pk, price in Unit.objects.values_list("pk", "price"):
        if pk in last:
            assert price == last[pk]
    # A held or sold unit keeps the price it was taken at.
    for change in StatusChange.objects.filter(new_status=UnitStatus.SOLD).select_related("unit"):
        if change.unit.status == UnitStatus.SOLD:
            assert change.unit.price == change.price


def test_prices_grow_with_the_floor_and_differ_by_layout(xs):
    risers = defaultdict(list)
    created = StatusChange.objects.filter(old_status="", unit__kind=UnitKind.APARTMENT)
    for section, position, price in created.order_by("unit__floor__index").values_list(
        "unit__section_id", "unit__position", "price"
    ):
        risers[section, position].append(price)
    assert risers
    for prices in risers.values():
        assert prices == sorted(prices) and prices[0] < prices[-1]
    # The launch price list moved studios, flats and views apart: one floor, many prices per m².
    floor = Unit.objects.filter(kind=UnitKind.APARTMENT).order_by("pk").first().floor
    launch = PriceChange.objects.filter(unit__floor=floor, reason__startswith="Прайс-лист")
    assert launch.exists()
    assert len({c.new_price / c.unit.total_area // 1000 for c in launch.select_related("unit")}) > 1


def test_history_lies_within_the_eighteen_months(xs):
    for model in (StatusChange, PriceChange, UnitChange):
        assert not model.objects.exclude(at__gte=demo.START, at__lt=demo.END).exists()
    months = {at.strftime("%Y-%m") for at in PriceChange.objects.values_list("at", flat=True)}
    assert len(months) >= 6
    assert StatusChange.objects.filter(new_status=UnitStatus.RESERVED).exists()


def test_units_are_created_on_their_launch_and_the_board_of_a_past_day_shows_them(xs):
    """The chessboard as of a past day was empty on the demo: its units were created now."""
    from datetime import timedelta

    from django.db.models import Min

    from kvartal.inventory.selectors import chessboard

    first = dict(
        StatusChange.objects.values("unit_id").annotate(at=Min("at")).values_list("unit_id", "at")
    )
    assert dict(Unit.objects.values_list("pk", "created_at")) == first
    then = (demo.END - timedelta(days=30)).date()
    for building in Building.objects.filter(units__created_at__date__lt=then).distinct():
        board = chessboard(building, as_of=then)
        assert any(c for s in board.sections for r in s.rows for c in r.cells)


def test_parking_structures_serve_a_building_and_are_counted(xs):
    parking = Building.objects.filter(kind=BuildingKind.PARKING)
    assert parking.exists()
    for structure in parking:
        assert structure.serves.kind == BuildingKind.RESIDENTIAL
        spaces = structure.units.all()
        assert spaces.exists()
        assert not spaces.exclude(kind=UnitKind.PARKING).exists()
        assert not spaces.filter(length=None).exists()
        assert spaces.filter(floor__index__lt=0).exists()
    assert xs.counts["parking structures"] == parking.count()
    assert xs.counts["  parking"] == Unit.objects.filter(kind=UnitKind.PARKING).count()
    assert Unit.objects.filter(kind=UnitKind.COMMERCIAL, floor__index=1).exists()
    assert Unit.objects.filter(kind=UnitKind.STORAGE, floor__index=-1).exists()
    assert Unit.objects.exclude(principal=None).exists()


def test_seed_demo_with_if_empty_leaves_a_filled_database_alone():
    from kvartal.audit.models import AuditEvent

    out = StringIO()
    call_command("seed_demo", size="XS", no_users=True, if_empty=True, services=True, stdout=out)
    units = Unit.objects.count()
    assert units > 50 and "Done" in out.getvalue() and "through the services" in out.getvalue()
    # replayed through the services: each call wrote its own audit row
    assert AuditEvent.objects.filter(action="deal_open").exists()
    assert not AuditEvent.objects.filter(action="seed_demo").exists()
    out = StringIO()
    call_command("seed_demo", size="XS", no_users=True, if_empty=True, stdout=out)
    assert "not loaded" in out.getvalue()
    assert Unit.objects.count() == units
    with pytest.raises(CommandError):
        call_command("seed_demo", size="XS", no_users=True, stdout=StringIO())


def test_seed_demo_creates_the_demo_users_and_prints_their_password(settings):
    settings.KVARTAL_DEMO = True
    out = StringIO()
    call_command("seed_demo", size="XS", stdout=out)
    roles = dict(User.objects.values_list("username", "role"))
    assert roles == {
        "admin": Role.ADMIN,
        "director": Role.DIRECTOR,
        "head": Role.SALES_HEAD,
        "manager": Role.SALES_MANAGER,
        "manager2": Role.SALES_MANAGER,
        "keeper": Role.INVENTORY_KEEPER,
        "cashier": Role.CASHIER,
        "operator": Role.OPERATOR,
        "marketer": Role.MARKETER,
        "accountant": Role.ACCOUNTANT,
        "agent": Role.AGENCY_PARTNER,
    }
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert all(u.check_password(demo.DEMO_PASSWORD) and u.last_name for u in User.objects.all())
    assert "kvartal" in out.getvalue() and "keeper" in out.getvalue()
    assert CompanyProfile.current().name == demo.COMPANY
    assert StatusChange.objects.filter(actor__username="manager").exists()
    # the agent works for the demo agency: clients fixed, one hold asked for, in the cabinet
    agent = User.objects.get(username="agent")
    assert agent.agency_membership.agency.profile.curator.username == "head"
    assert Fixation.objects.filter(agency=agent.agency_membership.agency).count() == 3
    assert Hold.objects.filter(agency=agent.agency_membership.agency, state="active").count() == 1


def test_the_sales_are_real_holds_deals_and_payments(xs):
    """Every held unit has its live hold, every unit in a deal or sold its one active deal,
    and the money received never exceeds what is due."""
    from django.db.models import Sum

    from kvartal.sales.models import Deal, Hold, HoldState, Payment

    held = set(Unit.objects.filter(status=UnitStatus.RESERVED).values_list("pk", flat=True))
    assert held == set(Hold.objects.filter(state=HoldState.ACTIVE).values_list("unit", flat=True))
    taken = set(
        Unit.objects.filter(status__in=[UnitStatus.IN_DEAL, UnitStatus.SOLD]).values_list(
            "pk", flat=True
        )
    )
    assert taken == set(Deal.objects.filter(is_active=True).values_list("unit", flat=True))
    assert Deal.objects.filter(is_active=True).count() == len(taken)
    assert Payment.objects.exists()
    for deal in Deal.objects.annotate(paid=Sum("payments__amount")):
        assert (deal.paid or 0) <= deal.total_due
    # The sold units were sold by the managers to named buyers.
    assert not Deal.objects.filter(buyers__isnull=True).exists()


def test_holds_are_made_extended_and_end_in_office_hours(xs):
    """A manager extends a hold in the working day before it runs out, never at night, and
    so no hold of the demo ends at three in the morning."""
    from django.utils import timezone

    from kvartal.sales.models import HoldEvent, HoldEventKind

    def hour(moment) -> int:
        return timezone.localtime(moment).hour

    extended = HoldEvent.objects.filter(kind=HoldEventKind.EXTENDED)
    assert extended.exists()
    assert {hour(at) for at in extended.values_list("at", flat=True)} <= set(range(9, 19))
    ends = Hold.objects.values_list("expires_at", flat=True)
    assert {hour(end) for end in ends} <= set(range(9, 20))


def test_the_demo_buyers_carry_the_passports_their_contracts_print(xs):
    """A person who bought has a birth date, a passport and a registration that the client
    model accepts (encrypted at rest), so a deal's documents print them."""
    from kvartal.clients.models import Client, ClientKind
    from kvartal.sales.models import Deal

    buyers = Client.objects.filter(
        kind=ClientKind.PERSON, pk__in=Deal.objects.values("buyers__client")
    )
    assert buyers.exists()
    for client in buyers:
        assert client.birth_date and client.passport_number and client.registration_address
        client.full_clean()
    with connection.cursor() as cursor:
        cursor.execute("SELECT passport_number FROM clients_client WHERE passport_number <> ''")
        stored = [row[0] for row in cursor.fetchall()]
    assert stored and not any(client.passport_number in stored for client in buyers)


def test_bench_measures_both_pages_end_to_end():
    out = StringIO()
    call_command("bench", size="XS", repeat=2, warmup=0, stdout=out)
    text = out.getvalue()
    assert "loading size XS" in text
    assert "chessboard" in text and "catalogue search" in text
    assert " 200 " in text
    assert re.search(r"floor of the chessboard: .* median [\d.]+ ms, p95 [\d.]+ ms", text), text
    assert re.search(r"ratio chessboard / floor: median [\d.]+×", text), text


def test_the_chessboard_floor_renders_every_unit_of_the_building_in_one_query():
    building = make_building()
    make_section(building, floors=3, per_floor=4)
    with CaptureQueriesContext(connection) as queries:
        html = board_floor(building.pk)
    assert len(queries) == 1
    assert html.count('<td class="cell') == Unit.objects.filter(building=building).count() == 12


def test_without_kvartal_demo_no_user_with_a_known_password_is_planted(settings):
    settings.KVARTAL_DEMO = False
    out = StringIO()
    call_command("seed_demo", size="XS", stdout=out)
    assert "Demo users not created" in out.getvalue()
    assert not User.objects.filter(username__in=[login for login, *_ in demo.DEMO_USERS]).exists()
    assert not any(u.has_usable_password() for u in User.objects.all())


def test_kvartal_https_turns_the_demo_users_off_whatever_kvartal_demo_says():
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.KVARTAL_DEMO)"
    env = {"KVARTAL_DEMO": "1", "KVARTAL_HTTPS": "1", "DJANGO_SETTINGS_MODULE": "kvartal.settings"}
    run = lambda extra: subprocess.run(  # noqa: E731
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**__import__("os").environ, **env, **extra},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert run({}) == "False"
    assert run({"KVARTAL_HTTPS": "0"}) == "True"


def test_the_demo_draws_png_plans_one_per_layout_and_the_unit_page_shows_them(xs, client):
    from django.core.files.storage import default_storage
    from PIL import Image

    from kvartal.demo.floorplans import HEIGHT, WIDTH, flat_plan_png
    from kvartal.demo.showcase import setup_showcase
    from kvartal.showcase.selectors import available_units

    setup_showcase(lambda line: None)
    flats = list(
        Unit.objects.filter(kind=UnitKind.APARTMENT, floor__is_typical=True)
        .exclude(layout="")
        .select_related("floor")
    )
    assert flats
    layouts = defaultdict(set)  # a layout: a section's position on its typical floors
    for unit in flats:
        layouts[unit.section_id, unit.position].add(unit.layout.name)
    assert all(len(names) == 1 for names in layouts.values())
    assert len(set.union(*layouts.values())) == len(layouts)  # one file per layout
    unit = flats[0]
    for name in (unit.layout.name, unit.floor.plan.name):
        assert name.endswith(".png")
        with default_storage.open(name) as stored:
            image = Image.open(stored)
            image.load()
        assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    with default_storage.open(unit.layout.name) as stored:  # the same flat draws the same bytes
        assert stored.read() == flat_plan_png(
            unit.rooms, unit.total_area, unit.living_area, unit.kitchen_area
        )
    shown = available_units().filter(pk__in=[u.pk for u in flats]).first()
    page = client.get(f"/units/{shown.pk}/").text
    assert 'alt="Plan of the flat"' in page and 'alt="Floor plan"' in page
