"""Holds in a real browser: hold from the chessboard, the red mark near the end, and two
managers racing for one unit."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from kvartal.accounts.models import Role
from kvartal.clients.services import client_create
from kvartal.inventory.models import StatusChange, Unit
from kvartal.sales.models import Hold, HoldEvent, HoldTerm
from kvartal.sales.services.holds import hold_create
from kvartal.testing import (
    browser_sign_in,
    make_building,
    make_section,
    make_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def building(db):
    # The shipped term presets (a transactional test's flush removes migrations' rows).
    for days in (1, 3, 7, 14):
        HoldTerm.objects.get_or_create(days=days)
    building = make_building(name="Корпус 9")
    make_section(building, number=1, floors=3, per_floor=3, price_per_m2=Decimal("150000"))
    return building


def _fill_new_client(page, last_name: str, phone: str):
    page.fill("input[name=last_name]", last_name)
    page.fill("input[name=first_name]", "Анна")
    page.fill("input[name=phone]", phone)


def test_a_manager_holds_a_unit_from_the_chessboard(page, sign_in, manager, building):
    unit = Unit.objects.get(building=building, code="1.2.2")
    sign_in(manager)
    page.goto(f"/app/buildings/{building.pk}/")
    cell = page.locator(f".board .cell:has(a[href='/app/units/{unit.pk}/'])")
    expect(cell).to_have_class(re.compile(r"st-available"))

    cell.locator("a").click()
    panel = page.locator("#panel")
    expect(panel.locator(".hold-panel")).to_be_visible()
    panel.locator("a.hold-button").click()

    page.wait_for_url(f"**/app/units/{unit.pk}/hold/**")
    page.select_option("select[name=kind]", "free")
    page.select_option("select[name=term]", "7")
    page.select_option("select[name=basis]", "mortgage")
    _fill_new_client(page, "Покупателева", "+79125551001")
    # Enter in a field posts the form with its Hold button, not the client picker's Find.
    page.press("input[name=phone]", "Enter")

    page.wait_for_url(re.compile(rf".*/app/buildings/{building.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("is held for Покупателева Анна")
    expect(cell).to_have_class(re.compile(r"st-reserved"))
    hold = Hold.objects.get(unit=unit)
    assert (hold.manager, hold.kind, hold.basis, hold.state) == (
        manager,
        "free",
        "mortgage",
        "active",
    )


def test_a_hold_ending_soon_turns_the_cell_red(page, sign_in, manager, building):
    unit = Unit.objects.get(building=building, code="1.3.1")
    buyer = client_create(by=manager, last_name="Скоров", first_name="Иван")
    # Made 22 hours ago for one day: it ends in two hours, inside the 24-hour warning.
    hold_create(
        unit=unit,
        client=buyer,
        manager=manager,
        by=manager,
        days=1,
        at=timezone.now() - timedelta(hours=22),
    )
    sign_in(manager)
    page.goto(f"/app/buildings/{building.pk}/")

    cell = page.locator(f".board .cell:has(a[href='/app/units/{unit.pk}/'])")
    expect(cell).to_have_class(re.compile(r"st-reserved.*expiring"))
    assert page.locator(".board .cell.expiring").count() == 1
    cell.locator("a").click()
    expect(page.locator("#panel .hold-panel.expiring")).to_contain_text("The hold ends soon")


def test_two_managers_race_for_one_unit_and_one_wins(browser, live_server, building):
    unit = Unit.objects.get(building=building, code="1.1.3")
    first, second = make_user(Role.SALES_MANAGER), make_user(Role.SALES_MANAGER)
    contexts, pages = [], []
    for n, user in enumerate((first, second)):
        context = browser.new_context(base_url=live_server.url, locale="en-US")
        context.set_default_timeout(10_000)
        page = context.new_page()
        browser_sign_in(page, user)
        page.goto(f"/app/units/{unit.pk}/hold/")
        _fill_new_client(page, f"Гонщик{n}", f"+7912555200{n}")
        contexts.append(context)
        pages.append(page)
    history = StatusChange.objects.count()

    # Both forms are open on an available unit; both submit.
    for page in pages:
        page.click("form.hold-form .actions button[type=submit]")
    for page in pages:  # the winner lands on the unit card, the loser back on the form
        page.locator(".messages .flash-success, .form-errors").first.wait_for()

    won = [p for p in pages if "/hold/" not in p.url]
    lost = [p for p in pages if "/hold/" in p.url]
    assert len(won) == 1 and len(lost) == 1
    expect(lost[0].locator(".form-errors")).to_contain_text("is already held")
    hold = Hold.objects.get(unit=unit)
    assert HoldEvent.objects.filter(hold__unit=unit).count() == 1
    assert StatusChange.objects.count() == history + 1
    assert hold.manager in (first, second)
    for context in contexts:
        context.close()


def test_a_manager_holds_until_a_moment_typed_in_russian(page, sign_in, manager, building):
    """An English browser on a Russian page: the "until" input is typed as the page writes
    (ДД.ММ.ГГГГ ЧЧ:ММ), not as the browser's datetime-local (mm/dd/yyyy, hh:mm AM/PM)."""
    unit = Unit.objects.get(building=building, code="1.2.1")
    sign_in(manager)
    page.goto(f"/app/units/{unit.pk}/hold/")
    page.click(".langswitch button[value=ru]")  # the page in Russian, the browser in English
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    until = page.locator("input[name=expires_at]")
    assert until.get_attribute("type") == "text"
    hint = page.locator(f"#{until.get_attribute('id')}_format")
    expect(hint).to_be_visible()
    expect(hint).to_have_text("ДД.ММ.ГГГГ ЧЧ:ММ")
    assert hint.get_attribute("id") in until.get_attribute("aria-describedby").split()

    day = timezone.localdate() + timedelta(days=2)
    page.select_option("select[name=term]", "custom")
    until.fill(day.strftime("%d.%m.%Y") + " 18:45")
    _fill_new_client(page, "Временная", "+79125551002")
    page.click("form.hold-form .actions button[type=submit]")

    page.wait_for_url(re.compile(r".*/app/(buildings|units)/\d+/$"))
    hold = Hold.objects.get(unit=unit)
    local = timezone.localtime(hold.expires_at)
    assert (local.date(), local.hour, local.minute) == (day, 18, 45)
    assert str(local.tzinfo) == settings.TIME_ZONE
