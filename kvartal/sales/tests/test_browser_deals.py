"""Deals in a real browser: a held unit becomes a deal from its card and moves on a stage."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kvartal.clients.services import client_create
from kvartal.inventory.models import Unit, UnitStatus
from kvartal.sales.models import Deal, HoldState
from kvartal.sales.services.holds import hold_create
from kvartal.testing import make_building, make_section

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_turns_a_held_unit_into_a_deal_and_signs_the_contract(page, sign_in, manager):
    building = make_building(name="Корпус 3")
    make_section(building, floors=2, per_floor=2, price_per_m2=Decimal("150000"))
    unit = Unit.objects.filter(building=building).order_by("pk").first()
    buyer = client_create(by=manager, last_name="Петров", first_name="Иван", phone="+79001234567")
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)

    sign_in(manager)
    page.goto(f"/app/units/{unit.pk}/")
    page.locator(f"a[href$='/app/deals/new/?hold={hold.pk}']").first.click()
    page.wait_for_url(f"**/app/deals/new/?hold={hold.pk}")
    expect(page.locator("select[name='buyers-0-client']")).to_have_value(str(buyer.pk))
    page.get_by_role("button", name="Open the deal").click()

    page.wait_for_url("**/app/deals/*/")
    deal = Deal.objects.get(unit=unit)
    expect(page.locator(".messages")).to_contain_text(f"Deal {deal.number} opened")
    expect(page.locator("h1")).to_contain_text("Contract preparation")

    page.get_by_role("button", name="Contract signed").click()
    page.wait_for_url(f"**/app/deals/{deal.pk}/")
    expect(page.locator(".messages")).to_contain_text("Contract signed")

    deal.refresh_from_db()
    unit.refresh_from_db()
    hold.refresh_from_db()
    assert deal.stage.code == "signed"
    assert deal.price == hold.price
    assert [b.client_id for b in deal.buyers.all()] == [buyer.pk]
    assert hold.state == HoldState.CONVERTED
    assert unit.status == UnitStatus.IN_DEAL
    assert list(deal.events.values_list("kind", flat=True)) == [
        "created",
        "schedule",  # the default schedule, laid out with the deal
        "stage",
    ]
