"""Price lists: new stock priced through a preview and one approved batch; approval by the
named role; scheduling; rollback that leaves later changes alone."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.core.testing import make_section, make_user
from kvartal.inventory.models import PriceBatch, PriceChange, Unit, UnitChange, UnitStatus
from kvartal.inventory.services import unit_set_price
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.pricing import services, tasks
from kvartal.pricing.models import (
    Approver,
    Batch,
    BatchSource,
    BatchStatus,
    Factor,
    FactorKind,
    PricingSettings,
    StepMode,
)

from .factories import make_price_list, new_stock

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        list(Unit.objects.order_by("pk").values_list("pk", "price", "pending_price", "status")),
        PriceChange.objects.count(),
        UnitChange.objects.count(),
        PriceBatch.objects.count(),
    )


def _propose(price_list, by):
    preview = services.price_list_preview(price_list=price_list)
    return services.batch_propose(
        title="прайс", source=BatchSource.PRICE_LIST, lines=preview.lines, by=by
    )


def test_a_price_list_prices_unpriced_new_stock_with_steps_and_coefficients(keeper, sales_head):
    section = new_stock(by=keeper, floors=3, per_floor=2)  # studio 27.50, 1-room 38.40
    price_list = make_price_list(
        section.building,
        rates=[("apartment", None, "200000"), ("apartment", 0, "220000")],
        step_from_floor=1,
        step_value=Decimal("1"),  # +1 % of the base per floor above the first
    )
    Factor.objects.create(
        price_list=price_list, kind=FactorKind.POSITION, value="2", percent=Decimal("5")
    )
    preview = services.price_list_preview(price_list=price_list)
    new = {(ln.unit.floor.index, ln.unit.position): ln.new_price for ln in preview.lines}
    # studio: 27.50 × 220 000 × (1 + 2 × 1 %) on floor 3, rounded to 1 000
    assert new[(1, 1)] == Decimal("6050000")
    assert new[(3, 1)] == Decimal("6171000")
    # 1-room at position 2 (+5 %): 38.40 × 200 000 × 1.01 × 1.05 on floor 2
    assert new[(2, 2)] == Decimal("8145000")  # 8 144 640
    assert len(preview.changes) == 6 and preview.old_total == 0
    assert preview.revenue_change == preview.new_total > 0

    batch = services.batch_propose(
        title="старт продаж", source=BatchSource.PRICE_LIST, lines=preview.lines, by=keeper
    )
    assert Unit.objects.filter(price=0).count() == 6  # nothing applied before approval
    services.batch_approve(batch=batch, by=sales_head)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED
    assert dict(Unit.objects.values_list("floor__index", "price").filter(position=1)) == {
        1: Decimal("6050000"),
        2: Decimal("6111000"),
        3: Decimal("6171000"),
    }
    rows = PriceChange.objects.filter(batch=batch.applied)
    assert rows.count() == 6
    assert set(rows.values_list("old_price", flat=True)) == {Decimal(0)}
    assert set(rows.values_list("actor", flat=True)) == {sales_head.pk}


def test_a_floor_step_in_roubles_starts_above_the_chosen_floor(keeper):
    section = new_stock(by=keeper, floors=4, per_floor=1)  # a studio of 27.50 m² per floor
    price_list = make_price_list(
        section.building,
        per_m2="100000",
        step_from_floor=2,
        step_mode=StepMode.PER_M2,
        step_value=Decimal("1000"),
        round_to=Decimal(1),
    )
    preview = services.price_list_preview(price_list=price_list)
    prices = {ln.unit.floor.index: ln.new_price for ln in preview.lines}
    assert prices == {
        1: Decimal("2750000"),
        2: Decimal("2750000"),
        3: Decimal("2777500"),
        4: Decimal("2805000"),
    }


def test_a_unit_in_a_deal_is_skipped_and_a_held_one_gets_a_pending_price(keeper, sales_head):
    section = make_section(floors=3, per_floor=1, price_per_m2=Decimal("100000"), by=keeper)
    free, held, sold = section.units.order_by("floor__index")
    set_sales_state(unit=held, status=UnitStatus.RESERVED, by=keeper)
    set_sales_state(unit=sold, status=UnitStatus.IN_DEAL, by=keeper)
    price_list = make_price_list(section.building, per_m2="120000")
    preview = services.price_list_preview(price_list=price_list)
    skipped = {ln.unit.pk: ln.skip for ln in preview.skipped}
    assert list(skipped) == [sold.pk] and "in a deal or sold" in skipped[sold.pk]
    batch = _propose(price_list, keeper)
    services.batch_approve(batch=batch, by=sales_head)
    for unit in (free, held, sold):
        unit.refresh_from_db()
    assert free.price == Decimal("3300000")
    assert (held.price, held.pending_price) == (Decimal("2750000"), Decimal("3300000"))
    assert sold.price == Decimal("2750000")


@pytest.mark.parametrize(
    "role", [Role.SALES_MANAGER, Role.INVENTORY_KEEPER, Role.DIRECTOR, Role.MARKETER]
)
def test_only_the_named_approver_approves_and_a_refusal_changes_nothing(keeper, role):
    section = new_stock(by=keeper)
    batch = _propose(make_price_list(section.building), keeper)
    before = _snapshot()
    with pytest.raises(services.NotAllowed):
        services.batch_approve(batch=batch, by=make_user(role))
    assert _snapshot() == before
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PENDING and batch.decided_by is None


def test_the_settings_can_make_the_director_the_approver(keeper, director, sales_head):
    PricingSettings.objects.create(approver=Approver.DIRECTOR)
    section = new_stock(by=keeper)
    batch = _propose(make_price_list(section.building), keeper)
    with pytest.raises(services.NotAllowed):
        services.batch_approve(batch=batch, by=sales_head)
    services.batch_approve(batch=batch, by=director)
    assert not Unit.objects.filter(price=0).exists()


def test_a_manager_cannot_propose(manager, keeper):
    section = new_stock(by=keeper)
    preview = services.price_list_preview(price_list=make_price_list(section.building))
    with pytest.raises(services.NotAllowed):
        services.batch_propose(
            title="x", source=BatchSource.MANUAL, lines=preview.lines, by=manager
        )
    assert not Batch.objects.exists()


@pytest.mark.parametrize("base", ["0", "-1000"])
def test_a_zero_or_negative_base_is_refused(keeper, base):
    section = new_stock(by=keeper)
    price_list = make_price_list(section.building, per_m2=base)
    with pytest.raises(ValidationError) as error:
        services.price_list_preview(price_list=price_list)
    assert "greater than zero" in str(error.value)


def test_coefficients_that_go_below_the_floor_price_are_refused(keeper):
    section = new_stock(by=keeper)
    price_list = make_price_list(section.building, per_m2="100000", min_per_m2=Decimal("95000"))
    Factor.objects.create(
        price_list=price_list, kind=FactorKind.AREA, area_from=Decimal(30), percent=Decimal(-10)
    )
    before = _snapshot()
    with pytest.raises(services.BelowFloorPrice) as error:
        services.price_list_preview(price_list=price_list)
    assert "95000" in str(error.value)
    assert _snapshot() == before and not Batch.objects.exists()


def test_a_scheduled_batch_applies_when_its_moment_comes(keeper, sales_head):
    section = new_stock(by=keeper)
    batch = _propose(make_price_list(section.building), keeper)
    now = timezone.now()
    with pytest.raises(ValidationError):
        services.batch_approve(batch=batch, by=sales_head, effective_at=now - timedelta(hours=1))
    services.batch_approve(batch=batch, by=sales_head, effective_at=now + timedelta(hours=2))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SCHEDULED
    assert not services.batch_apply_due(batch=batch, at=now + timedelta(hours=1))
    assert Unit.objects.filter(price=0).count() == section.units.count()
    assert services.batch_apply_due(batch=batch, at=now + timedelta(hours=3))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED
    assert not Unit.objects.filter(price=0).exists()
    assert not services.batch_apply_due(batch=batch, at=now + timedelta(hours=4))  # idempotent


def test_the_periodic_job_applies_due_batches(keeper, sales_head):
    section = new_stock(by=keeper)
    batch = _propose(make_price_list(section.building), keeper)
    services.batch_approve(
        batch=batch, by=sales_head, effective_at=timezone.now() + timedelta(seconds=1)
    )
    Batch.objects.filter(pk=batch.pk).update(effective_at=timezone.now() - timedelta(seconds=1))
    tasks.batches_apply_due()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED


def test_rollback_restores_prices_and_leaves_units_changed_since(keeper, sales_head):
    section = make_section(floors=3, per_floor=1, price_per_m2=Decimal("100000"), by=keeper)
    a, b, c = section.units.order_by("floor__index")
    set_sales_state(unit=c, status=UnitStatus.RESERVED, by=keeper)
    batch = _propose(make_price_list(section.building, per_m2="110000"), keeper)
    services.batch_approve(batch=batch, by=sales_head)
    unit_set_price(unit=b, price=Decimal("9999000"), by=keeper, reason="вручную")
    services.batch_rollback(batch=batch, by=sales_head)
    for unit in (a, b, c):
        unit.refresh_from_db()
    batch.refresh_from_db()
    assert a.price == Decimal("2750000")  # back
    assert b.price == Decimal("9999000")  # changed since: left
    assert (c.price, c.pending_price) == (Decimal("2750000"), None)  # the pending one undone
    assert batch.status == BatchStatus.ROLLED_BACK
    assert batch.rollback_skipped == {str(b.pk): "moved"}
    assert PriceChange.objects.filter(batch=batch.rollback).count() == 1
    with pytest.raises(services.BatchStateError):
        services.batch_rollback(batch=batch, by=sales_head)


def test_a_manager_cannot_roll_back(keeper, sales_head, manager):
    section = new_stock(by=keeper)
    batch = _propose(make_price_list(section.building), keeper)
    services.batch_approve(batch=batch, by=sales_head)
    before = _snapshot()
    with pytest.raises(services.NotAllowed):
        services.batch_rollback(batch=batch, by=manager)
    assert _snapshot() == before


def test_a_rejected_batch_changes_no_price(keeper, sales_head):
    section = new_stock(by=keeper)
    batch = _propose(make_price_list(section.building), keeper)
    before = _snapshot()
    services.batch_reject(batch=batch, by=sales_head, note="рано")
    assert _snapshot() == before
    with pytest.raises(services.BatchStateError):
        services.batch_approve(batch=batch, by=sales_head)
