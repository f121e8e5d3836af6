"""The demo's promotions: a few that ran during the 18 months and one running today."""

from datetime import timedelta
from decimal import Decimal

from kvartal.accounts.models import Role
from kvartal.sales.models import Promotion

from .data import END, month_start


def create_promotions(projects, people) -> list[Promotion]:
    """Three promotions on the first projects: studios and one-room flats in spring, 5 % off
    three-room flats for families (running today, with a price floor), parking at a fixed
    discount. Written as an administrator would, before the sales are replayed."""
    if not projects:
        return []
    by = people.get(Role.SALES_HEAD) or people.get(Role.ADMIN)
    first = projects[0].obj
    last_month = month_start(17).date()
    made = []
    spring = Promotion.objects.create(
        name="Весенний старт: студии и однокомнатные",
        description="Скидка 3 % на студии и однокомнатные квартиры при покупке в марте–мае.",
        starts_on=month_start(9).date(),
        ends_on=month_start(12).date() - timedelta(days=1),
        discount_kind=Promotion.DiscountKind.PERCENT,
        value=Decimal("3"),
        rooms=[0, 1],
        created_by=by,
    )
    spring.projects.set([first])
    made.append(spring)
    family = Promotion.objects.create(
        name="Семейная: −5 % на трёхкомнатные",
        description="Для семей с детьми. Цена не ниже минимальной по прайсу.",
        starts_on=month_start(14).date(),
        ends_on=(END + timedelta(days=40)).date(),
        discount_kind=Promotion.DiscountKind.PERCENT,
        value=Decimal("5"),
        min_price=Decimal("9000000"),
        rooms=[3],
        created_by=by,
    )
    family.projects.set([p.obj for p in projects[:2]])
    made.append(family)
    garages = [b.obj for p in projects[:2] for b in p.buildings if b.obj.is_parking]
    if garages:
        parking = Promotion.objects.create(
            name="Машино-место со скидкой 150 000 ₽",
            description="При покупке квартиры в том же проекте.",
            starts_on=last_month - timedelta(days=60),
            ends_on=(END + timedelta(days=60)).date(),
            discount_kind=Promotion.DiscountKind.AMOUNT,
            value=Decimal("150000"),
            created_by=by,
        )
        parking.buildings.set(garages)
        made.append(parking)
    return made
