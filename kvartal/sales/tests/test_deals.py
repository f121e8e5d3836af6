"""Deals: opening (from a hold or from sale), prices and approvals, stages, buyers, a unit
swap, the BTI recalculation, and who may see and do what on the deal pages."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role, Team
from kvartal.clients.models import Client
from kvartal.clients.services import client_create
from kvartal.inventory import services as inventory
from kvartal.inventory.models import PriceChange, StatusChange, Unit, UnitChange, UnitStatus
from kvartal.sales.models import (
    Deal,
    DealBuyer,
    DealEvent,
    Hold,
    HoldEvent,
    HoldState,
    LineKind,
    Payment,
    PaymentLine,
    SalesSettings,
    Stage,
    StageScheme,
    StageTransition,
)
from kvartal.sales.selectors import money_text
from kvartal.sales.services import deals as svc
from kvartal.sales.services import payments as svc_payments
from kvartal.sales.services.holds import (
    hold_cancel,
    hold_create,
)
from kvartal.sales.tests.factories import (
    default_scheme,
    make_promotion,
    open_deal,
    refusal_state,
    stage,
)
from kvartal.testing import make_building, make_section, make_user

# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def units(keeper):
    building = make_building()
    make_section(building, floors=2, per_floor=2, by=keeper)
    return list(building.units.order_by("pk"))


@pytest.fixture
def unit(units):
    return units[0]


@pytest.fixture
def buyer(manager):
    return client_create(by=manager, last_name="Петров", first_name="Иван", phone="+79001234567")


@pytest.fixture
def other_manager(db):
    return make_user(Role.SALES_MANAGER, username="other")


def _open(unit, buyer, manager, **kwargs):
    return svc.deal_open(unit=unit, buyers=[svc.BuyerShare(buyer)], by=manager, **kwargs)


def snapshot():
    """Everything a refused action must leave as it was."""
    return (
        list(
            Deal.objects.order_by("pk").values_list(
                "pk", "unit_id", "stage_id", "is_active", "price", "bti_area", "bti_adjustment"
            )
        ),
        list(DealBuyer.objects.order_by("pk").values_list("deal_id", "client_id")),
        DealEvent.objects.count(),
        PaymentLine.objects.count(),
        list(Hold.objects.order_by("pk").values_list("pk", "state")),
        HoldEvent.objects.count(),
        StatusChange.objects.count(),
        UnitChange.objects.count(),
        list(Unit.objects.order_by("pk").values_list("pk", "status", "price", "bti_area")),
        Client.objects.count(),
    )


def _set_area_and_price(unit, *, area, price):
    Unit.objects.filter(pk=unit.pk).update(
        total_area=Decimal(area), living_area=None, price=Decimal(price)
    )
    unit.refresh_from_db()
    return unit


def _pay(deal, amount, by):
    return Payment.objects.create(
        deal=deal, received_on=timezone.localdate(), amount=Decimal(amount), recorded_by=by
    )


# --- opening ------------------------------------------------------------------------------


def test_a_deal_opens_on_an_available_unit_at_its_price(unit, buyer, manager):
    deal = _open(unit, buyer, manager)

    unit.refresh_from_db()
    year = timezone.localdate().year
    assert deal.number == f"Д-{year}-00001"
    assert deal.stage == stage("preparation") and deal.stage.is_initial
    assert (deal.list_price, deal.price, deal.area) == (unit.price, unit.price, unit.total_area)
    assert deal.manager == manager and deal.is_active
    assert unit.status == UnitStatus.IN_DEAL
    event, schedule = deal.events.order_by("pk")
    assert schedule.kind == "schedule" and schedule.data["action"] == "generated"
    # The default schedule of the payment method, laid out with the deal: all of it, at once.
    assert [(line.kind, line.amount) for line in deal.schedule.all()] == [
        (LineKind.LUMP_SUM, unit.price)
    ]
    assert (event.kind, event.actor, event.unit, event.to_stage) == (
        "created",
        manager,
        unit,
        deal.stage,
    )
    assert event.data["price"] == str(unit.price)
    change = StatusChange.objects.filter(unit=unit).latest("at")
    assert (change.old_status, change.new_status) == ("available", "in_deal")
    assert [(b.client, b.share_numerator, b.share_denominator) for b in deal.buyers.all()] == [
        (buyer, 1, 1)
    ]


def test_deal_numbers_are_unique_and_sequential(units, buyer, manager):
    first = _open(units[0], buyer, manager)
    second = _open(units[1], buyer, manager)
    assert int(second.number[-5:]) == int(first.number[-5:]) + 1


def test_a_deal_from_a_hold_takes_the_held_price_and_converts_the_hold(
    unit, buyer, manager, keeper
):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    inventory.unit_set_price(unit=unit, price=unit.price + 500_000, by=keeper, reason="new list")

    deal = svc.deal_open(hold=hold, buyers=[svc.BuyerShare(buyer)], by=manager)

    hold.refresh_from_db()
    unit.refresh_from_db()
    assert deal.list_price == hold.price == deal.price
    assert deal.hold == hold
    assert hold.state == HoldState.CONVERTED
    assert hold.events.latest("pk").kind == "converted"
    assert unit.status == UnitStatus.IN_DEAL
    assert unit.hold_until is None
    assert deal.events.get(kind="created").data["hold"] == hold.pk
    # The price set during the hold waits through the deal…
    assert (unit.price, unit.pending_price) == (hold.price, hold.price + 500_000)


def test_a_price_set_during_the_hold_applies_when_the_deal_is_terminated(
    unit, buyer, manager, keeper, sales_head
):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    inventory.unit_set_price(unit=unit, price=unit.price + 500_000, by=keeper, reason="new list")
    deal = svc.deal_open(hold=hold, buyers=[svc.BuyerShare(buyer)], by=manager)
    assert not PriceChange.objects.filter(unit=unit).exists()

    svc.deal_terminate(deal=deal, by=sales_head, reason="Bank refused the mortgage")

    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE
    assert (unit.price, unit.pending_price) == (hold.price + 500_000, None)
    row = PriceChange.objects.get(unit=unit)
    assert (row.old_price, row.new_price, row.reason) == (
        hold.price,
        hold.price + 500_000,
        "Price set during the hold",
    )


def test_opening_from_the_unit_takes_over_the_buyers_own_live_hold(unit, buyer, manager):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)

    deal = _open(unit, buyer, manager)

    hold.refresh_from_db()
    assert deal.hold == hold and hold.state == HoldState.CONVERTED


def test_cannot_open_a_deal_on_a_unit_held_for_another_client(unit, buyer, manager, other_manager):
    stranger = client_create(by=other_manager, last_name="Сидоров")
    hold_create(unit=unit, client=stranger, manager=other_manager, by=other_manager, days=3)
    before = snapshot()

    with pytest.raises(svc.UnitNotAvailable, match="already held"):
        _open(unit, buyer, manager)

    assert snapshot() == before


def test_cannot_open_a_deal_on_a_unit_sold_by_another_deal(unit, buyer, manager, other_manager):
    stranger = client_create(by=other_manager, last_name="Сидоров")
    other = _open(unit, stranger, other_manager)
    svc.deal_move(deal=other, stage=stage("signed"), by=other_manager)
    svc.deal_move(
        deal=other,
        stage=stage("registered"),
        by=other_manager,
        registration_number="66:01/123",
        registration_date=date(2026, 3, 1),
    )
    unit.refresh_from_db()
    assert unit.status == UnitStatus.SOLD
    before = snapshot()

    with pytest.raises(svc.UnitNotAvailable, match="already sold"):
        _open(unit, buyer, manager)

    assert snapshot() == before


def test_cannot_open_a_second_deal_on_a_unit_in_a_deal(unit, buyer, manager):
    _open(unit, buyer, manager)
    before = snapshot()

    with pytest.raises(svc.UnitNotAvailable, match="is in a deal"):
        _open(unit, buyer, manager)

    assert snapshot() == before


def test_cannot_open_a_deal_on_a_unit_not_for_sale(unit, buyer, manager, keeper):
    inventory.unit_set_status(unit=unit, status=UnitStatus.NOT_FOR_SALE, by=keeper)
    before = snapshot()

    with pytest.raises(svc.UnitNotAvailable, match="not on sale"):
        _open(unit, buyer, manager)

    assert snapshot() == before


def test_cannot_open_from_a_hold_that_has_run_out(unit, buyer, manager):
    start = timezone.now() - timedelta(days=4)
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3, at=start)
    before = snapshot()

    with pytest.raises(svc.DealHoldNotLive):
        svc.deal_open(hold=hold, buyers=[svc.BuyerShare(buyer)], by=manager)

    assert snapshot() == before


def test_two_buyers_with_halves(unit, buyer, manager):
    wife = client_create(by=manager, last_name="Петрова", first_name="Мария")
    deal = svc.deal_open(
        unit=unit,
        buyers=[svc.BuyerShare(buyer, 1, 2), svc.BuyerShare(wife, 1, 2)],
        by=manager,
    )
    assert [(b.client, b.share_numerator) for b in deal.buyers.all()] == [(buyer, 1), (wife, 1)]


@pytest.mark.parametrize(
    "shares, message",
    [
        ([(1, 2), (1, 3)], "add up to 5/6"),
        ([(2, 3), (2, 3)], "add up to 4/3"),
        ([(3, 2)], "fraction"),
        ([], "at least one buyer"),
    ],
)
def test_shares_must_add_up_to_one(unit, manager, shares, message):
    clients = [client_create(by=manager, last_name=f"Покупатель{i}") for i in range(len(shares))]
    before = snapshot()

    with pytest.raises(svc.BuyersInvalid, match=message):
        svc.deal_open(
            unit=unit,
            buyers=[svc.BuyerShare(c, n, d) for c, (n, d) in zip(clients, shares, strict=True)],
            by=manager,
        )

    assert snapshot() == before


def test_the_same_client_cannot_buy_twice_in_one_deal(unit, buyer, manager):
    before = snapshot()
    with pytest.raises(svc.BuyersInvalid, match="twice"):
        svc.deal_open(
            unit=unit, buyers=[svc.BuyerShare(buyer, 1, 2), svc.BuyerShare(buyer, 1, 2)], by=manager
        )
    assert snapshot() == before


# --- prices, promotions, discounts --------------------------------------------------------


def test_price_is_list_price_less_promotion_less_manual_discount(unit, buyer, manager):
    _set_area_and_price(unit, area="60.00", price="12000000")
    promotion = make_promotion(units=[unit], value=Decimal("5"))

    deal = _open(unit, buyer, manager, promotion=promotion, manual_discount=Decimal("100000"))

    assert deal.list_price == Decimal("12000000")
    assert deal.promotion_discount == Decimal("600000")
    assert deal.manual_discount == Decimal("100000")
    assert deal.price == Decimal("11300000")
    assert deal.discount_approved_by is None  # 100 000 is below 3 % of 12 000 000


def test_promotion_must_cover_the_unit(units, buyer, manager):
    promotion = make_promotion(units=[units[1]])
    before = snapshot()
    with pytest.raises(svc.PromotionNotApplicable, match="does not cover"):
        _open(units[0], buyer, manager, promotion=promotion)
    assert snapshot() == before


def test_promotion_must_be_running(unit, buyer, manager):
    promotion = make_promotion(starts_on=date(2020, 1, 1), ends_on=date(2020, 2, 1))
    before = snapshot()
    with pytest.raises(svc.PromotionNotApplicable, match="not running"):
        _open(unit, buyer, manager, promotion=promotion)
    assert snapshot() == before


def test_promotion_lists_are_all_checked(units, keeper):
    from kvartal.sales.promotions_rules import promotion_applies

    unit = units[0]
    assert promotion_applies(make_promotion(), unit)
    assert promotion_applies(make_promotion(projects=[unit.building.project]), unit)
    assert not promotion_applies(make_promotion(buildings=[make_building()]), unit)
    assert promotion_applies(make_promotion(rooms=[unit.rooms]), unit)
    assert not promotion_applies(make_promotion(rooms=[9]), unit)
    assert not promotion_applies(
        make_promotion(projects=[unit.building.project], units=[units[1]]), unit
    )


def test_cannot_go_below_the_promotions_minimum_price(unit, buyer, manager, sales_head):
    _set_area_and_price(unit, area="60.00", price="12000000")
    promotion = make_promotion(value=Decimal("5"), min_price=Decimal("11000000"))
    before = snapshot()

    with pytest.raises(svc.PriceBelowMinimum, match="below the promotion's minimum"):
        _open(
            unit,
            buyer,
            sales_head,
            promotion=promotion,
            manual_discount=Decimal("500000"),
        )

    assert snapshot() == before


def test_a_discount_above_the_threshold_needs_a_sales_heads_approval(unit, buyer, manager):
    _set_area_and_price(unit, area="60.00", price="12000000")  # 3 % = 360 000
    before = snapshot()

    with pytest.raises(svc.DiscountNeedsApproval, match="needs a sales head's approval"):
        _open(unit, buyer, manager, manual_discount=Decimal("360001"))

    assert snapshot() == before


def test_a_manager_cannot_name_an_approver_for_their_own_discount(unit, buyer, manager):
    """The approval is the acting user's only: nobody approves in another's name."""
    _set_area_and_price(unit, area="60.00", price="12000000")
    before = snapshot()
    with pytest.raises(TypeError):
        _open(unit, buyer, manager, manual_discount=Decimal("400000"), approved_by=manager)
    with pytest.raises(svc.DiscountNeedsApproval):
        svc.deal_price(
            unit=unit,
            list_price=unit.price,
            by=manager,
            manual_discount=Decimal("400000"),
            approved_by=manager,  # not a sales head: no approval
        )
    assert snapshot() == before


def test_a_sales_head_applies_the_discount_a_manager_could_not(unit, buyer, manager, sales_head):
    _set_area_and_price(unit, area="60.00", price="12000000")
    deal = _open(unit, buyer, manager)  # without the discount
    before = snapshot()
    with pytest.raises(svc.ApprovalRequired):
        svc.deal_set_discount(
            deal=deal, manual_discount=Decimal("400000"), by=manager, reason="VIP"
        )
    assert snapshot() == before

    deal = svc.deal_set_discount(
        deal=deal, manual_discount=Decimal("400000"), by=sales_head, reason="VIP client"
    )

    deal.refresh_from_db()
    assert (deal.price, deal.discount_approved_by) == (Decimal("11600000"), sales_head)
    event = deal.events.get(kind="discount")
    assert (event.actor, event.reason, event.data["new"]["price"]) == (
        sales_head,
        "VIP client",
        "11600000.00",
    )
    # The schedule follows the new price.
    assert sum(line.amount for line in deal.schedule.all()) == Decimal("11600000")


def test_an_approved_discount_above_the_threshold_is_recorded(unit, buyer, sales_head):
    _set_area_and_price(unit, area="60.00", price="12000000")
    deal = _open(unit, buyer, sales_head, manual_discount=Decimal("400000"))
    assert (deal.price, deal.discount_approved_by) == (Decimal("11600000"), sales_head)
    assert deal.events.get(kind="created").data["approved_by"] == str(sales_head)


def test_a_sales_head_opening_a_deal_approves_their_own_discount(unit, buyer, sales_head):
    _set_area_and_price(unit, area="60.00", price="12000000")
    deal = _open(unit, buyer, sales_head, manual_discount=Decimal("400000"))
    assert deal.discount_approved_by == sales_head


def test_the_threshold_is_a_setting(unit, buyer, manager):
    _set_area_and_price(unit, area="60.00", price="12000000")
    settings = SalesSettings.current()
    settings.discount_approval_percent = Decimal("5")
    settings.save()
    deal = _open(unit, buyer, manager, manual_discount=Decimal("400000"))
    assert deal.discount_approved_by is None


# --- stages -------------------------------------------------------------------------------


@pytest.fixture
def deal(unit, buyer, manager):
    return _open(unit, buyer, manager)


def test_a_deal_moves_along_the_flow_and_the_unit_follows(deal, manager, unit):
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    deal.refresh_from_db()
    unit.refresh_from_db()
    assert deal.stage.code == "signed" and deal.signed_on == timezone.localdate()
    assert unit.status == UnitStatus.IN_DEAL

    svc.deal_move(
        deal=deal,
        stage=stage("registered"),
        by=manager,
        registration_number="66:01/2026-1",
        registration_date=date(2026, 3, 2),
    )
    deal.refresh_from_db()
    unit.refresh_from_db()
    assert (deal.registration_number, deal.registration_date) == ("66:01/2026-1", date(2026, 3, 2))
    assert unit.status == UnitStatus.SOLD
    events = list(
        deal.events.filter(kind="stage").values_list("from_stage__code", "to_stage__code")
    )
    assert events == [("preparation", "signed"), ("signed", "registered")]
    last = deal.events.latest("pk")
    assert last.actor == manager and last.unit == unit
    assert last.data["registration_number"] == "66:01/2026-1"


def test_cannot_skip_a_stage(deal, manager):
    before = snapshot()
    with pytest.raises(svc.StageMoveRefused, match="cannot go from"):
        svc.deal_move(
            deal=deal,
            stage=stage("registered"),
            by=manager,
            registration_number="1",
            registration_date=date(2026, 1, 1),
        )
    assert snapshot() == before


def test_registration_needs_number_and_date(deal, manager):
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    before = snapshot()
    with pytest.raises(svc.StageRequirementMissing, match="registration number and date"):
        svc.deal_move(deal=deal, stage=stage("registered"), by=manager, registration_number="66:01")
    assert snapshot() == before


def _registered(deal, by):
    svc.deal_move(deal=deal, stage=stage("signed"), by=by)
    return svc.deal_move(
        deal=deal,
        stage=stage("registered"),
        by=by,
        registration_number="66:01/1",
        registration_date=date(2026, 3, 1),
    )


def test_paid_in_full_needs_every_rouble(deal, manager):
    _registered(deal, manager)
    _pay(deal, deal.price - 1, manager)
    before = snapshot()
    with pytest.raises(svc.StageRequirementMissing, match="not paid in full"):
        svc.deal_move(deal=deal, stage=stage("paid"), by=manager)
    assert snapshot() == before

    _pay(deal, 1, manager)
    svc.deal_move(deal=deal, stage=stage("paid"), by=manager)
    deal.refresh_from_db()
    assert deal.stage.code == "paid"


def test_handover_needs_the_act_date(deal, manager):
    _registered(deal, manager)
    _pay(deal, deal.price, manager)
    svc.deal_move(deal=deal, stage=stage("paid"), by=manager)
    before = snapshot()
    with pytest.raises(svc.StageRequirementMissing, match="handover act"):
        svc.deal_move(deal=deal, stage=stage("handed_over"), by=manager)
    assert snapshot() == before
    act_day = timezone.localdate() - timedelta(days=1)
    svc.deal_move(deal=deal, stage=stage("handed_over"), by=manager, act_date=act_day)
    deal.refresh_from_db()
    assert deal.act_date == act_day


def test_a_registration_dated_after_today_is_refused_and_nothing_changes(deal, manager, unit):
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    today = timezone.localdate()
    before = snapshot()
    with pytest.raises(svc.StageDateInFuture, match="later than today") as refused:
        svc.deal_move(
            deal=deal,
            stage=stage("registered"),
            by=manager,
            registration_number="66:01/1",
            registration_date=today + timedelta(days=1),
        )
    assert refused.value.field == "registration_date"
    assert snapshot() == before
    deal.refresh_from_db()
    assert (deal.stage.code, deal.registration_number, deal.registration_date) == (
        "signed",
        "",
        None,
    )

    svc.deal_move(  # today itself is fine
        deal=deal,
        stage=stage("registered"),
        by=manager,
        registration_number="66:01/1",
        registration_date=today,
    )
    deal.refresh_from_db()
    unit.refresh_from_db()
    assert (deal.stage.code, deal.registration_date, unit.status) == (
        "registered",
        today,
        UnitStatus.SOLD,
    )


def test_a_handover_act_dated_after_today_is_refused_and_nothing_changes(deal, manager):
    _registered(deal, manager)
    _pay(deal, deal.price, manager)
    svc.deal_move(deal=deal, stage=stage("paid"), by=manager)
    before = snapshot()
    with pytest.raises(svc.StageDateInFuture, match="later than today") as refused:
        svc.deal_move(
            deal=deal,
            stage=stage("handed_over"),
            by=manager,
            act_date=timezone.localdate() + timedelta(days=1),
        )
    assert refused.value.field == "act_date"
    assert snapshot() == before
    deal.refresh_from_db()
    assert (deal.stage.code, deal.act_date) == ("paid", None)


def test_the_stage_refusals_write_amounts_as_the_pages_do(deal, manager):
    from django.utils import translation

    line = deal.schedule.get()
    svc_payments.schedule_line_save(
        deal=deal,
        by=manager,
        line=line,
        due_date=line.due_date,
        amount=deal.total_due + Decimal("2000.50"),
        kind=line.kind,
    )
    planned = deal.total_due + Decimal("2000.50")
    with translation.override("ru"):
        with pytest.raises(svc.StageRequirementMissing) as refused:
            svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
        message, texts = str(refused.value), (money_text(planned), money_text(deal.total_due))
    # "7 356 000,50 ₽", not "7356000.50 ₽"
    assert texts[0].endswith(",50") and len(texts[0].split()) > 1
    assert all(text in message for text in texts) and str(planned) not in message

    svc_payments.schedule_generate(deal=deal, by=manager)
    _registered(deal, manager)
    with translation.override("en"), pytest.raises(svc.StageRequirementMissing) as refused:
        svc.deal_move(deal=deal, stage=stage("paid"), by=manager)
    total = money_text(deal.total_due)
    assert "," in total and f"Paid 0.00 ₽ of {total} ₽" in str(refused.value)


def test_a_manager_cannot_terminate(deal, manager):
    before = snapshot()
    with pytest.raises(svc.ApprovalRequired, match="Only a sales head"):
        svc.deal_terminate(deal=deal, by=manager, reason="client refused")
    assert snapshot() == before


def test_a_termination_needs_a_reason(deal, sales_head):
    before = snapshot()
    with pytest.raises(svc.StageRequirementMissing, match="reason"):
        svc.deal_terminate(deal=deal, by=sales_head, reason="  ")
    assert snapshot() == before


def test_a_sales_head_terminates_and_the_unit_goes_back_on_sale(deal, sales_head, unit, buyer):
    _registered(deal, deal.manager)

    svc.deal_terminate(deal=deal, by=sales_head, reason="Отказ банка")

    deal.refresh_from_db()
    unit.refresh_from_db()
    assert not deal.is_active
    assert deal.closed_at is not None
    assert deal.termination_reason == "Отказ банка"
    assert deal.stage.code == "terminated"
    assert unit.status == UnitStatus.AVAILABLE
    event = deal.events.latest("pk")
    assert (event.kind, event.from_stage.code, event.reason, event.actor) == (
        "terminated",
        "registered",
        "Отказ банка",
        sales_head,
    )
    # the unit can be sold again, and the closed deal changes no more
    other = _open(unit, buyer, deal.manager)
    assert other.is_active
    with pytest.raises(svc.DealClosed):
        svc.deal_move(deal=deal, stage=stage("signed"), by=sales_head)


def test_the_chinese_flow_reads_its_stage_names(unit, buyer, manager):
    scheme = StageScheme.objects.get(code="cn")
    deal = _open(unit, buyer, manager, scheme=scheme)
    assert deal.stage.label == "认筹 · Pledge"
    assert [s.code for s in svc.next_stages(deal)] == ["subscription", "refund"]


# --- buyers and unit swap -----------------------------------------------------------------


def test_buyers_change_with_a_reason_and_the_history_keeps_both(deal, buyer, manager):
    wife = client_create(by=manager, last_name="Петрова")
    svc.deal_change_buyers(
        deal=deal,
        buyers=[svc.BuyerShare(buyer, 1, 2), svc.BuyerShare(wife, 1, 2)],
        by=manager,
        reason="Supruga joins",
    )
    assert [b.client for b in deal.buyers.all()] == [buyer, wife]
    event = deal.events.get(kind="buyers")
    assert [b["share"] for b in event.data["old"]] == ["1/1"]
    assert [b["share"] for b in event.data["new"]] == ["1/2", "1/2"]
    assert event.reason == "Supruga joins"


def test_buyers_change_needs_a_reason(deal, buyer, manager):
    wife = client_create(by=manager, last_name="Петрова")
    before = snapshot()
    with pytest.raises(svc.DealError, match="reason"):
        svc.deal_change_buyers(deal=deal, buyers=[svc.BuyerShare(wife)], by=manager, reason="")
    assert snapshot() == before


def test_swapping_the_unit_returns_the_old_one_to_sale(deal, units, manager):
    old, new = units[0], units[1]

    svc.deal_swap_unit(deal=deal, unit=new, by=manager, reason="Chose a higher floor")

    deal.refresh_from_db()
    old.refresh_from_db()
    new.refresh_from_db()
    assert deal.unit == new
    assert (deal.list_price, deal.price, deal.area) == (new.price, new.price, new.total_area)
    assert old.status == UnitStatus.AVAILABLE
    assert new.status == UnitStatus.IN_DEAL
    swaps = DealEvent.objects.filter(kind="unit_swap")
    assert sorted(swaps.values_list("unit_id", flat=True)) == sorted([old.pk, new.pk])
    assert {e.data["old"]["unit"] for e in swaps} == {old.pk}
    # Before signing the schedule is laid out again for the new price.
    assert sum(line.amount for line in deal.schedule.all()) == new.price


def test_after_signing_a_swap_that_changes_the_price_is_refused(deal, units, manager):
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    before = snapshot()
    with pytest.raises(svc.DealError, match="schedule fixed"):
        svc.deal_swap_unit(deal=deal, unit=units[1], by=manager, reason="Higher floor")
    assert snapshot() == before
    # A unit at the same price: the deal moves, the schedule stays right.
    Unit.objects.filter(pk=units[2].pk).update(price=deal.price)
    svc.deal_swap_unit(deal=deal, unit=units[2], by=manager, reason="Same price, other view")
    deal.refresh_from_db()
    assert deal.unit_id == units[2].pk


def test_cannot_swap_onto_a_unit_in_another_deal(deal, units, manager, buyer):
    other = _open(units[1], buyer, manager)
    before = snapshot()
    with pytest.raises(svc.UnitNotAvailable):
        svc.deal_swap_unit(deal=deal, unit=other.unit, by=manager, reason="x")
    assert snapshot() == before


def test_cannot_swap_once_registered(deal, units, manager):
    _registered(deal, manager)
    before = snapshot()
    with pytest.raises(svc.DealError, match="no longer be swapped"):
        svc.deal_swap_unit(deal=deal, unit=units[1], by=manager, reason="x")
    assert snapshot() == before


# --- BTI ----------------------------------------------------------------------------------


@pytest.fixture
def sixty_metres(unit, buyer, manager):
    """The domain example: 60.0 m² at 200 000 ₽/m², tolerance 0.5 m²."""
    _set_area_and_price(unit, area="60.00", price="12000000")
    settings = SalesSettings.current()
    settings.bti_tolerance_m2 = Decimal("0.5")
    settings.save()
    return _open(unit, buyer, manager)


def test_bti_beyond_the_tolerance_is_charged_at_the_deal_price_per_m2(sixty_metres, manager, unit):
    deal = svc.deal_record_bti(deal=sixty_metres, bti_area=Decimal("60.8"), by=manager)

    deal.refresh_from_db()
    unit.refresh_from_db()
    assert deal.bti_area == Decimal("60.80")
    assert deal.bti_adjustment == Decimal("160000.00")
    assert deal.total_due == Decimal("12160000.00")
    assert unit.bti_area == Decimal("60.80")
    line = deal.schedule.get(kind=LineKind.RECALCULATION)
    assert (line.kind, line.amount, line.due_date) == (
        LineKind.RECALCULATION,
        Decimal("160000.00"),
        timezone.localdate() + timedelta(days=30),
    )
    event = deal.events.get(kind="bti")
    assert event.data["adjustment"] == "160000.00"
    assert event.data["contract_area"] == "60.00"
    assert UnitChange.objects.filter(unit=unit).latest("pk").changes["bti_area"][1] == "60.8"


def test_bti_within_the_tolerance_changes_no_money(sixty_metres, manager):
    deal = svc.deal_record_bti(deal=sixty_metres, bti_area=Decimal("60.4"), by=manager)
    assert deal.bti_adjustment == 0
    assert not deal.schedule.filter(kind=LineKind.RECALCULATION).exists()
    assert deal.events.get(kind="bti").data["adjustment"] == "0.00"


def test_a_smaller_flat_is_refunded(sixty_metres, manager):
    deal = svc.deal_record_bti(deal=sixty_metres, bti_area=Decimal("59.0"), by=manager)
    assert deal.bti_adjustment == Decimal("-200000.00")
    assert deal.schedule.get(kind=LineKind.RECALCULATION).amount == Decimal("-200000.00")


def test_bti_may_charge_only_beyond_the_tolerance(sixty_metres, manager):
    settings = SalesSettings.current()
    settings.bti_charge_beyond_tolerance_only = True
    settings.save()
    deal = svc.deal_record_bti(deal=sixty_metres, bti_area=Decimal("60.8"), by=manager)
    assert deal.bti_adjustment == Decimal("60000.00")  # 0.3 m² × 200 000


def test_bti_is_recorded_once_and_must_be_positive(sixty_metres, manager):
    before = snapshot()
    with pytest.raises(svc.BtiRefused):
        svc.deal_record_bti(deal=sixty_metres, bti_area=Decimal("0"), by=manager)
    assert snapshot() == before
    svc.deal_record_bti(deal=sixty_metres, bti_area=Decimal("60.8"), by=manager)
    before = snapshot()
    with pytest.raises(svc.BtiRefused, match="already recorded"):
        svc.deal_record_bti(deal=sixty_metres, bti_area=Decimal("61"), by=manager)
    assert snapshot() == before


def test_bti_adjustment_rounds_to_kopecks():
    value = svc.bti_adjustment(
        contract_area=Decimal("41.37"),
        bti_area=Decimal("42.10"),
        price_per_m2=Decimal("187345.67"),
        tolerance=Decimal("0.5"),
    )
    assert value == Decimal("136762.34")  # 0.73 × 187 345.67 = 136 762.3391


# --- pages --------------------------------------------------------------------------------


def _buyer_post(prefix="buyers", rows=()):
    data = {
        f"{prefix}-TOTAL_FORMS": "3",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "10",
    }
    for i in range(3):
        row = rows[i] if i < len(rows) else {}
        data[f"{prefix}-{i}-share_numerator"] = row.get("share_numerator", "1")
        data[f"{prefix}-{i}-share_denominator"] = row.get("share_denominator", "1")
        for name in ("client", "last_name", "first_name", "phone"):
            data[f"{prefix}-{i}-{name}"] = row.get(name, "")
    return data


def _terms(manager, **extra):
    return {
        "manager": manager.pk,
        "payment_method": "full",
        "contract_type": "ddu",
        "scheme": StageScheme.default().pk,
        "manual_discount": "0",
        **extra,
    }


def test_a_manager_opens_a_deal_for_an_existing_client_from_the_page(client, unit, buyer, manager):
    client.force_login(manager)
    url = reverse("sales:deal-create") + f"?unit={unit.pk}"
    assert client.get(url).status_code == 200

    data = {"unit": unit.pk, **_terms(manager), **_buyer_post(rows=[{"client": buyer.pk}])}
    response = client.post(url, data)

    deal = Deal.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("sales:deal-detail", args=[deal.pk])
    assert [b.client for b in deal.buyers.all()] == [buyer]
    unit.refresh_from_db()
    assert unit.status == UnitStatus.IN_DEAL
    page = client.get(response.url)
    assert page.status_code == 200
    assert deal.number in page.content.decode()


def test_a_new_buyer_typed_in_becomes_a_client_of_the_deals_manager(client, unit, manager):
    client.force_login(manager)
    rows = [{"last_name": "Новикова", "first_name": "Ольга", "phone": "+79120000000"}]
    data = {**_terms(manager), **_buyer_post(rows=rows)}
    response = client.post(reverse("sales:deal-create") + f"?unit={unit.pk}", data)

    assert response.status_code == 302
    new = Client.objects.get(last_name="Новикова")
    assert new.manager == manager and "912" in new.phone
    assert Deal.objects.get().buyers.get().client == new


def test_a_refused_deal_on_the_page_creates_no_client_and_says_why(
    client, unit, manager, other_manager
):
    stranger = client_create(by=other_manager, last_name="Сидоров")
    hold_create(unit=unit, client=stranger, manager=other_manager, by=other_manager, days=3)
    client.force_login(manager)
    before = snapshot()

    rows = [{"last_name": "Новикова"}]
    response = client.post(
        reverse("sales:deal-create") + f"?unit={unit.pk}",
        {**_terms(manager), **_buyer_post(rows=rows)},
    )

    assert response.status_code == 400
    assert "already held" in response.content.decode()
    assert snapshot() == before


def test_a_discount_above_the_threshold_is_refused_on_the_page(client, unit, buyer, manager):
    client.force_login(manager)
    before = snapshot()
    response = client.post(
        reverse("sales:deal-create") + f"?unit={unit.pk}",
        {**_terms(manager, manual_discount="900000"), **_buyer_post(rows=[{"client": buyer.pk}])},
    )
    assert response.status_code == 400
    assert "needs the approval of a sales head" in response.content.decode()
    assert snapshot() == before


def test_a_deal_from_a_hold_on_the_page(client, unit, buyer, manager):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    client.force_login(manager)
    url = reverse("sales:deal-create") + f"?hold={hold.pk}"
    page = client.get(url)
    assert page.status_code == 200
    assert f'value="{buyer.pk}" selected' in page.content.decode()

    response = client.post(url, {**_terms(manager), **_buyer_post(rows=[{"client": buyer.pk}])})

    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.state == HoldState.CONVERTED
    assert Deal.objects.get().hold == hold


def test_a_deal_page_opened_from_a_hold_that_ended_goes_on_the_unit(client, unit, buyer, manager):
    """It showed "Held for … until …" on a unit that was free again, and refused only once
    the whole form was filled."""
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    hold_cancel(hold=hold, by=manager, reason="передумал")
    client.force_login(manager)
    response = client.get(reverse("sales:deal-create") + f"?hold={hold.pk}", follow=True)
    assert response.redirect_chain[-1][0] == reverse("sales:deal-create") + f"?unit={unit.pk}"
    page = response.content.decode()
    assert "The hold has ended: open the deal from the unit." in page
    assert "Held for" not in page and f'name="hold" value="{hold.pk}"' not in page


def test_another_managers_hold_is_not_found(client, unit, buyer, manager, other_manager):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    client.force_login(other_manager)
    assert client.get(reverse("sales:deal-create") + f"?hold={hold.pk}").status_code == 404


def test_the_card_moves_a_deal_to_the_next_stage(client, deal, manager, unit):
    client.force_login(manager)
    card = client.get(reverse("sales:deal-detail", args=[deal.pk])).content.decode()
    assert "Contract signed" in card
    assert "Terminate" not in card  # a manager does not terminate

    response = client.post(
        reverse("sales:deal-move", args=[deal.pk]), {"stage": stage("signed").pk}
    )

    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage.code == "signed"


def test_a_skipped_stage_is_refused_on_the_page(client, deal, manager):
    client.force_login(manager)
    before = snapshot()
    response = client.post(
        reverse("sales:deal-move", args=[deal.pk]),
        {
            "stage": stage("registered").pk,
            "registration_number": "1",
            "registration_date": "2026-01-01",
        },
    )
    assert response.status_code == 400
    assert "cannot go from" in response.content.decode()
    assert snapshot() == before


def test_registration_on_the_page_asks_for_number_and_date(client, deal, manager):
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    client.force_login(manager)
    url = reverse("sales:deal-move", args=[deal.pk])
    before = snapshot()
    response = client.post(url, {"stage": stage("registered").pk, "registration_number": "66:1"})
    assert response.status_code == 400
    assert snapshot() == before

    response = client.post(
        url,
        {
            "stage": stage("registered").pk,
            "registration_number": "66:1",
            "registration_date": "2026-03-01",
        },
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage.code, deal.registration_date) == ("registered", date(2026, 3, 1))


def test_a_registration_date_after_today_is_refused_on_the_page_next_to_the_field(
    client, deal, manager, unit
):
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    client.force_login(manager)
    before = snapshot()
    response = client.post(
        reverse("sales:deal-move", args=[deal.pk]),
        {
            "stage": stage("registered").pk,
            "registration_number": "66:1",
            "registration_date": (timezone.localdate() + timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code in (400, 409)  # the form again, with why
    errors = response.context["form"].errors
    assert "later than today" in " ".join(errors["registration_date"])
    assert snapshot() == before
    deal.refresh_from_db()
    unit.refresh_from_db()
    assert (deal.stage.code, unit.status) == ("signed", UnitStatus.IN_DEAL)


def _track(page: str) -> list[str]:
    """The stage track of a deal page: each stage's text, "✓" on those passed."""
    import re

    track = page.split('<ol class="stage-track">', 1)[1].split("</ol>", 1)[0]
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", track)]


