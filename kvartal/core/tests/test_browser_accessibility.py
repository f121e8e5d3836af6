"""axe-core (npm, pinned in package.json; ``make test`` installs it) on the main pages and on
every role's start page: no serious or critical violation, and nothing written to the console as an
error while a page loads."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.accounts.start import start_url
from kvartal.analytics.tests.factories import sell
from kvartal.sales.models import PaymentMethod
from kvartal.sales.services.payments import schedule_generate
from kvartal.sales.tests.factories import make_client, make_deal, make_promotion
from kvartal.testing import make_building, make_section, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} — ` +
      v.nodes.slice(0, 6).map(n => n.target.join(" ") +
        (n.any[0] && n.any[0].data && n.any[0].data.fgColor
          ? ` [${n.any[0].data.fgColor} on ${n.any[0].data.bgColor}]` : "")).join(", "));
}"""


def axe_violations(page, url: str) -> list[str]:
    """The serious and critical violations axe-core finds on ``url``, one line each, and the
    errors the page wrote to the browser's console while it loaded (an htmx trigger the CSP
    forbids to evaluate was one)."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: make install-js (make test does it)")
    errors = []
    listen = lambda message: message.type == "error" and errors.append(message.text)  # noqa: E731
    page.on("console", listen)
    response = page.goto(url)
    assert response is not None and response.ok, url
    page.wait_for_load_state("load")
    page.remove_listener("console", listen)
    page.add_script_tag(path=str(AXE))
    found = [f"{url}: {line}" for line in page.evaluate(RUN_AXE)]
    return found + [f"{url}: console error: {text}" for text in errors]


@pytest.fixture
def page(browser, live_server):
    """The shared page, with the site's Content-Security-Policy set aside for axe's script only
    (``script-src 'self'`` refuses an injected one)."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": 1400, "height": 900},
        bypass_csp=True,
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def sales(db):
    """A building with units, a client, a deal with a schedule and a sale, a promotion."""
    building = make_building(name="Корпус 1")
    section = make_section(building, floors=3, per_floor=4, price_per_m2=Decimal("150000"))
    units = list(section.units.order_by("pk"))
    manager = make_user(Role.SALES_MANAGER, username="manager")
    client = make_client(manager=manager, last_name="Доступова", phone="+79990001122")
    deal = make_deal(
        manager=manager,
        unit=units[0],
        buyer=client,
        payment_method=PaymentMethod.INSTALMENTS,
        number="Д-2026-00001",
    )
    schedule_generate(deal=deal, by=manager, down_payment="25%", months=3)
    sell(units[1], timezone.now() - timedelta(days=2), manager=manager)
    make_promotion(by=manager, buildings=[building])
    return {
        "building": building,
        "unit": units[2],
        "client": client,
        "deal": deal,
        "manager": manager,
    }


def test_the_main_pages_have_no_serious_violation(page, sign_in, sales):
    sign_in(sales["manager"])
    found = []
    for url in [
        f"/app/buildings/{sales['building'].pk}/",
        f"/app/units/{sales['unit'].pk}/",
        f"/app/units/{sales['unit'].pk}/hold/",  # a date-and-time input with its format
        "/app/units/",
        f"/app/clients/{sales['client'].pk}/",
        f"/app/deals/{sales['deal'].pk}/",
    ]:
        found += axe_violations(page, url)
    assert not found, "\n".join(found)


def test_the_director_pages_have_no_serious_violation(page, sign_in, sales):
    sign_in(make_user(Role.DIRECTOR))
    found = axe_violations(page, "/app/dashboard/")
    found += axe_violations(page, "/app/reports/sales/")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.DIRECTOR])
def test_each_role_start_page_has_no_serious_violation(page, sign_in, sales, role):
    user = make_user(role)
    sign_in(user)
    found = axe_violations(page, start_url(user))
    assert not found, "\n".join(found)


def test_lead_states_deal_stages_and_tasks_read_in_their_colours_without_violation(
    page, sign_in, sales
):
    """Each lead status and deal outcome badge (new, in work, won, lost) and the task lists,
    an all-day task among them, keep AA contrast."""
    from kvartal.clients import services as clients
    from kvartal.clients.models import Channel, LeadStatus
    from kvartal.sales.tests.factories import deal_reach

    manager = sales["manager"]
    call = Channel.objects.get(code="call")
    leads = {}
    for n, status in enumerate(["new", "in_work", "converted", "lost"]):
        lead = clients.lead_create(
            by=manager, channel=call, name=f"Лид {n}", phone=f"+7999000200{n}", manager=manager
        )
        if status == "converted":
            clients.lead_convert(lead=lead, by=manager)
        elif status != "new":
            clients.lead_set_status(
                lead=lead, status=LeadStatus(status), by=manager, reason="Купил у конкурента"
            )
        leads[status] = lead
    building = sales["building"]
    won, lost = building.units.filter(status="available").order_by("pk")[:2]
    deal_reach(deal_reach(make_deal(manager=manager, unit=won), "signed"), "registered")
    deal_reach(make_deal(manager=manager, unit=lost), "terminated")
    today = timezone.localtime()
    clients.task_create(by=manager, title="Весь день", due_at=today, all_day=True, assignee=manager)
    clients.task_create(
        by=manager, title="Вчера", due_at=today - timedelta(days=1), all_day=True, assignee=manager
    )
    sign_in(manager)
    found = []
    for url in [
        "/app/leads/",
        f"/app/leads/{leads['converted'].pk}/",
        f"/app/leads/{leads['lost'].pk}/",
        "/app/deals/",
        f"/app/deals/{sales['deal'].pk}/payments/",
        "/app/tasks/",
        "/app/tasks/new/",
    ]:
        found += axe_violations(page, url)
    assert not found, "\n".join(found)


