"""Small helpers for the clients tests: deals and holds built with the ORM the way the sales
services leave them, so these tests do not depend on the sales pages."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from kvartal.sales.models import Deal, DealBuyer, DealUnit, Hold, StageScheme
from kvartal.testing import make_section

_seq = count(1)


def units(n: int = 4, **kw):
    section = make_section(floors=1, per_floor=n, **kw)
    return list(section.units.order_by("position"))


def make_deal(
    *, unit, buyers, manager, stage: str = "preparation", price=None, active=True, shares=None
):
    scheme = StageScheme.default()
    price = Decimal(price) if price is not None else unit.price
    deal = Deal.objects.create(
        number=f"T-{next(_seq)}",
        unit=unit,
        scheme=scheme,
        stage=scheme.stages.get(code=stage),
        is_active=active,
        manager=manager,
        list_price=price,
        price=price,
        area=unit.total_area,
        created_by=manager,
    )
    DealUnit.objects.create(
        deal=deal,
        unit=unit,
        building_id=unit.building_id,
        list_price=price,
        price=price,
        area=unit.total_area,
        is_active=active,
        added_at=deal.created_at,
    )
    for i, client in enumerate(buyers):
        num, den = shares[i] if shares else (1, 1)
        DealBuyer.objects.create(
            deal=deal, client=client, order=i, share_numerator=num, share_denominator=den
        )
    return deal


def make_hold(*, unit, client, manager):
    now = timezone.now()
    return Hold.objects.create(
        unit=unit,
        client=client,
        manager=manager,
        price=unit.price,
        starts_at=now,
        expires_at=now + timedelta(days=3),
        created_by=manager,
    )