def test_a_deal_terminated_at_its_first_stage_ticks_only_that_stage(client, deal, sales_head):
    svc.deal_terminate(deal=deal, by=sales_head, reason="client refused")
    client.force_login(deal.manager)
    page = client.get(reverse("sales:deal-detail", args=[deal.pk])).content.decode()
    assert _track(page) == ["✓ Contract preparation", "Terminated"]


def test_the_stage_track_ticks_the_stages_the_deal_passed(client, deal, manager, sales_head):
    client.force_login(manager)
    url = reverse("sales:deal-detail", args=[deal.pk])
    assert _track(client.get(url).content.decode()) == [
        "Contract preparation",
        "Contract signed",
        "Registered",
        "Paid in full",
        "Handed over",
    ]
    _registered(deal, manager)
    assert _track(client.get(url).content.decode()) == [
        "✓ Contract preparation",
        "✓ Contract signed",
        "Registered",
        "Paid in full",
        "Handed over",
    ]
    svc.deal_terminate(deal=deal, by=sales_head, reason="client refused")
    assert _track(client.get(url).content.decode()) == [
        "✓ Contract preparation",
        "✓ Contract signed",
        "✓ Registered",
        "Terminated",
    ]


def test_termination_through_the_move_page_is_refused(client, deal, manager):
    client.force_login(manager)
    before = snapshot()
    response = client.post(
        reverse("sales:deal-move", args=[deal.pk]),
        {"stage": stage("terminated").pk, "reason": "x"},
    )
    assert response.status_code == 400
    assert snapshot() == before


