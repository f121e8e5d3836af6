"""Several units in one deal: an apartment with a parking space and a storage room, one buyer
set, one schedule, each unit's own figures, all or nothing, the one availability rule."""

from decimal import Decimal

import pytest

from kvartal.accounts.models import Role
from kvartal.inventory.models import StatusChange, UnitStatus
from kvartal.sales.errors import DealError
from kvartal.sales.models import Deal, DealUnit, HoldState
from kvartal.sales.services import deals as svc
from kvartal.sales.services.deals import BuyerShare, deal_open
from kvartal.sales.services.holds import UnitNotAvailable, hold_create
from kvartal.sales.tests.factories import (
    deal_reach,
    make_client,
    make_unit_set,
    refusal_state,
    stage,
)
from kvartal.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(settings_row):
    return make_unit_set()


@pytest.fixture
def settings_row(db):
    from kvartal.sales.models import SalesSettings
    from kvartal.sales.tests.factories import default_scheme

    default_scheme()
    return SalesSettings.current()


@pytest.fixture
def head(db):
    return make_user(Role.SALES_HEAD)


def _open(units, manager, buyers, **kwargs):
    return deal_open(by=manager, units=units, buyers=buyers, **kwargs)


def test_one_deal_carries_an_apartment_a_parking_space_and_a_storage_room(units, manager):
    flat, parking, storage = units["apartments"][0], units["parkings"][0], units["storages"][0]
    wife, husband = make_client(manager=manager), make_client(manager=manager)
    deal = _open(
        [flat, parking, storage],
        manager,
        [BuyerShare(wife, 1, 2), BuyerShare(husband, 1, 2)],
        manual_discount=Decimal("30000"),
    )
    rows = list(deal.deal_units.order_by("order"))
    assert [r.unit_id for r in rows] == [flat.pk, parking.pk, storage.pk]
    assert deal.unit == flat  # the main unit
    # Each unit's own list price and area; the deal's figures are their sums.
    assert [r.list_price for r in rows] == [flat.price, parking.price, storage.price]
    assert deal.list_price == flat.price + parking.price + storage.price
    assert deal.area == flat.total_area + parking.total_area + storage.total_area
    # The manual discount shared in proportion to the list prices, to the kopeck.
    assert sum(r.manual_discount for r in rows) == Decimal("30000.00")
    total = deal.list_price
    for r in rows[1:]:
        assert r.manual_discount == (Decimal("30000") * r.list_price / total).quantize(
            Decimal("0.01")
        )
    assert sum(r.price for r in rows) == deal.price == deal.list_price - Decimal("30000")
    # One schedule for all, one buyer set.
    assert sum(line.amount for line in deal.schedule.all()) == deal.total_due
    assert deal.buyers.count() == 2
    for u in (flat, parking, storage):
        u.refresh_from_db()
        assert u.status == UnitStatus.IN_DEAL
    assert Deal.objects.count() == 1


def test_a_unit_taken_refuses_the_whole_deal_naming_it_and_nothing_changes(
    units, manager, other_manager
):
    flat, parking, storage = units["apartments"][0], units["parkings"][0], units["storages"][0]
    other = make_client(manager=other_manager)
    hold_create(unit=parking, client=other, manager=other_manager, by=other_manager, days=3)
    before = refusal_state()
    rows_before = DealUnit.objects.count()
    with pytest.raises(UnitNotAvailable) as refused:
        _open([flat, storage, parking], manager, [BuyerShare(make_client(manager=manager))])
    assert str(parking) in str(refused.value) and "already held" in str(refused.value)
    assert refusal_state() == before
    assert DealUnit.objects.count() == rows_before


def test_a_parking_space_in_another_deal_is_refused_at_the_hold_with_the_same_message(
    units, manager, other_manager
):
    flat, parking = units["apartments"][0], units["parkings"][0]
    _open([flat, parking], manager, [BuyerShare(make_client(manager=manager))])
    other = make_client(manager=other_manager)
    with pytest.raises(UnitNotAvailable) as at_hold:
        hold_create(unit=parking, client=other, manager=other_manager, by=other_manager, days=1)
    with pytest.raises(UnitNotAvailable) as at_deal:
        deal_open(by=other_manager, unit=units["apartments"][1], units=[parking], buyers=[(other,)])
    assert str(at_hold.value) == str(at_deal.value) == f"{parking} is in a deal."
    assert svc.DealUnit.objects.filter(unit=parking, is_active=True).count() == 1


