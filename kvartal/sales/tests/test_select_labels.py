"""Money in a select's options reads as on the rest of the page: grouped, in the page's
language's separators (``1 973 175,20 ₽`` in Russian), not ``1973175.20 ₽``."""

from decimal import Decimal

import pytest
from django.utils import translation

from kvartal.sales.forms.deals import AddUnitForm
from kvartal.sales.forms.payments import PaymentForm

from .factories import make_deal, make_unit_set

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


def test_a_planned_payment_option_shows_its_amount_formatted():
    deal = make_deal(price=Decimal("1973175.20"))
    with translation.override("ru"):
        html = str(PaymentForm(deal=deal)["line"])
        assert f"1{NBSP}973{NBSP}175,20 ₽" in html
        assert "1973175.20" not in html
    with translation.override("en"):
        assert "1,973,175.20 ₽" in str(PaymentForm(deal=deal)["line"])


def test_a_unit_option_shows_its_area_and_price_formatted():
    units = make_unit_set(parkings=1, storages=0)
    deal = make_deal(unit=units["apartments"][0])
    parking = units["parkings"][0]
    price = f"{parking.price:,.0f}".replace(",", NBSP)
    with translation.override("ru"):
        html = str(AddUnitForm(deal=deal)["unit"])
    assert f"13,25 м² · {price} ₽" in html  # the unit of measure in the page's language