def test_a_manager_may_not_open_the_termination_page(client, deal, manager):
    client.force_login(manager)
    before = snapshot()
    url = reverse("sales:deal-terminate", args=[deal.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "x"}).status_code == 403
    assert snapshot() == before


def test_a_sales_head_terminates_a_team_deal_with_a_reason(client, deal, manager, sales_head):
    team = Team.objects.create(name="Отдел 1", head=sales_head)
    manager.team = team
    manager.save()
    client.force_login(sales_head)
    url = reverse("sales:deal-terminate", args=[deal.pk])
    before = snapshot()
    assert client.post(url, {"reason": ""}).status_code == 400
    assert snapshot() == before

    response = client.post(url, {"reason": "Client withdrew"})

    assert response.status_code == 302
    deal.refresh_from_db()
    assert not deal.is_active and deal.termination_reason == "Client withdrew"
    deal.unit.refresh_from_db()
    assert deal.unit.status == UnitStatus.AVAILABLE


@pytest.mark.parametrize(
    "name, data",
    [
        ("sales:deal-detail", None),
        ("sales:deal-move", {"stage": "0"}),
        ("sales:deal-buyers", {"reason": "x"}),
        ("sales:deal-swap", {"reason": "x"}),
        ("sales:deal-bti", {"bti_area": "61"}),
    ],
)
def test_another_managers_deal_is_not_found_and_nothing_changes(
    client, deal, other_manager, name, data
):
    client.force_login(other_manager)
    url = reverse(name, args=[deal.pk])
    before = snapshot()
    assert client.get(url).status_code == 404
    if data is not None:
        if name == "sales:deal-move":
            data = {"stage": stage("signed").pk}
        assert client.post(url, data).status_code == 404
    assert snapshot() == before


