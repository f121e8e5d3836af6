"""The inventory in a real browser: Playwright driving Debian's Chromium against a live server."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kvartal.inventory.models import PriceChange, Unit
from kvartal.testing import browser_sign_in, make_building, make_section

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def building(db):
    building = make_building(name="Корпус 7")
    make_section(building, number=1, floors=4, per_floor=4, price_per_m2=Decimal("150000"))
    return building


def test_keeper_signs_in_filters_the_chessboard_and_reprices_a_unit(
    page, sign_in, keeper, building
):
    errors = []  # htmx logs a trigger it may not evaluate under the CSP as an error
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    sign_in(keeper)
    expect(page.locator("h1")).to_contain_text("Projects")

    page.goto(f"/app/buildings/{building.pk}/")
    cells = page.locator(".board .cell:not(.void)")
    expect(cells).to_have_count(16)

    # A number typed in a filter applies once, when the typing stops.
    boards = []
    page.on("request", lambda r: "price_min" in r.url and boards.append(r.url))
    page.locator("input[name=price_min]").press_sequentially("99", delay=50)
    expect(page).to_have_url(re.compile(r"price_min=99"))
    expect(page.locator(".board .cell.dim")).to_have_count(16)
    assert len(boards) == 1, boards
    page.goto(f"/app/buildings/{building.pk}/")

    # Filter: only one-room flats. The grid keeps its shape; the others are dimmed.
    page.locator("label.toggle", has_text=re.compile(r"^1$")).click()
    expect(page).to_have_url(re.compile(r"rooms=1"))
    expect(page.locator(".board .cell.dim")).to_have_count(12)
    expect(page.locator(".board .cell:not(.void):not(.dim)")).to_have_count(4)
    assert errors == []

    # Open a one-room flat: its card slides in over the board.
    unit = Unit.objects.get(building=building, code="1.3.2")
    page.locator(".board .cell:not(.dim) a", has_text=unit.number).first.click()
    panel = page.locator("#panel")
    expect(panel).to_contain_text(unit.code)

    # Change its price from the card; the new history row appears.
    panel.locator("input[name=price]").fill("6100000")
    panel.locator("form[action$='/price/'] input[name=reason]").fill("Новый прайс-лист")
    panel.locator("form[action$='/price/'] button[type=submit]").click()
    page.wait_for_url(f"**/app/units/{unit.pk}/")
    expect(page.locator(".messages")).to_contain_text("Price changed")
    expect(page.locator("body")).to_contain_text("Новый прайс-лист")
    expect(page.locator("body")).to_contain_text("6,100,000")

    row = PriceChange.objects.get(unit=unit)
    assert (row.new_price, row.actor_id, row.reason) == (
        Decimal("6100000"),
        keeper.pk,
        "Новый прайс-лист",
    )


def test_a_refused_price_shows_the_reason_and_keeps_the_old_price(page, sign_in, keeper, building):
    unit = Unit.objects.get(building=building, code="1.1.1")
    old_price = unit.price
    sign_in(keeper)
    page.goto(f"/app/units/{unit.pk}/price/")
    page.fill("input[name=price]", "0")
    page.fill("input[name=reason]", "опечатка")
    page.click("button[type=submit]")
    expect(page.locator(".error, .form-errors").first).to_contain_text("price above zero")
    unit.refresh_from_db()
    assert unit.price == old_price
    assert not PriceChange.objects.exists()


def test_a_manager_reads_the_board_but_has_no_price_form(page, sign_in, manager, building):
    sign_in(manager)
    unit = Unit.objects.get(building=building, code="1.1.1")
    page.goto(f"/app/units/{unit.pk}/")
    expect(page.locator("h1")).to_contain_text(unit.number)
    expect(page.locator("form[action$='/price/']")).to_have_count(0)


def test_the_chessboard_is_usable_on_a_phone(browser, live_server, keeper, building):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="en-US"
    )
    page = context.new_page()
    browser_sign_in(page, keeper)
    page.goto(f"/app/buildings/{building.pk}/")
    # The menu folds into a button; the board scrolls sideways instead of breaking the page.
    expect(page.locator(".nav-burger")).to_be_visible()
    expect(page.locator(".mainnav")).to_be_hidden()
    page.locator(".nav-burger").click()
    expect(page.locator(".mainnav")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1
    context.close()


def test_the_back_office_pages_fit_a_phone(browser, live_server, keeper, manager, building):
    """No page is wider than a 390 px phone: a wide table scrolls inside its card (the deal's
    payments, the project sheet, the agency cabinet, the showcase office), the lists of "my
    day" fold into one column."""
    from kvartal.accounts.models import Role
    from kvartal.agencies.services import fixation_create
    from kvartal.agencies.tests.factories import make_agency, make_agent, open_project
    from kvartal.sales.models import PaymentMethod
    from kvartal.sales.services.payments import schedule_generate
    from kvartal.sales.tests.factories import make_client, make_deal
    from kvartal.showcase.models import ProjectShowcase
    from kvartal.testing import make_user

    project = building.project
    ProjectShowcase.objects.create(project=project, is_published=True)
    units = list(Unit.objects.filter(building=building).order_by("pk"))
    buyer = make_client(manager=manager, last_name="Широкова", phone="+79990001122")
    deal = make_deal(
        manager=manager, unit=units[0], buyer=buyer, payment_method=PaymentMethod.INSTALMENTS
    )
    schedule_generate(deal=deal, by=manager, down_payment="25%", months=3)
    open_project(project, price_mode="partner", partner_discount_percent=2)
    agent = make_agent(make_agency(name="Агентство недвижимости «Широкий горизонт»"))
    fixation_create(agent=agent, project=project, name="Петров Пётр", phone="+79001112233")
    pages = [
        (keeper, f"/app/projects/{project.pk}/sheet/"),
        (manager, f"/app/deals/{deal.pk}/"),
        (manager, "/app/my-day/"),
        (agent, "/app/agencies/cabinet/"),
        (make_user(Role.SALES_HEAD), "/app/agencies/desk/"),
        (make_user(Role.MARKETER), "/app/showcase/"),
        (None, f"/projects/{project.pk}/"),
    ]
    too_wide = []
    for user, url in pages:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="ru-RU"
        )
        page = context.new_page()
        if user is not None:
            browser_sign_in(page, user)
        response = page.goto(url)
        assert response is not None and response.ok, url
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390 + 1:
            too_wide.append(f"{url}: {width} px")
        context.close()
    assert not too_wide, too_wide