def test_a_buyers_own_hold_on_an_extra_unit_is_taken_over(units, manager):
    flat, parking = units["apartments"][0], units["parkings"][0]
    buyer = make_client(manager=manager)
    hold = hold_create(unit=parking, client=buyer, manager=manager, by=manager, days=3)
    deal = _open([flat, parking], manager, [BuyerShare(buyer)])
    hold.refresh_from_db()
    assert hold.state == HoldState.CONVERTED
    assert deal.deal_units.get(unit=parking).list_price == hold.price


def test_units_are_added_and_removed_before_signing_and_not_after(units, manager):
    flat, parking, storage = units["apartments"][0], units["parkings"][0], units["storages"][0]
    deal = _open([flat], manager, [BuyerShare(make_client(manager=manager))])
    one_unit_price = deal.price
    deal = svc.deal_add_unit(deal=deal, unit=parking, by=manager)
    deal = svc.deal_add_unit(deal=deal, unit=storage, by=manager)
    assert deal.price == one_unit_price + parking.price + storage.price
    assert sum(line.amount for line in deal.schedule.all()) == deal.total_due
    parking.refresh_from_db()
    assert parking.status == UnitStatus.IN_DEAL
    with pytest.raises(UnitNotAvailable, match="already in this deal"):
        svc.deal_add_unit(deal=deal, unit=parking, by=manager)

    deal = svc.deal_remove_unit(deal=deal, unit=parking, by=manager, reason="Передумали")
    parking.refresh_from_db()
    assert parking.status == UnitStatus.AVAILABLE
    assert deal.price == one_unit_price + storage.price
    assert set(deal.current_units().values_list("unit_id", flat=True)) == {flat.pk, storage.pk}
    removed = DealUnit.objects.get(deal=deal, unit=parking)
    assert removed.removed_at is not None and not removed.is_active
    # The parking space is free again: anyone may hold it.
    hold_create(
        unit=parking,
        client=make_client(manager=manager),
        manager=manager,
        by=manager,
        days=1,
    )

    # Removing the main unit makes the next one main; the last unit cannot be removed.
    deal = svc.deal_remove_unit(deal=deal, unit=flat, by=manager, reason="Только кладовая")
    assert deal.unit_id == storage.pk
    with pytest.raises(DealError, match="at least one unit"):
        svc.deal_remove_unit(deal=deal, unit=storage, by=manager, reason="—")

    deal = svc.deal_add_unit(deal=deal, unit=flat, by=manager)
    deal = deal_reach(deal, "signed")
    before = refusal_state()
    with pytest.raises(DealError, match="units can no longer change"):
        svc.deal_add_unit(deal=deal, unit=units["parkings"][1], by=manager)
    with pytest.raises(DealError, match="units can no longer change"):
        svc.deal_remove_unit(deal=deal, unit=flat, by=manager, reason="—")
    assert refusal_state() == before


def test_every_unit_follows_the_stage_and_a_termination_frees_them_all(units, manager, head):
    flat, parking, storage = units["apartments"][0], units["parkings"][0], units["storages"][0]
    deal = _open([flat, parking, storage], manager, [BuyerShare(make_client(manager=manager))])
    sold = deal.scheme.stages.filter(unit_status=UnitStatus.SOLD).order_by("order").first()
    deal = deal_reach(deal, sold.code)
    for u in (flat, parking, storage):
        u.refresh_from_db()
        assert u.status == UnitStatus.SOLD
    changes = StatusChange.objects.filter(unit__in=[flat, parking, storage])
    assert changes.filter(new_status=UnitStatus.SOLD).count() == 3