def test_a_sales_head_sees_the_teams_deals_only(client, deal, manager, sales_head, other_manager):
    outsider = _open(
        Unit.objects.exclude(pk=deal.unit_id).filter(status="available").first(),
        client_create(by=other_manager, last_name="Чужой"),
        other_manager,
    )
    team = Team.objects.create(name="Отдел 1", head=sales_head)
    manager.team = team
    manager.save()
    client.force_login(sales_head)
    page = client.get(reverse("sales:deal-list")).content.decode()
    assert deal.number in page and outsider.number not in page
    assert client.get(reverse("sales:deal-detail", args=[outsider.pk])).status_code == 404
    assert client.get(reverse("sales:deal-detail", args=[deal.pk])).status_code == 200


def test_the_director_reads_but_does_not_change(client, deal, director):
    client.force_login(director)
    assert client.get(reverse("sales:deal-detail", args=[deal.pk])).status_code == 200
    before = snapshot()
    response = client.post(
        reverse("sales:deal-move", args=[deal.pk]), {"stage": stage("signed").pk}
    )
    assert response.status_code == 403
    assert snapshot() == before


def test_the_list_filters_by_buyer_surname_and_number(client, units, manager):
    petrov = client_create(by=manager, last_name="Петров")
    ivanova = client_create(by=manager, last_name="Иванова")
    first = _open(units[0], petrov, manager)
    second = _open(units[1], ivanova, manager)
    client.force_login(manager)
    url = reverse("sales:deal-list")

    page = client.get(url, {"q": "петров"}).content.decode()
    assert first.number in page and second.number not in page
    page = client.get(url, {"q": second.number[-5:]}).content.decode()
    assert second.number in page and first.number not in page
    page = client.get(url, {"stage": stage("signed").pk}).content.decode()
    assert first.number not in page


