from decimal import Decimal

from kvartal.core.testing import make_section
from kvartal.inventory.models import UnitKind
from kvartal.pricing.models import BaseRate, PriceList


def make_price_list(building, *, per_m2="200000", by=None, rates=None, **fields) -> PriceList:
    fields.setdefault("name", "Прайс-лист")
    fields.setdefault("step_from_floor", 1)
    fields.setdefault("round_to", Decimal(1000))
    price_list = PriceList.objects.create(building=building, created_by=by, **fields)
    for kind, rooms, value in rates or [(UnitKind.APARTMENT, None, per_m2)]:
        BaseRate.objects.create(
            price_list=price_list, kind=kind, rooms=rooms, per_m2=Decimal(value)
        )
    return price_list


def new_stock(*, by=None, floors=3, per_floor=2, **fields):
    """A generated section without prices: every unit "not for sale", price 0."""
    return make_section(floors=floors, per_floor=per_floor, price_per_m2=None, by=by, **fields)