def test_needs_and_lead_states_read_as_badges_without_violation(page, sign_in, sales):
    """A client's needs in each status and the leads on the manager's day, as badges in the
    sale's progress colours, keep AA contrast, on the client card, the manager's day and the
    operator's caller panel (whose four action forms each label every control)."""
    from django.urls import reverse

    from kvartal.clients import services as clients
    from kvartal.clients.models import Channel, LeadStatus, Need, NeedStatus

    manager, buyer = sales["manager"], sales["client"]
    for status in NeedStatus:
        Need.objects.create(client=buyer, status=status, title=f"Need {status}")
    call = Channel.objects.get(code="call")
    for n, status in enumerate([LeadStatus.NEW, LeadStatus.IN_WORK]):
        lead = clients.lead_create(
            by=manager, channel=call, name=f"Лид {n}", phone=f"+7999000300{n}", manager=manager
        )
        if status != LeadStatus.NEW:
            clients.lead_set_status(lead=lead, status=status, by=manager)
    sign_in(manager)
    found = []
    for url in [
        reverse("sales:client-detail", args=[buyer.pk]),
        reverse("sales:my-day"),
    ]:
        found += axe_violations(page, url)
    page.context.clear_cookies()  # signed out: the operator signs in next
    sign_in(make_user(Role.OPERATOR))
    found += axe_violations(page, reverse("callcentre:subject", args=["client", buyer.pk]))
    assert not found, "\n".join(found)


def test_the_second_factor_pages_have_no_serious_violation(page, settings, sales):
    """A director meets the second factor's pages before any other: setting it up the first
    time, the code after. Their "Sign out" sits on the white card, not in the dark bar (it
    was drawn in the bar's pale colour there, nearly invisible)."""
    from django_otp.oath import totp

    from kvartal.accounts import security
    from kvartal.testing import PASSWORD

    settings.KVARTAL_2FA_ROLES = frozenset({"director"})
    director = make_user(Role.DIRECTOR)

    def sign_in_to(landing: str):
        page.goto("/accounts/login/")
        page.fill("input[name=username]", director.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{landing}**")

    sign_in_to("/accounts/two-factor/setup/")
    found = axe_violations(page, page.url)
    sign_out = page.locator("main").get_by_role("button", name="Sign out")
    assert sign_out.is_visible()
    device = security.totp_start(user=director)
    token = f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    security.totp_confirm(user=director, device=device, token=token)
    sign_out.click()
    page.wait_for_url("**/accounts/login/**")
    sign_in_to("/accounts/two-factor/")
    found += axe_violations(page, page.url)
    assert not found, "\n".join(found)


def test_table_forms_links_and_wide_tables_have_no_serious_violation(page, sign_in, sales):
    """Found by walking every role's pages with axe: the inputs of forms drawn as table rows
    (a deal's buyers, a price list's rates and factors, a feed's buildings) had no name a
    screen reader reads; links in a heading or a list told apart by colour alone; a table
    wider than its frame could not be scrolled from the keyboard."""
    sign_in(sales["manager"])
    found = axe_violations(page, f"/app/deals/{sales['deal'].pk}/buyers/")
    found += axe_violations(page, f"/app/showcase/units/{sales['unit'].pk}/terms/")
    page.goto(f"/app/deals/{sales['deal'].pk}/buyers/")
    assert page.locator("#id_buyers-1-phone").get_attribute("aria-label") == "Phone, row 2"
    page.context.clear_cookies()
    sign_in(make_user(Role.SALES_HEAD))
    found += axe_violations(page, "/app/pricing/lists/new/")
    found += axe_violations(page, "/app/pricing/import/")
    today = timezone.localdate()
    report = f"/app/reports/plan-fact/?date_from={today.year - 1}-01-01&date_to={today}&step=month"
    page.set_viewport_size({"width": 600, "height": 900})  # a phone: its tables scroll
    found += axe_violations(page, report)
    wide = page.locator(".table-wrap").first
    assert wide.evaluate("el => el.scrollWidth > el.clientWidth"), "the table should be wide"
    assert wide.get_attribute("tabindex") == "0"
    page.set_viewport_size({"width": 1400, "height": 900})
    page.context.clear_cookies()
    sign_in(make_user(Role.MARKETER))
    found += axe_violations(page, "/app/feeds/yandex/")
    assert not found, "\n".join(found)