def test_the_list_costs_the_same_queries_for_one_deal_and_ten(
    client, manager, django_assert_max_num_queries, keeper
):
    building = make_building()
    make_section(building, floors=3, per_floor=4, by=keeper)
    units = list(building.units.order_by("pk"))
    _open(units[0], client_create(by=manager, last_name="Первый"), manager)
    client.force_login(manager)
    url = reverse("sales:deal-list")
    client.get(url)  # warm the session and the settings row

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for u in units[1:10]:
        _open(u, client_create(by=manager, last_name=f"Покупатель{u.pk}"), manager)
    with django_assert_max_num_queries(len(one)):
        page = client.get(url)
    assert page.content.decode().count("/app/deals/") >= 10


def test_the_bti_page_records_the_measurement(client, sixty_metres, manager):
    client.force_login(manager)
    response = client.post(reverse("sales:deal-bti", args=[sixty_metres.pk]), {"bti_area": "60.8"})
    assert response.status_code == 302
    sixty_metres.refresh_from_db()
    assert sixty_metres.bti_adjustment == Decimal("160000.00")


def test_the_buyers_page_changes_buyers_with_a_reason(client, deal, buyer, manager):
    client.force_login(manager)
    url = reverse("sales:deal-buyers", args=[deal.pk])
    assert client.get(url).status_code == 200
    rows = [
        {"client": buyer.pk, "share_numerator": "1", "share_denominator": "2"},
        {"last_name": "Петрова", "share_numerator": "1", "share_denominator": "2"},
    ]
    before = snapshot()
    assert client.post(url, {**_buyer_post(rows=rows), "reason": ""}).status_code == 400
    assert snapshot() == before

    response = client.post(url, {**_buyer_post(rows=rows), "reason": "Wife joins"})

    assert response.status_code == 302
    assert [b.client.last_name for b in deal.buyers.all()] == ["Петров", "Петрова"]