def test_the_cashier_list_fits_a_desktop_screen(browser, live_server, manager, building):
    """On a 1 280 px laptop the cashier's list shows every column and each row's action without
    scrolling sideways: its "Record payment" buttons were cut off at the right edge (1 355 px of
    table in 1 244), the number columns' headings no longer widen them, the next payment's
    amount goes under its date and a long stage name takes two lines."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from kvartal.accounts.models import Role
    from kvartal.sales.models import PaymentLine
    from kvartal.sales.tests.factories import make_client, make_deal, opened
    from kvartal.testing import make_user

    today = timezone.localdate()
    for n, unit in enumerate(Unit.objects.filter(building=building).order_by("pk")[:3]):
        buyer = make_client(
            manager=manager,
            last_name="Константинопольская",
            first_name="Александра",
            phone=f"+7999000440{n}",
        )
        deal = make_deal(manager=manager, unit=unit, buyer=buyer, at=opened(days_ago=90))
        PaymentLine.objects.create(
            deal=deal,
            due_date=today - timedelta(days=40),
            amount=Decimal("1234567.89"),
            kind="down_payment",
        )
        PaymentLine.objects.create(
            deal=deal,
            due_date=today + timedelta(days=30),
            amount=deal.total_due - Decimal("1234567.89"),
            kind="lump_sum",
        )
    cashier = make_user(Role.CASHIER)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, locale="ru-RU"
    )
    page = context.new_page()
    browser_sign_in(page, cashier)
    page.goto(reverse("sales:cashier"))
    scroll, room = page.evaluate(
        "(() => { const w = document.querySelector('table.cashier').closest('.table-wrap')"
        " || document.documentElement; return [w.scrollWidth, w.clientWidth]; })()"
    )
    assert scroll <= room + 1, f"the list is {scroll} px wide in {room} px"
    context.close()
