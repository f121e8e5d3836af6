"""Pricing new stock (issue 17): the generator's floor step counts from the chosen floor, the
bulk tool says truly why it leaves a unit, and ``units_set_prices`` prices unpriced units."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kvartal.core.testing import make_building, make_section, typical_risers
from kvartal.inventory import services
from kvartal.inventory.models import PriceBatch, PriceChange, Unit, UnitKind, UnitStatus
from kvartal.inventory.services import SectionPlan, UnitSpec, section_generate
from kvartal.inventory.tests.sales_state import set_sales_state

pytestmark = pytest.mark.django_db


def _prices_by_floor(section):
    return dict(
        section.units.filter(position=1).values_list("floor__index", "price").order_by("floor")
    )


def test_the_floor_step_starts_at_the_first_typical_floor(keeper):
    """A commercial ground floor and typical floors from 2: floor 2 costs the base price."""
    plan = SectionPlan(
        number=1,
        floors=4,
        typical_from=2,
        risers=typical_risers(1),  # a studio of 27.50 m²
        non_typical=[
            UnitSpec(position=1, floor=1, kind=UnitKind.COMMERCIAL, total_area=Decimal("80"))
        ],
        price_per_m2=Decimal("100000"),
        floor_price_step=Decimal("10"),
    )
    section = section_generate(building=make_building(), plan=plan, by=keeper)
    prices = dict(
        section.units.filter(kind=UnitKind.APARTMENT)
        .values_list("floor__index", "price")
        .order_by("floor")
    )
    assert prices == {2: Decimal("2750000"), 3: Decimal("3025000"), 4: Decimal("3300000")}


def test_the_floor_step_can_start_from_a_chosen_floor(keeper):
    section = make_section(
        floors=4,
        per_floor=1,
        price_per_m2=Decimal("100000"),
        floor_price_step=Decimal("10"),
        floor_price_from=3,
        by=keeper,
    )
    assert _prices_by_floor(section) == {
        1: Decimal("2750000"),
        2: Decimal("2750000"),
        3: Decimal("2750000"),
        4: Decimal("3025000"),
    }


def test_the_bulk_tool_says_unpriced_units_have_no_price_not_that_they_are_sold(client, keeper):
    building = make_building()
    make_section(building, floors=1, per_floor=2, price_per_m2=None, by=keeper)
    priced = make_section(building, number=2, floors=1, per_floor=1, by=keeper).units.get()
    set_sales_state(unit=priced, status=UnitStatus.IN_DEAL, by=keeper)
    client.force_login(keeper)
    url = (
        reverse("inventory:price-bulk")
        + f"?building={building.pk}&status=not_for_sale&status=in_deal"
    )
    page = client.post(url, {"mode": "percent", "value": "5", "round_to": "1000", "reason": "x"})
    text = page.text
    assert "2 units: no price yet" in text
    assert "1 unit: in a deal or sold" in text


def test_units_set_prices_prices_new_stock_in_one_batch(keeper):
    section = make_section(floors=2, per_floor=1, price_per_m2=None, by=keeper)
    prices = {u.pk: Decimal("5000000") + u.pk for u in section.units.all()}
    result = services.units_set_prices(prices=prices, by=keeper, reason="старт")
    assert sorted(result.changed) == sorted(prices)
    assert dict(Unit.objects.values_list("pk", "price")) == prices
    assert PriceChange.objects.filter(batch=result.batch, old_price=0).count() == 2
    assert Unit.objects.filter(status=UnitStatus.NOT_FOR_SALE).count() == 2  # opened separately


@pytest.mark.parametrize("bad", [Decimal(0), Decimal(-1)])
def test_units_set_prices_refuses_a_price_of_zero_or_below_and_writes_nothing(keeper, bad):
    section = make_section(floors=2, per_floor=1, price_per_m2=None, by=keeper)
    first, second = section.units.all()
    with pytest.raises(ValidationError):
        services.units_set_prices(
            prices={first.pk: Decimal("100"), second.pk: bad}, by=keeper, reason="x"
        )
    assert not PriceChange.objects.exists() and not PriceBatch.objects.exists()
    assert set(Unit.objects.values_list("price", flat=True)) == {Decimal(0)}