def test_a_termination_frees_every_unit(units, manager, head):
    flat, parking = units["apartments"][0], units["parkings"][0]
    deal = _open([flat, parking], manager, [BuyerShare(make_client(manager=manager))])
    svc.deal_terminate(deal=deal, by=head, reason="Отказ")
    for u in (flat, parking):
        u.refresh_from_db()
        assert u.status == UnitStatus.AVAILABLE
    assert not DealUnit.objects.filter(deal=deal, is_active=True).exists()
    again = _open([parking], manager, [BuyerShare(make_client(manager=manager))])
    assert again.unit == parking


def test_a_swap_of_one_unit_keeps_the_others(units, manager):
    flat, parking, other_parking = (
        units["apartments"][0],
        units["parkings"][0],
        units["parkings"][1],
    )
    deal = _open([flat, parking], manager, [BuyerShare(make_client(manager=manager))])
    deal = svc.deal_swap_unit(
        deal=deal, unit=other_parking, old_unit=parking, by=manager, reason="Ближе к лифту"
    )
    assert deal.unit == flat
    assert set(deal.current_units().values_list("unit_id", flat=True)) == {
        flat.pk,
        other_parking.pk,
    }
    assert deal.price == flat.price + other_parking.price
    parking.refresh_from_db()
    assert parking.status == UnitStatus.AVAILABLE


def test_each_deal_unit_carries_its_units_building_however_it_came_in(units, manager):
    """The board's payment marks find a building's deals by the building a deal unit
    carries: opening, adding and swapping all copy it from the unit."""
    flat, parking, storage, other_parking = (
        units["apartments"][0],
        units["parkings"][0],
        units["storages"][0],
        units["parkings"][1],
    )
    assert flat.building_id != parking.building_id
    deal = _open([flat, parking], manager, [BuyerShare(make_client(manager=manager))])
    deal = svc.deal_add_unit(deal=deal, unit=storage, by=manager)
    deal = svc.deal_swap_unit(
        deal=deal, unit=other_parking, old_unit=parking, by=manager, reason="—"
    )
    rows = DealUnit.objects.filter(deal=deal).select_related("unit")
    assert {r.unit_id for r in rows} == {flat.pk, parking.pk, storage.pk, other_parking.pk}
    assert all(r.building_id == r.unit.building_id for r in rows)


def test_existing_single_unit_deals_read_as_before(units, manager):
    """A one-unit deal has one ``DealUnit`` with the deal's own figures (what the data
    migration made of every existing deal)."""
    flat = units["apartments"][0]
    deal = _open([flat], manager, [BuyerShare(make_client(manager=manager))])
    (row,) = deal.deal_units.all()
    assert (row.unit_id, row.list_price, row.price, row.area, row.is_active) == (
        deal.unit_id,
        deal.list_price,
        deal.price,
        deal.area,
        True,
    )
    assert stage("preparation").is_initial


# --- conditional promotions ----------------------------------------------------------------


def _conditional(condition, *, value, kinds=(), **fields):
    from kvartal.sales.models import Promotion
    from kvartal.sales.tests.factories import make_promotion

    promotion = make_promotion(condition=condition, value=Decimal(value), **fields)
    promotion.unit_kinds = list(kinds)
    promotion.save(update_fields=["unit_kinds"])
    assert promotion.is_automatic and promotion.condition in Promotion.Condition.values
    return promotion


def _applied(deal) -> set[tuple]:
    from kvartal.sales.models import AppliedPromotion

    return {
        (a.promotion.name, a.deal_unit.unit_id, a.amount)
        for a in AppliedPromotion.objects.filter(deal=deal).select_related("promotion", "deal_unit")
    }


def test_parking_at_half_price_with_an_apartment_comes_and_goes_with_the_apartment(units, manager):
    flat, parking = units["apartments"][0], units["parkings"][0]
    promo = _conditional(
        "with_apartment", value=50, kinds=["parking"], name="Паркинг за полцены с квартирой"
    )
    half = (parking.price * Decimal("0.5")).quantize(Decimal(1))
    deal = _open([flat, parking], manager, [BuyerShare(make_client(manager=manager))])
    assert _applied(deal) == {(promo.name, parking.pk, half)}
    row = deal.deal_units.get(unit=parking)
    assert (row.promotion_discount, row.price) == (half, parking.price - half)
    assert deal.deal_units.get(unit=flat).promotion_discount == 0
    assert deal.price == flat.price + parking.price - half
    assert deal.promotion_discount == half
    # The condition stops holding: the apartment leaves the deal, the discount goes.
    deal = svc.deal_remove_unit(deal=deal, unit=flat, by=manager, reason="Только паркинг")
    assert _applied(deal) == set()
    assert deal.price == parking.price and deal.promotion_discount == 0
    assert sum(line.amount for line in deal.schedule.all()) == deal.total_due
    # … and comes back with an apartment.
    deal = svc.deal_add_unit(deal=deal, unit=units["apartments"][1], by=manager)
    assert _applied(deal) == {(promo.name, parking.pk, half)}