def test_the_swap_page_moves_the_deal(client, deal, units, manager):
    client.force_login(manager)
    url = reverse("sales:deal-swap", args=[deal.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"unit": units[2].pk, "reason": "Another floor"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.unit == units[2]


def test_the_unit_card_shows_the_deal_and_its_history(client, deal, manager, unit):
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    client.force_login(manager)
    from kvartal.sales.selectors import deal_unit_panels, deal_unit_timeline

    request = client.get(reverse("sales:deal-list")).wsgi_request
    (panel,) = deal_unit_panels(request, unit)
    assert panel.context["deal"] == deal and panel.context["visible"]
    lines = [e["text"] for e in deal_unit_timeline(unit)]
    assert lines[0] == f"Deal {deal.number}: opened at {deal.price:,.0f} ₽"
    assert lines[1] == f"Deal {deal.number}: Payment schedule"  # laid out with the deal
    assert lines[2] == f"Deal {deal.number}: Contract preparation → Contract signed"


def test_the_unit_card_offers_a_deal_on_a_unit_on_sale_only(client, units, buyer, manager, keeper):
    from kvartal.sales.selectors import deal_unit_panels

    client.force_login(manager)
    request = client.get(reverse("sales:deal-list")).wsgi_request
    (panel,) = deal_unit_panels(request, units[0])
    assert panel.context["can_open"]
    hold_create(unit=units[1], client=buyer, manager=manager, by=manager, days=3)
    units[1].refresh_from_db()
    assert deal_unit_panels(request, units[1]) == []  # the hold block offers it
    client.force_login(keeper)
    request = client.get(reverse("inventory:home")).wsgi_request
    assert deal_unit_panels(request, units[0]) == []


def test_the_deal_page_says_at_which_stage_the_unit_counts_as_sold(client, manager):
    """A deal counts as a sale only from the stage whose unit status is "sold"; the page
    names that stage (and says so when the flow has none)."""
    from kvartal.sales.tests.factories import make_deal

    deal = make_deal(manager=manager)
    sold = (
        deal.scheme.stages.filter(unit_status=UnitStatus.SOLD, is_termination=False)
        .order_by("order", "pk")
        .first()
    )
    client.force_login(manager)
    url = reverse("sales:deal-detail", args=[deal.pk])
    page = client.get(url).content.decode()
    assert (
        f"The unit counts as sold (in the sales figures and reports) from the stage "
        f"“{sold.label}”." in page
    )
    deal.scheme.stages.filter(unit_status=UnitStatus.SOLD).update(unit_status=UnitStatus.IN_DEAL)
    page = client.get(url).content.decode()
    assert "No stage of this flow marks the unit sold" in page


def test_the_deal_form_has_no_approver_and_a_managers_big_discount_is_refused(
    client, unit, buyer, manager, sales_head
):
    Unit.objects.filter(pk=unit.pk).update(price=Decimal("12000000"))
    client.force_login(manager)
    url = reverse("sales:deal-create") + f"?unit={unit.pk}"
    page = client.get(url).content.decode()
    assert 'name="approved_by"' not in page
    before = refusal_state()

    response = client.post(
        url,
        {
            "unit": unit.pk,
            "manager": manager.pk,
            "manual_discount": "400000",
            "approved_by": sales_head.pk,  # a picked approver is ignored
            "payment_method": "full",
            "contract_type": "ddu",
            "scheme": default_scheme().pk,
            "buyers-TOTAL_FORMS": "1",
            "buyers-INITIAL_FORMS": "0",
            "buyers-0-client": buyer.pk,
            "buyers-0-share_numerator": "1",
            "buyers-0-share_denominator": "1",
        },
    )

    assert response.status_code == 400
    assert "needs a sales head&#x27;s approval" in response.content.decode()
    assert refusal_state() == before


def test_a_swap_keeps_an_approval_only_while_the_discount_share_does_not_grow(
    units, buyer, manager, sales_head
):
    Unit.objects.filter(pk=units[0].pk).update(price=Decimal("12000000"))
    Unit.objects.filter(pk=units[1].pk).update(price=Decimal("10000000"))
    Unit.objects.filter(pk=units[2].pk).update(price=Decimal("13000000"))
    deal = open_deal(
        units[0], buyer, sales_head, manager=manager, manual_discount=Decimal("400000")
    )
    before = refusal_state()
    with pytest.raises(svc.DiscountNeedsApproval):  # 4 % of a cheaper flat: a head must say so
        svc.deal_swap_unit(deal=deal, unit=units[1], by=manager, reason="cheaper")
    assert refusal_state() == before
    svc.deal_swap_unit(deal=deal, unit=units[2], by=manager, reason="dearer")
    deal.refresh_from_db()
    assert (deal.price, deal.discount_approved_by) == (Decimal("12600000"), sales_head)


def test_a_flow_without_a_first_stage_is_refused_not_a_crash(unit, buyer, manager):
    scheme = StageScheme.objects.create(code="broken", name="Broken flow")
    Stage.objects.create(scheme=scheme, code="only", name="Only", order=1)
    before = refusal_state()
    with pytest.raises(svc.DealError, match="has no first stage"):
        open_deal(unit, buyer, manager, scheme=scheme)
    assert refusal_state() == before


def test_a_termination_needs_a_head_and_a_reason_even_if_the_flow_does_not_ask(
    unit, buyer, manager, sales_head
):
    deal = open_deal(unit, buyer, manager)
    end = Stage.objects.get(scheme=deal.scheme, is_termination=True)
    Stage.objects.filter(pk=end.pk).update(needs_approval=False, requires="")
    end.refresh_from_db()
    assert StageTransition.objects.filter(source=deal.stage, target=end).exists()
    before = refusal_state()
    with pytest.raises(svc.ApprovalRequired):
        svc.deal_move(deal=deal, stage=end, by=manager, reason="сам решил")
    with pytest.raises(svc.StageRequirementMissing, match="reason"):
        svc.deal_move(deal=deal, stage=end, by=sales_head, reason="  ")
    assert refusal_state() == before
    svc.deal_move(deal=deal, stage=end, by=sales_head, reason="Клиент отказался")
    deal.refresh_from_db()
    assert not deal.is_active and deal.termination_reason == "Клиент отказался"


def test_the_database_refuses_a_second_active_deal_on_a_unit(unit, buyer, manager):
    deal = open_deal(unit, buyer, manager)
    with pytest.raises(IntegrityError), transaction.atomic():
        Deal.objects.create(
            number="Д-дубль",
            unit=unit,
            scheme=deal.scheme,
            stage=deal.stage,
            manager=manager,
            list_price=deal.price,
            price=deal.price,
            area=deal.area,
        )
    assert Deal.objects.filter(unit=unit).count() == 1


def test_another_managers_deal_by_url_is_not_found_for_payments_and_termination(
    client, unit, buyer, manager, other_manager
):
    deal = open_deal(unit, buyer, manager)
    outsider_head = make_user(Role.SALES_HEAD, username="other-head")  # not this team's head
    before = refusal_state()

    client.force_login(other_manager)
    assert client.get(reverse("sales:deal-payments", args=[deal.pk])).status_code == 404
    posted = {"plan-payment_method": "instalments", "plan-months": "3"}
    url = reverse("sales:schedule-generate", args=[deal.pk])
    assert client.post(url, posted).status_code == 404

    client.force_login(outsider_head)
    url = reverse("sales:deal-terminate", args=[deal.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "не моя сделка"}).status_code == 404
    assert refusal_state() == before


def test_hold_and_deal_forms_take_the_client_from_the_query_when_visible(
    client, unit, buyer, manager, other_manager
):
    strangers = client_create(by=other_manager, last_name="Чужой")
    client.force_login(manager)

    form = client.get(reverse("sales:hold-create", args=[unit.pk]) + f"?client={buyer.pk}")
    assert form.context["form"]["client"].value() == buyer.pk
    form = client.get(reverse("sales:hold-create", args=[unit.pk]) + f"?client={strangers.pk}")
    assert form.context["form"]["client"].value() is None

    page = client.get(reverse("sales:deal-create") + f"?unit={unit.pk}&client={buyer.pk}")
    assert page.context["buyers"].forms[0]["client"].value() == buyer.pk
    page = client.get(reverse("sales:deal-create") + f"?unit={unit.pk}&client={strangers.pk}")
    assert page.context["buyers"].forms[0]["client"].value() is None


def test_client_pickers_offer_only_clients_in_use(client, unit, buyer, manager):
    erased = client_create(by=manager, last_name="Стёртый")
    merged = client_create(by=manager, last_name="Слитый")
    Client.objects.filter(pk=erased.pk).update(erased_at=timezone.now())
    Client.objects.filter(pk=merged.pk).update(merged_into=buyer)
    client.force_login(manager)

    hold_form = client.get(reverse("sales:hold-create", args=[unit.pk])).context["form"]
    deal_page = client.get(reverse("sales:deal-create") + f"?unit={unit.pk}")
    for queryset in (
        hold_form.fields["client"].queryset,
        deal_page.context["buyers"].forms[0].fields["client"].queryset,
    ):
        ids = set(queryset.values_list("pk", flat=True))
        assert buyer.pk in ids and erased.pk not in ids and merged.pk not in ids


def test_a_sales_head_sets_the_discount_a_manager_could_not_give_on_its_page(
    client, sales_head, manager
):
    from decimal import Decimal

    from django.urls import reverse

    from kvartal.accounts.models import Team
    from kvartal.sales.models import Deal
    from kvartal.sales.tests.factories import make_deal

    manager.team = Team.objects.create(name="Отдел 1", head=sales_head)
    manager.save()
    deal = make_deal(manager=manager)
    before = deal.price
    client.force_login(manager)
    assert client.get(reverse("sales:deal-discount", args=[deal.pk])).status_code == 403
    client.force_login(sales_head)
    url = reverse("sales:deal-discount", args=[deal.pk])
    response = client.post(url, {"manual_discount": "", "reason": ""})
    assert response.status_code in (200, 400)
    assert Deal.objects.get(pk=deal.pk).price == before  # refused: nothing changed
    response = client.post(url, {"manual_discount": "500000", "reason": "Торг при покупке"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.manual_discount == Decimal("500000")
    assert deal.price == before - Decimal("500000")
    assert deal.discount_approved_by == sales_head
    assert sum(line.amount for line in deal.schedule.all()) == deal.total_due
