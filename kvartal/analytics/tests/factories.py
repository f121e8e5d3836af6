"""A small sales history for the report tests: units in known shapes, sold at chosen local
moments through the deal factories (the status history rows are the services' own)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from kvartal.accounts.models import Role
from kvartal.sales.models import DealUnit
from kvartal.sales.tests.factories import deal_reach, make_deal
from kvartal.testing import make_building, make_section, make_user

MSK = ZoneInfo("Europe/Moscow")


def msk(*args) -> datetime:
    """An aware moment in Moscow time (the installation's zone in the tests)."""
    return datetime(*args, tzinfo=MSK)


def make_floor_units(building=None, *, floors=1, per_floor=4, price_per_m2=Decimal("150000")):
    """Units of one section: per floor a studio 27.50 m², a 1-room 38.40, a 2-room 56.20 and
    a 3-room 78.90 (repeated), priced at ``price_per_m2``; returned in floor, position order."""
    section = make_section(
        building or make_building(), floors=floors, per_floor=per_floor, price_per_m2=price_per_m2
    )
    return list(section.units.order_by("floor__index", "position"))


def sell(unit, at: datetime, *, price=None, manager=None, promotion=None, opened=None):
    """A deal opened at ``opened`` (default: ``at``) and registered — the unit sold — at ``at``."""
    manager = manager or make_user(Role.SALES_MANAGER)
    deal = make_deal(unit=unit, manager=manager, price=price, at=opened or at)
    if deal.price != unit.price:  # sold below the list price: the rest is a discount
        deal.list_price = unit.price
        deal.manual_discount = unit.price - deal.price
        deal.save(update_fields=["list_price", "manual_discount"])
    if promotion is not None:
        deal.promotion = promotion
        deal.promotion_discount, deal.manual_discount = deal.manual_discount, Decimal(0)
        deal.save(update_fields=["promotion", "promotion_discount", "manual_discount"])
    # The deal's one unit carries the same figures (what the sales services keep).
    DealUnit.objects.filter(deal=deal).update(
        list_price=deal.list_price,
        promotion_discount=deal.promotion_discount,
        manual_discount=deal.manual_discount,
    )
    deal_reach(deal, "signed", at=opened or at)
    deal_reach(deal, "registered", at=at)
    return deal