def test_a_second_unit_gets_its_discount_the_dearest_pays_in_full(units, manager):
    flat, storage = units["apartments"][0], units["storages"][0]
    promo = _conditional("extra_unit", value=10, name="Второй объект −10 %")
    deal = _open([storage, flat], manager, [BuyerShare(make_client(manager=manager))])
    ten = (storage.price * Decimal("0.1")).quantize(Decimal(1))
    assert _applied(deal) == {(promo.name, storage.pk, ten)}
    alone = _open([units["apartments"][1]], manager, [BuyerShare(make_client(manager=manager))])
    assert _applied(alone) == set() and alone.price == units["apartments"][1].price


def test_full_payment_discount_goes_with_instalments_and_comes_back(units, manager):
    from kvartal.sales.models import PaymentMethod
    from kvartal.sales.services.payments import schedule_generate

    flat, parking = units["apartments"][0], units["parkings"][0]
    promo = _conditional("full_payment", value=3, name="Полная оплата −3 %")
    deal = _open([flat, parking], manager, [BuyerShare(make_client(manager=manager))])
    three = {u.pk: (u.price * Decimal("0.03")).quantize(Decimal(1)) for u in (flat, parking)}
    assert _applied(deal) == {(promo.name, pk, amount) for pk, amount in three.items()}
    full_price = deal.price
    assert full_price == flat.price + parking.price - sum(three.values())

    schedule_generate(deal=deal, by=manager, payment_method=PaymentMethod.INSTALMENTS)
    deal.refresh_from_db()
    assert _applied(deal) == set()
    assert deal.price == flat.price + parking.price
    assert sum(line.amount for line in deal.schedule.all()) == deal.total_due

    schedule_generate(deal=deal, by=manager, payment_method=PaymentMethod.FULL)
    deal.refresh_from_db()
    assert deal.price == full_price
    assert sum(line.amount for line in deal.schedule.all()) == deal.total_due


def test_a_conditional_promotion_outside_its_period_is_not_applied(units, manager):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    _conditional(
        "full_payment",
        value=3,
        starts_on=today - timedelta(days=30),
        ends_on=today - timedelta(days=1),
    )
    deal = _open([units["apartments"][0]], manager, [BuyerShare(make_client(manager=manager))])
    assert _applied(deal) == set() and deal.promotion_discount == 0


def test_a_conditional_promotion_cannot_be_chosen_by_hand(units, manager):
    from kvartal.sales.errors import PromotionNotApplicable

    promo = _conditional("full_payment", value=3)
    with pytest.raises(PromotionNotApplicable, match="applies by itself"):
        _open(
            [units["apartments"][0]],
            manager,
            [BuyerShare(make_client(manager=manager))],
            promotion=promo,
        )


def test_a_parking_space_sold_with_an_apartment_shows_its_deals_money_on_the_board(units, manager):
    from django.utils import timezone

    from kvartal.sales.selectors.payments import payment_marks
    from kvartal.sales.services.payments import payment_record

    flat, parking = units["apartments"][0], units["parkings"][0]
    deal = _open([flat, parking], manager, [BuyerShare(make_client(manager=manager))])
    cashier = make_user(Role.CASHIER)
    payment_record(deal=deal, amount=deal.price, received_on=timezone.localdate(), by=cashier)
    marks = payment_marks([flat.pk, parking.pk], timezone.now())
    assert [m.css for m in marks.get(parking.pk, [])] == ["paid"]
    assert flat.pk not in marks
