"""The showcase in a real browser: a visitor filters the catalogue, opens units, computes a
mortgage, keeps favourites, compares them and leaves a request; a visitor books a unit
online with a phone code; two visitors book the same unit at once and one wins."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kvartal.accounts.models import Role
from kvartal.clients.models import Lead
from kvartal.core.testing import make_building, make_project, make_section, make_user
from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.sales.models import Hold, HoldKind, SalesSettings
from kvartal.showcase.models import (
    Favourite,
    OnlineBooking,
    PhoneCode,
    ProjectShowcase,
    VisitorRequest,
)
from kvartal.showcase.sms import MemoryBackend

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings, keeper):
    """One published project (12 flats: a studio, 1-, 2- and 3-room flats on 3 floors), a
    manager on duty for site leads, codes kept in memory, no wait before sending a form."""
    from django.core.cache import cache

    cache.clear()  # the rate limits and the showcase's pages start afresh
    settings.SHOWCASE_FORM_MIN_SECONDS = 0
    settings.SHOWCASE_SMS_BACKEND = "kvartal.showcase.sms.MemoryBackend"
    MemoryBackend.outbox.clear()
    SalesSettings.current()
    duty = make_user(Role.SALES_MANAGER, username="duty", on_duty=True)
    project = make_project(name="ЖК Витрина")
    building = make_building(project, name="Корпус 1")
    make_section(building, by=keeper, floors=3, per_floor=4, price_per_m2=Decimal("150000"))
    ProjectShowcase.objects.create(project=project, is_published=True)
    yield duty
    MemoryBackend.outbox.clear()
    cache.clear()


def _code_sent_to(phone: str) -> str:
    texts = [text for to, text in MemoryBackend.outbox if to == phone]
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def test_a_visitor_filters_opens_computes_keeps_compares_and_asks(
    page, world, browser, live_server
):
    page.goto("/")
    expect(page.locator(".found")).to_contain_text("12 flats found")
    page.locator("fieldset.rooms label", has_text="2").locator("input").check()
    page.fill("input[name=price_max]", "9000000")
    page.locator("form.filters button.btn").click()
    page.wait_for_url(re.compile(r".*rooms=2.*"))
    # 2-room flats are 56.2 m² × 150 000 ₽ = 8 430 000 ₽: all three floors match
    expect(page.locator(".found")).to_contain_text("3 flats found")
    expect(page.locator(".grid .ucard")).to_have_count(3)
    catalogue = page.url

    page.locator(".grid .ucard h3 a").first.click()
    page.wait_for_url("**/units/**")
    first = Unit.objects.get(pk=int(re.search(r"/units/(\d+)/", page.url)[1]))
    assert first.rooms == 2
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".side .st")).to_have_text("Available")

    # the mortgage calculator (a GET form: it works without JavaScript too)
    page.fill("input[name=rate]", "6")
    page.fill("input[name=years]", "20")
    page.locator("form.calc button").click()
    page.wait_for_url(re.compile(r".*rate=6.*"))
    expect(page.locator("#opt-mortgage h3")).to_contain_text("20 years")
    expect(page.locator("#opt-mortgage h3")).to_contain_text("6")

    page.locator("form[action$='/favourite/'] button").click()
    expect(page.locator("form[action$='/favourite/'] button")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.locator("form[action$='/compare/'] button").click()
    expect(page.locator("form[action$='/compare/'] button")).to_have_attribute(
        "aria-pressed", "true"
    )

    page.goto(catalogue)
    page.locator(".grid .ucard h3 a").nth(1).click()
    page.wait_for_url("**/units/**")
    second = Unit.objects.get(pk=int(re.search(r"/units/(\d+)/", page.url)[1]))
    assert second != first
    page.locator("form[action$='/favourite/'] button").click()
    expect(page.locator("form[action$='/favourite/'] button")).to_have_text(
        re.compile("In favourites")
    )
    page.locator("form[action$='/compare/'] button").click()
    expect(page.locator("form[action$='/compare/'] button")).to_have_text("Comparing")
    assert set(Favourite.objects.values_list("unit_id", flat=True)) == {first.pk, second.pk}

    page.goto("/compare/")
    expect(page.locator("table.cmp thead th a")).to_have_count(2)
    expect(page.locator("table.cmp")).to_contain_text("8,430,000 ₽")

    # a question about the second flat: the lead carries what the visitor looked at
    page.goto(f"/units/{second.pk}/")
    ask = page.locator("section.ask form")
    ask.locator("input[name=name]").fill("Анна Покупателева")
    ask.locator("input[name=phone]").fill("+7 912 555-10-01")
    ask.locator("input[name=consent]").check()
    ask.locator("button.btn").click()
    page.wait_for_url("**/request/sent/")
    expect(page.locator("[role=status]")).to_contain_text("a manager will call you back")

    lead = Lead.objects.get()
    assert lead.unit == second and lead.manager == world
    assert first.code in lead.message and second.code in lead.message
    request = VisitorRequest.objects.get()
    assert request.lead == lead and request.consent_version

    # the manager on duty signs in, turns the lead into a client and finds the footprint on
    # the client card (a context of their own: the site's CSP set aside for axe's script only)
    office = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": 1400, "height": 900},
        bypass_csp=True,
    )
    office.set_default_timeout(10_000)
    manager = office.new_page()
    try:
        _manager_finds_the_footprint(manager, world, lead, first, second)
    finally:
        office.close()


def _manager_finds_the_footprint(page, manager, lead, first, second):
    from django.urls import reverse

    from kvartal.core.tests.test_browser_accessibility import axe_violations
    from kvartal.testing import browser_sign_in

    browser_sign_in(page, manager)
    page.goto(reverse("clients:lead-detail", args=[lead.pk]))
    page.locator(".page-head .actions a", has_text="Convert").click()
    page.locator("form button[type=submit]", has_text="Convert").click()
    page.wait_for_url(re.compile(rf".*/leads/{lead.pk}/$"))
    page.locator("a", has_text="Open the client card").click()
    page.wait_for_url("**/clients/**")
    footprint = page.locator("section.showcase-footprint")
    expect(footprint.locator("h2")).to_have_text("On the showcase")
    expect(footprint).to_contain_text("Looked at flats")
    expect(footprint).to_contain_text("Saved 2 units")
    expect(footprint).to_contain_text("Compared:")
    for unit in (first, second):
        expect(footprint.locator("a", has_text=unit.code).first).to_be_visible()
    expect(footprint.locator("a", has_text="Ask about the unit")).to_be_visible()  # the request
    assert axe_violations(page, page.url) == []


def test_a_request_without_consent_is_refused_in_the_browser(page, world):
    unit = Unit.objects.filter(rooms=1).first()
    page.goto(f"/units/{unit.pk}/")
    ask = page.locator("section.ask form")
    ask.locator("input[name=name]").fill("Анна")
    ask.locator("input[name=phone]").fill("+7 912 555-10-01")
    # the box is required in the page; a visitor without a browser check still meets the
    # server's refusal
    ask.locator("input[name=consent]").evaluate("box => box.removeAttribute('required')")
    ask.locator("button.btn").click()
    expect(page.locator(".consent .err")).to_contain_text("Without your consent")
    assert not Lead.objects.exists()


def _ask_for_a_code(page, unit: Unit, name: str, phone: str):
    page.goto(f"/units/{unit.pk}/")
    page.locator("a.btn[href$='/book/']").click()
    page.wait_for_url(f"**/units/{unit.pk}/book/")
    page.fill("input[name=name]", name)
    page.fill("input[name=phone]", phone)
    page.check("input[name=consent]")
    page.locator("form.reqform button.btn").click()
    page.wait_for_url(f"**/units/{unit.pk}/book/confirm/")


def test_a_visitor_books_a_flat_online_and_it_leaves_the_catalogue(page, world):
    unit = Unit.objects.filter(rooms=3).order_by("floor__index").first()
    page.goto("/?rooms=3")
    expect(page.locator(".found")).to_contain_text("3 flats found")

    _ask_for_a_code(page, unit, "Пётр Покупателев", "+7 912 555-20-01")
    code = _code_sent_to("+79125552001")
    page.fill("input[name=code]", "000000" if code != "000000" else "111111")
    page.locator("form.reqform button.btn").click()
    expect(page.locator("[role=alert]")).to_contain_text("The code is wrong")
    assert not Hold.objects.exists()

    page.fill("input[name=code]", code)
    page.locator("form.reqform button.btn").click()
    page.wait_for_url("**/bookings/**")
    expect(page.locator("h1")).to_have_text("The flat is booked for you")
    expect(page.locator("[role=status]")).to_contain_text(f"Flat № {unit.number}")

    hold = Hold.objects.get()
    assert hold.unit == unit and hold.kind == HoldKind.ONLINE and hold.manager == world
    # live: the next page view no longer offers it
    page.goto("/?rooms=3")
    expect(page.locator(".found")).to_contain_text("2 flats found")
    expect(page.locator(f".grid a[href='/units/{unit.pk}/']")).to_have_count(0)
    page.goto(f"/units/{unit.pk}/")
    expect(page.locator(".side .st")).to_have_text("Booked")
    expect(page.locator("a.btn[href$='/book/']")).to_have_count(0)


def test_two_visitors_book_the_same_flat_at_once_and_one_wins(browser, live_server, world):
    unit = Unit.objects.filter(rooms=1).order_by("floor__index").first()
    phones = ["+79125553000", "+79125553001"]
    contexts, pages = [], []
    for n, phone in enumerate(phones):
        context = browser.new_context(base_url=live_server.url, locale="en-US")
        context.set_default_timeout(10_000)
        page = context.new_page()
        _ask_for_a_code(page, unit, f"Гонщик{n} Иван", phone)
        page.fill("input[name=code]", _code_sent_to(phone))
        contexts.append(context)
        pages.append(page)
    history = StatusChange.objects.filter(unit=unit).count()

    # Both have a valid code for an available flat; both press "Book".
    for page in pages:
        page.locator("form.reqform button.btn").click(no_wait_after=True)
    outcome = "h1:text('The flat is booked for you'), .reqform [role=alert]"
    for page in pages:  # the winner lands on the booking, the loser back on the form
        page.locator(outcome).first.wait_for()

    won = [p for p in pages if "/bookings/" in p.url]
    lost = [p for p in pages if "/book/confirm/" in p.url]
    assert len(won) == 1 and len(lost) == 1
    expect(lost[0].locator(".reqform [role=alert]")).to_contain_text(
        "this unit has just been taken by someone else"
    )
    # one hold, one booking, one lead and one request: the loser's went with its transaction
    hold = Hold.objects.get()
    assert hold.unit == unit and hold.kind == HoldKind.ONLINE
    booking = OnlineBooking.objects.get()
    assert (Lead.objects.count(), VisitorRequest.objects.count()) == (1, 1)
    assert StatusChange.objects.filter(unit=unit).count() == history + 1
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED
    # the winner's code is spent, the loser's is not (nothing of theirs was written)
    spent = PhoneCode.objects.filter(used_at__isnull=False)
    assert list(spent.values_list("phone", flat=True)) == [booking.lead.client.phone_normalized]
    assert PhoneCode.objects.filter(used_at__isnull=True).count() == 1

    # the loser, looking again, sees it taken
    lost[0].goto(f"/units/{unit.pk}/")
    expect(lost[0].locator(".side .st")).to_have_text("Booked")
    for context in contexts:
        context.close()
