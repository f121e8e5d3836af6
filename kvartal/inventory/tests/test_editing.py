"""The inventory keeper's pages: valid input is saved through the services; bad input gets a
message next to the field and changes nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kvartal.inventory import extensions, services
from kvartal.inventory.models import PriceChange, Unit, UnitStatus
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.inventory.tests.test_services import snapshot
from kvartal.testing import make_building, make_section

pytestmark = pytest.mark.django_db


def generator_post(**overrides):
    data = {
        "number": "1",
        "name": "",
        "floors": "5",
        "underground": "0",
        "typical_from": "2",
        "typical_to": "",
        "first_number": "",
        "skip_floor_labels": "",
        "price_per_m2": "150000",
        "floor_price_step": "0.5",
        "numbering": "left_to_right",
        "risers-TOTAL_FORMS": "2",
        "risers-INITIAL_FORMS": "0",
        "risers-0-position": "1",
        "risers-0-kind": "apartment",
        "risers-0-rooms": "1",
        "risers-0-total_area": "38.4",
        "risers-0-living_area": "17.8",
        "risers-0-kitchen_area": "9.1",
        "risers-1-position": "2",
        "risers-1-kind": "apartment",
        "risers-1-rooms": "2",
        "risers-1-total_area": "56.2",
        "risers-1-living_area": "31",
        "risers-1-kitchen_area": "10.5",
        "other-TOTAL_FORMS": "1",
        "other-INITIAL_FORMS": "0",
        "other-0-floor": "1",
        "other-0-position": "1",
        "other-0-kind": "commercial",
        "other-0-rooms": "",
        "other-0-total_area": "95",
        "other-0-living_area": "",
        "other-0-kitchen_area": "",
    }
    data.update(overrides)
    return data


def test_keeper_generates_a_section_from_the_page(client, keeper):
    building = make_building()
    client.force_login(keeper)
    url = reverse("inventory:section-generate", args=[building.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, generator_post())
    assert response.status_code == 302
    units = Unit.objects.filter(building=building)
    assert units.filter(kind="apartment").count() == 8  # floors 2–5 × 2 risers
    assert units.filter(kind="commercial").count() == 1
    assert set(units.filter(floor__index=2).values_list("code", flat=True)) == {"1.2.1", "1.2.2"}
    assert all(u.status == UnitStatus.AVAILABLE for u in units)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"risers-0-total_area": "-38"}, "greater than zero"),
        ({"risers-0-living_area": "50"}, "Living area cannot exceed the total area"),
        ({"other-0-floor": "9"}, "Floor 9 is outside the section"),
        ({"other-0-floor": "3"}, "Floor 3 is typical"),
        ({"floors": "0"}, "at least one floor or level"),
        ({"skip_floor_labels": "13,abc"}, "whole numbers"),
    ],
)
def test_generator_page_refuses_bad_input_with_a_message(client, keeper, overrides, message):
    building = make_building()
    client.force_login(keeper)
    before = snapshot()
    response = client.post(
        reverse("inventory:section-generate", args=[building.pk]), generator_post(**overrides)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot() == before
    assert not building.sections.exists()


def test_generator_page_refuses_to_regenerate_a_section_with_sold_units(client, keeper):
    building = make_building()
    section = make_section(building, floors=2, per_floor=2)
    set_sales_state(unit=section.units.first(), status=UnitStatus.SOLD, by=keeper)
    client.force_login(keeper)
    before = snapshot()
    response = client.post(
        reverse("inventory:section-generate", args=[building.pk]), generator_post()
    )
    assert response.status_code == 400
    assert "cannot be generated again" in response.content.decode()
    assert snapshot() == before


def unit_post(unit, **overrides):
    data = {
        "number": unit.number,
        "kind": unit.kind,
        "floor": unit.floor_id,
        "position": unit.position,
        "rooms": unit.rooms,
        "total_area": unit.total_area,
        "living_area": unit.living_area or "",
        "kitchen_area": unit.kitchen_area or "",
        "bti_area": "",
        "length": "",
        "width": "",
        "ceiling_height": "",
        "finishing": unit.finishing,
        "view": unit.view,
        "has_balcony": "",
        "principal": "",
        "special_conditions": "",
        "plan_region": "",
    }
    data.update(overrides)
    return data


def test_keeper_edits_a_unit_and_the_change_is_in_its_history(client, keeper):
    unit = make_section(floors=2, per_floor=2).units.get(number="1")
    client.force_login(keeper)
    response = client.post(
        reverse("inventory:unit-update", args=[unit.pk]),
        unit_post(unit, bti_area="27.3", special_conditions="Вид на пруд"),
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.bti_area == Decimal("27.30")
    change = unit.data_changes.exclude(changes={}).get()
    assert set(change.changes) == {"bti_area", "special_conditions"}
    assert change.actor == keeper


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"total_area": "-5"}, "total_area", "greater than zero"),
        ({"total_area": "0"}, "total_area", "greater than zero"),
        ({"living_area": "80"}, "living_area", "Living area cannot exceed the total area"),
        ({"number": "2"}, "number", "already used in this building"),
    ],
)
def test_unit_form_shows_the_error_next_to_the_field_and_saves_nothing(
    client, keeper, overrides, field, message
):
    unit = make_section(floors=2, per_floor=2).units.get(number="1")
    client.force_login(keeper)
    before = snapshot()
    response = client.post(
        reverse("inventory:unit-update", args=[unit.pk]), unit_post(unit, **overrides)
    )
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert snapshot() == before


def test_keeper_changes_a_price_and_a_history_row_appears(client, keeper):
    unit = make_section(floors=1, per_floor=1).units.get()
    client.force_login(keeper)
    response = client.post(
        reverse("inventory:unit-price", args=[unit.pk]), {"price": "4990000", "reason": "акция"}
    )
    assert response.status_code == 302
    row = PriceChange.objects.get(unit=unit)
    assert (row.new_price, row.actor, row.reason) == (Decimal("4990000"), keeper, "акция")


def test_zero_price_for_a_unit_on_sale_is_refused_on_the_page(client, keeper):
    unit = make_section(floors=1, per_floor=1).units.get()
    client.force_login(keeper)
    before = snapshot()
    response = client.post(
        reverse("inventory:unit-price", args=[unit.pk]), {"price": "0", "reason": "ошибка"}
    )
    assert response.status_code == 400
    assert "price above zero" in response.content.decode()
    assert snapshot() == before


def test_a_manager_cannot_change_a_price(client, manager):
    unit = make_section(floors=1, per_floor=1).units.get()
    client.force_login(manager)
    before = snapshot()
    response = client.post(
        reverse("inventory:unit-price", args=[unit.pk]), {"price": "1000", "reason": "x"}
    )
    assert response.status_code == 403
    assert snapshot() == before


def test_keeper_takes_a_unit_off_sale(client, keeper):
    unit = make_section(floors=1, per_floor=1).units.get()
    client.force_login(keeper)
    response = client.post(
        reverse("inventory:unit-status", args=[unit.pk]),
        {"status": UnitStatus.NOT_FOR_SALE, "reason": "резерв застройщика"},
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.status == UnitStatus.NOT_FOR_SALE
    assert unit.status_changes.order_by("-pk").first().reason == "резерв застройщика"


def test_status_form_offers_no_move_that_belongs_to_sales(client, keeper):
    unit = make_section(floors=1, per_floor=1).units.get()
    client.force_login(keeper)
    before = snapshot()
    response = client.post(
        reverse("inventory:unit-status", args=[unit.pk]), {"status": UnitStatus.SOLD, "reason": ""}
    )
    assert response.status_code == 400
    assert snapshot() == before


def test_admin_refuses_living_area_above_total_next_to_the_field(client, admin_user):
    unit = make_section(floors=1, per_floor=1).units.get()
    client.force_login(admin_user)
    url = reverse("admin:inventory_unit_change", args=[unit.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = unit_post(unit, living_area="99")
    data.pop("kind")  # the admin form has every editable field; kind stays
    data["kind"] = unit.kind
    data["created_by"] = ""
    data["layout"] = ""
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "Living area cannot exceed the total area" in response.content.decode()
    assert snapshot() == before


def test_bulk_price_change_previews_then_applies_to_the_selection(client, keeper, monkeypatch):
    # Inventory alone applies at once; with pricing installed the change goes to approval
    # (pricing's own test).
    monkeypatch.setattr(extensions, "bulk_price_proposers", [])
    building = make_building()
    make_section(building, floors=2, per_floor=2, price_per_m2=Decimal("100000"))
    other = make_section(floors=1, per_floor=1, price_per_m2=Decimal("100000"))
    client.force_login(keeper)
    url = reverse("inventory:price-bulk") + f"?building={building.pk}&rooms=1"
    change = {"mode": "percent", "value": "10", "round_to": "1000", "reason": "рост спроса"}
    preview = client.post(url, {**change, "preview": "1"})
    assert preview.status_code == 200
    assert preview.context["preview_count"] == 2  # two 1-room flats (38.40 m²) in the building
    assert not PriceChange.objects.exists()  # a preview changes nothing

    response = client.post(url, {**change, "apply": "1"})
    assert response.status_code == 302
    one_room = Unit.objects.filter(building=building, rooms=1)
    assert set(one_room.values_list("price", flat=True)) == {Decimal("4224000")}  # 3 840 000 × 1.1
    assert PriceChange.objects.count() == 2
    assert set(Unit.objects.filter(building=building, rooms=0).values_list("price", flat=True)) == {
        Decimal("2750000")
    }
    assert other.units.get().price == Decimal("2750000")


def test_bulk_price_change_refuses_a_zero_change(client, keeper):
    building = make_building()
    make_section(building, floors=1, per_floor=1)
    client.force_login(keeper)
    before = snapshot()
    response = client.post(
        reverse("inventory:price-bulk") + f"?building={building.pk}",
        {"mode": "percent", "value": "0", "round_to": "1", "reason": "x", "apply": "1"},
    )
    assert "changes nothing" in response.content.decode()
    assert snapshot() == before


def test_a_sold_unit_cannot_be_put_back_on_sale_from_the_status_form(client, keeper):
    unit = make_section(floors=1, per_floor=1).units.get()
    unit = set_sales_state(unit=unit, status=UnitStatus.SOLD, by=keeper)
    assert services.manual_statuses_for(unit) == []
    client.force_login(keeper)
    before = snapshot()
    response = client.post(
        reverse("inventory:unit-status", args=[unit.pk]),
        {"status": UnitStatus.AVAILABLE, "reason": "ошибка"},
    )
    assert response.status_code == 400
    assert snapshot() == before


def test_the_first_layout_of_a_unit_uploads(keeper):
    """A unit without a layout has an empty file in its field: comparing it with the upload
    raised ValueError (a 500 on the first upload)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kvartal.inventory.models import UnitChange

    unit = make_section(floors=1, per_floor=1).units.get()
    assert not unit.layout
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (8, 6), "white").save(png, "PNG")  # a real image: uploads are checked
    upload = SimpleUploadedFile("plan.png", png.getvalue(), "image/png")
    services.unit_update(unit=unit, by=keeper, data={"layout": upload})
    unit.refresh_from_db()
    assert unit.layout.name.endswith(".png")
    change = UnitChange.objects.filter(unit=unit).latest("pk")
    assert change.changes["layout"][0] is None and change.changes["layout"][1]
