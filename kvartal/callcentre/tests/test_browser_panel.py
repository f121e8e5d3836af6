"""The panel and the chessboard in a real browser: a call event pops the caller up on the
operator's open panel, and a unit held elsewhere changes colour on an open chessboard — both
without a reload."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kvartal.core.testing import make_building, make_section
from kvartal.inventory.models import Unit
from kvartal.sales.services.holds import hold_create
from kvartal.sales.tests.factories import make_client

from ..models import CallState
from ..services import CallEventData, call_event_apply
from .factories import make_operator, make_system

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _short_streams(settings):
    settings.CALLCENTRE_STREAM_SECONDS = 3  # reconnections happen within the test too


def test_a_ringing_call_pops_up_on_the_open_panel(page, sign_in, manager):
    operator = make_operator("101", username="operator")
    system = make_system()
    make_client(manager=manager, phone_normalized="+79123456789", last_name="Звонарёв")
    sign_in(operator)
    page.goto("/app/calls/")
    expect(page.locator("[data-live-state]")).to_have_text("live")
    call = call_event_apply(
        data=CallEventData(
            system=system,
            event_id="e1",
            call_id="c1",
            kind=CallState.RINGING,
            at=timezone.now(),
            phone="+79123456789",
            extension="101",
        )
    ).call
    caller = page.locator(f"#caller .caller-block[data-call='{call.pk}']")
    expect(caller).to_be_visible(timeout=5000)
    expect(caller.locator(".caller-name")).to_contain_text("Звонарёв")


@pytest.mark.parametrize("mode,streams", [("stream", 8), ("poll", 0)])
def test_a_unit_held_elsewhere_changes_colour_on_an_open_chessboard(
    page, sign_in, manager, settings, mode, streams
):
    settings.CALLCENTRE_STREAMS = streams  # none: the server refuses streams, the page polls
    building = make_building(name="Корпус 7")
    make_section(building, number=1, floors=2, per_floor=2, price_per_m2=Decimal("150000"))
    unit = Unit.objects.filter(building=building).order_by("pk").first()
    sign_in(manager)
    page.goto(f"/app/buildings/{building.pk}/")
    cell = page.locator(f".board .cell:has(a[href='/app/units/{unit.pk}/'])")
    expect(cell).to_have_class(re.compile(r"st-available"))
    page.wait_for_selector(f"html[data-live={mode}]", state="attached")
    hold_create(unit=unit, client=make_client(manager=manager), manager=manager, by=manager, days=1)
    expect(cell).to_have_class(re.compile(r"st-reserved"), timeout=3000)


def test_an_oral_hold_in_one_click_from_the_panel(page, sign_in, manager):
    from kvartal.clients.models import Need
    from kvartal.sales.models import Hold

    operator = make_operator("101", username="operator")
    building = make_building(name="Корпус 3")
    make_section(building, number=1, floors=1, per_floor=2, price_per_m2=Decimal("150000"))
    buyer = make_client(manager=manager, phone_normalized="+79123456789", last_name="Звонарёв")
    Need.objects.create(client=buyer, rooms=[])
    sign_in(operator)
    page.goto(f"/app/calls/client/{buyer.pk}/")
    row = page.locator("tr[data-live-unit]").first
    unit_id = int(row.get_attribute("data-live-unit"))
    row.get_by_role("button", name="Oral hold").click()
    expect(page.locator(".flash-success")).to_contain_text("held orally")
    hold = Hold.objects.get(unit_id=unit_id)
    assert (hold.client, hold.kind, hold.created_by) == (buyer, "oral", operator)
