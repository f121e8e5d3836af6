"""Holds: who may hold what for how long, what the unit shows, and what history says."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Notice, Role
from kvartal.clients.models import Client
from kvartal.clients.services import client_create
from kvartal.inventory import services as inventory
from kvartal.inventory.models import PriceChange, StatusChange, Unit, UnitStatus
from kvartal.sales.availability import unit_blocker
from kvartal.sales.models import (
    Hold,
    HoldEvent,
    HoldKind,
    HoldState,
    HoldTerm,
    QueueEntry,
    QueueState,
    SalesSettings,
)
from kvartal.sales.services import deals as deal_svc
from kvartal.sales.services import holds as svc
from kvartal.sales.services.holds import (
    hold_create,
    holds_expire,
    queue_join,
)
from kvartal.sales.tests.factories import stage
from kvartal.testing import make_building, make_section, make_user


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


def _hold(unit, buyer, manager, **kwargs):
    kwargs.setdefault("days", 3)
    return svc.hold_create(unit=unit, client=buyer, manager=manager, by=manager, **kwargs)


def snapshot():
    """Everything a refused action must leave as it was."""
    return (
        list(Hold.objects.order_by("pk").values_list("pk", "state", "expires_at", "extensions")),
        HoldEvent.objects.count(),
        StatusChange.objects.count(),
        PriceChange.objects.count(),
        list(Unit.objects.order_by("pk").values_list("pk", "status", "hold_until", "price")),
        QueueEntry.objects.count(),
        Notice.objects.count(),
    )


# --- holding ------------------------------------------------------------------------------


def test_a_hold_reserves_the_unit_at_its_price_until_the_end(unit, buyer, manager):
    hold = _hold(unit, buyer, manager, days=3, basis="mortgage", comment="waits for the bank")

    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED
    assert unit.hold_until == hold.expires_at
    assert hold.price == unit.price
    assert hold.state == HoldState.ACTIVE
    assert hold.expires_at - hold.starts_at == timedelta(days=3)
    (event,) = hold.events.all()
    assert (event.kind, event.actor, event.new_expires_at) == ("created", manager, hold.expires_at)
    change = StatusChange.objects.filter(unit=unit).latest("at")
    assert (change.old_status, change.new_status, change.actor) == (
        "available",
        "reserved",
        manager,
    )


def test_the_shipped_term_presets_are_1_3_7_and_14_days(db):
    assert list(HoldTerm.objects.filter(is_active=True).values_list("days", flat=True)) == [
        1,
        3,
        7,
        14,
    ]


def test_a_paid_reservation_keeps_amount_and_receipt(unit, buyer, manager):
    hold = _hold(
        unit, buyer, manager, kind=HoldKind.PAID, amount=Decimal("50000"), receipt_number="R-17"
    )

    hold.refresh_from_db()
    assert (hold.kind, hold.amount, hold.receipt_number) == ("paid", Decimal("50000"), "R-17")


def test_the_price_is_frozen_while_held_and_the_new_one_applies_after(unit, buyer, manager, keeper):
    old = unit.price
    hold = _hold(unit, buyer, manager)
    inventory.unit_set_price(unit=unit, price=old + 100000, by=keeper, reason="new list")

    unit.refresh_from_db()
    assert unit.price == old == hold.price
    assert unit.pending_price == old + 100000

    svc.hold_cancel(hold=hold, by=manager, reason="client changed their mind")

    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE
    assert unit.price == old + 100000 and unit.pending_price is None
    change = PriceChange.objects.filter(unit=unit).latest("at")
    assert (change.old_price, change.new_price) == (old, old + 100000)


def test_a_custom_end_date_within_the_managers_limit(unit, buyer, manager):
    end = timezone.now() + timedelta(days=10, hours=5)
    hold = _hold(unit, buyer, manager, days=None, expires_at=end)
    assert hold.expires_at == end


def test_a_sales_head_may_hold_longer_than_a_manager(units, buyer, manager, sales_head):
    settings = SalesSettings.current()
    days = settings.manager_max_hold_days + 10
    assert days <= settings.head_max_hold_days
    hold = svc.hold_create(unit=units[0], client=buyer, manager=manager, by=sales_head, days=days)
    assert hold.expires_at - hold.starts_at == timedelta(days=days)


# --- bad input: refused, nothing changed ------------------------------------------------------


def _sold(unit, manager):
    """A real sale: a deal on the unit, signed and registered (the unit counts as sold)."""

    from kvartal.sales.services.deals import deal_move
    from kvartal.sales.tests.factories import make_deal

    deal = make_deal(manager=manager, unit=unit)
    deal_move(deal=deal, stage=stage("signed"), by=manager)
    deal_move(
        deal=deal,
        stage=stage("registered"),
        by=manager,
        registration_number="66:01/1",
        registration_date=date(2026, 3, 1),
    )
    unit.refresh_from_db()
    assert unit.status == UnitStatus.SOLD
    return deal


def test_cannot_hold_a_sold_unit(unit, buyer, manager, keeper):
    _sold(unit, manager)
    before = snapshot()

    with pytest.raises(svc.UnitNotAvailable, match="already sold"):
        _hold(unit, buyer, manager)

    assert snapshot() == before


def test_cannot_hold_a_held_unit_twice(unit, buyer, manager):
    _hold(unit, buyer, manager)
    other = client_create(
        by=manager, last_name="Сидорова", first_name="Мария", phone="+79120000001"
    )
    before = snapshot()

    with pytest.raises(svc.UnitNotAvailable, match="already held|not available"):
        _hold(unit, other, manager)

    assert snapshot() == before


def test_cannot_hold_beyond_the_managers_term(unit, buyer, manager):
    limit = SalesSettings.current().manager_max_hold_days
    before = snapshot()

    with pytest.raises(svc.HoldTermRefused, match=f"at most {limit} days"):
        _hold(unit, buyer, manager, days=limit + 1)

    assert snapshot() == before


def test_cannot_hold_until_a_past_date(unit, buyer, manager):
    before = snapshot()
    with pytest.raises(svc.HoldTermRefused, match="later than it starts"):
        _hold(unit, buyer, manager, days=None, expires_at=timezone.now() - timedelta(hours=1))
    assert snapshot() == before


def test_a_paid_hold_needs_an_amount(unit, buyer, manager):
    before = snapshot()
    with pytest.raises(svc.PaymentRequired, match="amount paid"):
        _hold(unit, buyer, manager, kind=HoldKind.PAID, amount=None, receipt_number="R-1")
    with pytest.raises(svc.PaymentRequired, match="receipt number"):
        _hold(unit, buyer, manager, kind=HoldKind.PAID, amount=Decimal("1000"))
    assert snapshot() == before


def test_cancelling_needs_a_reason(unit, buyer, manager):
    hold = _hold(unit, buyer, manager)
    before = snapshot()

    with pytest.raises(svc.ReasonRequired, match="reason"):
        svc.hold_cancel(hold=hold, by=manager, reason="  ")

    assert snapshot() == before


# --- extending --------------------------------------------------------------------------------


def test_a_manager_extends_once_within_the_limit(unit, buyer, manager):
    hold = _hold(unit, buyer, manager, days=3)
    old_end = hold.expires_at

    svc.hold_extend(hold=hold, by=manager, days=2, reason="bank asked for a week")

    hold.refresh_from_db()
    unit.refresh_from_db()
    assert hold.expires_at == old_end + timedelta(days=2) == unit.hold_until
    assert hold.extensions == 1
    event = hold.events.get(kind="extended")
    assert (event.old_expires_at, event.new_expires_at) == (old_end, hold.expires_at)
    assert event.reason == "bank asked for a week"

    before = snapshot()
    with pytest.raises(svc.ExtensionRefused, match="at most 1 time"):
        svc.hold_extend(hold=hold, by=manager, days=1, reason="again")
    assert snapshot() == before


def test_cannot_extend_beyond_the_role_limit_from_now(unit, buyer, manager):
    hold = _hold(unit, buyer, manager, days=3)
    limit = SalesSettings.current().manager_max_hold_days
    before = snapshot()

    with pytest.raises(svc.ExtensionRefused, match=f"at most {limit} days from now"):
        svc.hold_extend(hold=hold, by=manager, days=limit, reason="long mortgage")

    assert snapshot() == before


def test_extending_needs_a_reason(unit, buyer, manager):
    hold = _hold(unit, buyer, manager)
    before = snapshot()
    with pytest.raises(svc.ReasonRequired):
        svc.hold_extend(hold=hold, by=manager, days=1, reason="")
    assert snapshot() == before


def test_a_sales_head_extends_more_than_once(unit, buyer, manager, sales_head):
    hold = _hold(unit, buyer, manager, days=3)
    svc.hold_extend(hold=hold, by=manager, days=1, reason="one")
    svc.hold_extend(hold=hold, by=sales_head, days=20, reason="two")
    svc.hold_extend(hold=hold, by=sales_head, days=1, reason="three")
    hold.refresh_from_db()
    assert hold.extensions == 3


# --- converting -------------------------------------------------------------------------------


def test_converting_ends_the_hold_but_leaves_the_unit_to_the_deal(unit, buyer, manager):
    hold = _hold(unit, buyer, manager)

    svc.hold_convert(hold=hold, by=manager)

    hold.refresh_from_db()
    unit.refresh_from_db()
    assert hold.state == HoldState.CONVERTED and hold.ended_by == manager
    assert hold.events.filter(kind="converted").count() == 1
    assert unit.status == UnitStatus.RESERVED  # the deal service moves it to in_deal


def test_an_ended_hold_cannot_be_converted(unit, buyer, manager):
    hold = _hold(unit, buyer, manager)
    svc.hold_cancel(hold=hold, by=manager, reason="no")
    before = snapshot()

    with pytest.raises(svc.HoldNotLive):
        svc.hold_convert(hold=hold, by=manager)

    assert snapshot() == before


def test_an_expired_hold_cannot_be_converted(unit, buyer, manager):
    start = timezone.now() - timedelta(days=2)
    hold = _hold(unit, buyer, manager, days=1, at=start)
    with pytest.raises(svc.HoldNotLive):
        svc.hold_convert(hold=hold, by=manager)


# --- expiry -----------------------------------------------------------------------------------


def test_an_expired_hold_reads_as_available_at_once(unit, buyer, manager):
    _hold(unit, buyer, manager, days=1, at=timezone.now() - timedelta(days=2))

    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED  # not finalised yet
    assert unit.effective_status() == UnitStatus.AVAILABLE
    assert Unit.objects.on_sale().filter(pk=unit.pk).exists()
    assert unit_blocker(unit) is None


def test_the_tick_finalises_expired_holds_and_tells_the_manager(units, buyer, manager):
    past = timezone.now() - timedelta(days=2)
    expired = _hold(units[0], buyer, manager, days=1, at=past)
    live = _hold(units[1], buyer, manager, days=3)

    call_command("sales_tick")

    expired.refresh_from_db()
    live.refresh_from_db()
    assert expired.state == HoldState.EXPIRED and live.state == HoldState.ACTIVE
    assert expired.events.filter(kind="expired").count() == 1
    units[0].refresh_from_db()
    assert (units[0].status, units[0].hold_until) == (UnitStatus.AVAILABLE, None)
    (notice,) = Notice.objects.filter(user=manager)
    assert "expired" in notice.text
    assert notice.url == reverse("inventory:unit-detail", args=[units[0].pk])
    # idempotent
    assert svc.holds_expire() == 0


def test_holding_a_unit_whose_hold_ran_out_finalises_the_old_one(unit, buyer, manager):
    old = _hold(unit, buyer, manager, days=1, at=timezone.now() - timedelta(days=2))
    other = client_create(by=manager, last_name="Новая", first_name="Ольга", phone="+79120000002")

    new = _hold(unit, other, manager)

    old.refresh_from_db()
    assert old.state == HoldState.EXPIRED
    assert new.state == HoldState.ACTIVE
    moves = StatusChange.objects.filter(unit=unit).order_by("pk")
    assert list(moves.values_list("old_status", "new_status"))[-3:] == [
        ("available", "reserved"),
        ("reserved", "available"),
        ("available", "reserved"),
    ]


# --- the queue --------------------------------------------------------------------------------


def test_the_first_in_the_queue_gets_the_unit_when_the_hold_is_cancelled(unit, buyer, manager):
    hold = _hold(unit, buyer, manager)
    other_manager = make_user(Role.SALES_MANAGER)
    second = client_create(
        by=other_manager, last_name="Вторая", first_name="А", phone="+79120000003"
    )
    third = client_create(by=manager, last_name="Третий", first_name="Б", phone="+79120000004")
    first_entry = svc.queue_join(unit=unit, client=second, manager=other_manager, by=other_manager)
    svc.queue_join(unit=unit, client=third, manager=manager, by=manager)

    svc.hold_cancel(hold=hold, by=manager, reason="refused")

    first_entry.refresh_from_db()
    assert first_entry.state == QueueState.GRANTED
    granted = first_entry.hold
    assert (granted.client, granted.manager, granted.state) == (second, other_manager, "active")
    days = SalesSettings.current().queue_hold_days
    assert granted.expires_at - granted.starts_at == timedelta(days=days)
    unit.refresh_from_db()
    assert (unit.status, unit.hold_until) == (UnitStatus.RESERVED, granted.expires_at)
    assert QueueEntry.objects.filter(unit=unit, state="waiting").get().client == third
    assert Notice.objects.filter(user=other_manager, text__contains="first in the queue").exists()


def test_the_queue_moves_when_a_hold_expires(unit, buyer, manager):
    _hold(unit, buyer, manager, days=1, at=timezone.now() - timedelta(days=3))
    second = client_create(by=manager, last_name="Вторая", first_name="А", phone="+79120000005")
    # joined while the hold was still live
    QueueEntry.objects.create(unit=unit, client=second, manager=manager)

    assert svc.holds_expire() == 1

    assert Hold.objects.get(unit=unit, state="active").client == second


def test_a_withdrawn_entry_is_skipped(unit, buyer, manager):
    hold = _hold(unit, buyer, manager)
    second = client_create(by=manager, last_name="Вторая", first_name="А", phone="+79120000006")
    entry = svc.queue_join(unit=unit, client=second, manager=manager, by=manager)
    svc.queue_withdraw(entry=entry, by=manager)

    svc.hold_cancel(hold=hold, by=manager, reason="refused")

    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE
    assert not Hold.objects.filter(state="active").exists()


def test_cannot_queue_for_a_unit_that_is_not_held(unit, buyer, manager):
    before = snapshot()
    with pytest.raises(svc.QueueRefused, match="not held"):
        svc.queue_join(unit=unit, client=buyer, manager=manager, by=manager)
    assert snapshot() == before


def test_the_holder_cannot_queue_and_nobody_queues_twice(unit, buyer, manager):
    _hold(unit, buyer, manager)
    second = client_create(by=manager, last_name="Вторая", first_name="А", phone="+79120000007")
    svc.queue_join(unit=unit, client=second, manager=manager, by=manager)
    before = snapshot()
    with pytest.raises(svc.QueueRefused, match="already holds"):
        svc.queue_join(unit=unit, client=buyer, manager=manager, by=manager)
    with pytest.raises(svc.QueueRefused, match="already in the queue"):
        svc.queue_join(unit=unit, client=second, manager=manager, by=manager)
    assert snapshot() == before


# --- pages ------------------------------------------------------------------------------------


def test_a_manager_holds_a_unit_for_a_new_client_from_the_form(client, unit, manager):
    client.force_login(manager)
    url = reverse("sales:hold-create", args=[unit.pk])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "last_name": "Смирнов",
            "first_name": "Олег",
            "phone": "+79125550011",
            "manager": manager.pk,
            "kind": "free",
            "term": "7",
            "basis": "trade_in",
            "comment": "sells his flat",
        },
    )

    assert response.status_code == 302
    hold = Hold.objects.get(unit=unit)
    assert (hold.client.last_name, hold.client.manager, hold.manager) == (
        "Смирнов",
        manager,
        manager,
    )
    assert (hold.kind, hold.basis) == ("free", "trade_in")
    assert hold.expires_at - hold.starts_at == timedelta(days=7)


def test_the_form_refuses_a_held_unit_with_a_clear_message(client, unit, buyer, manager):
    _hold(unit, buyer, manager)
    client.force_login(manager)
    before = snapshot()

    response = client.post(
        reverse("sales:hold-create", args=[unit.pk]),
        {"client": buyer.pk, "manager": manager.pk, "kind": "oral", "term": "3", "basis": "other"},
    )

    assert response.status_code == 409
    assert "is already held" in response.content.decode() or "not available" in (
        response.content.decode()
    )
    assert snapshot() == before


def test_a_paid_hold_without_amount_is_refused_by_the_form(client, unit, buyer, manager):
    client.force_login(manager)
    before = snapshot()

    response = client.post(
        reverse("sales:hold-create", args=[unit.pk]),
        {"client": buyer.pk, "manager": manager.pk, "kind": "paid", "term": "3", "basis": "funds"},
    )

    assert response.status_code == 409
    assert "needs the amount paid" in response.content.decode()
    assert snapshot() == before


def test_a_refused_hold_for_a_new_client_creates_no_client(client, unit, buyer, manager, keeper):

    _sold(unit, manager)
    client.force_login(manager)
    clients = Client.objects.count()

    response = client.post(
        reverse("sales:hold-create", args=[unit.pk]),
        {
            "last_name": "Новый",
            "first_name": "Клиент",
            "phone": "+79125550012",
            "manager": manager.pk,
            "kind": "oral",
            "term": "3",
            "basis": "other",
        },
    )

    assert response.status_code == 409
    assert Client.objects.count() == clients


def test_cancelling_from_the_page_needs_a_reason(client, unit, buyer, manager):
    hold = _hold(unit, buyer, manager)
    client.force_login(manager)
    before = snapshot()

    response = client.post(reverse("sales:hold-cancel", args=[hold.pk]), {"reason": ""})

    assert response.status_code == 400
    assert snapshot() == before
    response = client.post(reverse("sales:hold-cancel", args=[hold.pk]), {"reason": "bank said no"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert (hold.state, hold.end_reason) == ("cancelled", "bank said no")


def test_extending_beyond_the_limit_from_the_page_changes_nothing(client, unit, buyer, manager):
    hold = _hold(unit, buyer, manager)
    client.force_login(manager)
    far = timezone.localtime() + timedelta(days=60)
    before = snapshot()

    response = client.post(
        reverse("sales:hold-extend", args=[hold.pk]),
        {"term": "custom", "expires_at": far.strftime("%Y-%m-%dT%H:%M"), "reason": "mortgage"},
    )

    assert response.status_code == 409
    assert "days from now" in response.content.decode()
    assert snapshot() == before


def test_an_ended_hold_offers_no_form_and_says_why(client, unit, buyer, manager):
    """The extend and cancel pages of a hold that ended said so only after the form was
    filled and sent; a manager who used their extension was offered the form again."""
    hold = _hold(unit, buyer, manager)
    client.force_login(manager)
    extend, cancel = (reverse(f"sales:hold-{a}", args=[hold.pk]) for a in ("extend", "cancel"))
    for url in (extend, cancel):
        page = client.get(url).content.decode()
        assert 'name="reason"' in page and "This hold has already ended." not in page

    allowed = svc.max_extensions(manager, SalesSettings.current())
    for _ in range(allowed):
        svc.hold_extend(hold=hold, by=manager, reason="банк", days=1)
    page = client.get(extend).content.decode()
    assert 'name="reason"' not in page
    assert "ask a sales head" in page
    assert 'name="reason"' in client.get(cancel).content.decode()

    svc.hold_cancel(hold=hold, by=manager, reason="передумал")
    for url in (extend, cancel):
        page = client.get(url).content.decode()
        assert 'name="reason"' not in page
        assert "This hold has already ended." in page
    before = snapshot()
    assert client.post(cancel, {"reason": "ещё раз"}).status_code == 409
    assert snapshot() == before


def test_another_managers_hold_is_not_found(client, unit, buyer, manager):
    hold = _hold(unit, buyer, manager)
    stranger = make_user(Role.SALES_MANAGER)
    client.force_login(stranger)
    before = snapshot()

    assert client.get(reverse("sales:hold-extend", args=[hold.pk])).status_code == 404
    assert (
        client.post(reverse("sales:hold-cancel", args=[hold.pk]), {"reason": "x"}).status_code
        == 404
    )
    assert snapshot() == before


def test_a_director_reads_but_does_not_hold(client, unit, buyer, manager, director):
    hold = _hold(unit, buyer, manager)
    client.force_login(director)
    before = snapshot()

    assert client.get(reverse("sales:hold-list")).status_code == 200
    assert (
        client.post(reverse("sales:hold-cancel", args=[hold.pk]), {"reason": "x"}).status_code
        == 403
    )
    html = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()
    assert "Петров Иван" in html and reverse("sales:hold-cancel", args=[hold.pk]) not in html
    assert snapshot() == before


def test_the_holds_list_is_scoped_and_filters_ending_soon(client, units, buyer, manager):
    mine_soon = _hold(units[0], buyer, manager, days=1, at=timezone.now() - timedelta(hours=20))
    mine_later = _hold(units[1], buyer, manager, days=5)
    other_manager = make_user(Role.SALES_MANAGER)
    theirs_client = client_create(by=other_manager, last_name="Чужой", first_name="К")
    theirs = svc.hold_create(
        unit=units[2], client=theirs_client, manager=other_manager, by=other_manager, days=2
    )
    client.force_login(manager)

    listed = client.get(reverse("sales:hold-list")).context["page"].object_list
    assert [h.pk for h in listed] == [mine_soon.pk, mine_later.pk]
    listed = client.get(reverse("sales:hold-list"), {"show": "ending"}).context["page"]
    assert [h.pk for h in listed.object_list] == [mine_soon.pk]

    client.force_login(make_user(Role.DIRECTOR))
    listed = client.get(reverse("sales:hold-list")).context["page"].object_list
    assert {h.pk for h in listed} == {mine_soon.pk, mine_later.pk, theirs.pk}


def test_the_card_offers_hold_to_sellers_and_then_the_deal_link(client, unit, manager):
    client.force_login(manager)
    html = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()
    assert reverse("sales:hold-create", args=[unit.pk]) in html

    buyer = client_create(by=manager, last_name="Карточкин", first_name="П")
    hold = _hold(unit, buyer, manager)
    html = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()
    assert reverse("sales:hold-create", args=[unit.pk]) not in html
    assert f"{reverse('sales:deal-create')}?hold={hold.pk}" in html


def test_the_queue_from_the_pages(client, unit, buyer, manager):
    _hold(unit, buyer, manager)
    client.force_login(manager)

    response = client.post(
        reverse("sales:queue-join", args=[unit.pk]),
        {
            "last_name": "Очередной",
            "first_name": "В",
            "phone": "+79125550013",
            "manager": manager.pk,
        },
    )

    assert response.status_code == 302
    entry = QueueEntry.objects.get(unit=unit)
    html = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()
    assert "Очередной В" in html
    response = client.post(reverse("sales:queue-withdraw", args=[entry.pk]))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.state == "withdrawn"


def test_notices_page_lists_and_marks_read(client, unit, buyer, manager):
    _hold(unit, buyer, manager, days=1, at=timezone.now() - timedelta(days=2))
    svc.holds_expire()
    client.force_login(manager)

    html = client.get(reverse("sales:notices")).content.decode()
    assert "has expired" in html and 'class="unread"' in html

    client.post(reverse("sales:notices-read"))
    assert not Notice.objects.filter(user=manager, read_at__isnull=True).exists()


def test_a_units_status_history_names_no_client(unit, buyer, manager, sales_head):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    from kvartal.sales.services.holds import hold_cancel, hold_extend

    hold_extend(hold=hold, by=manager, days=1, reason="Петров ждёт ипотеку")
    hold_cancel(hold=hold, by=manager, reason="Петров передумал")
    reasons = " ".join(StatusChange.objects.filter(unit=unit).values_list("reason", flat=True))
    assert "Held (oral hold, until " in reasons
    assert "Петров" not in reasons


def test_a_hold_turning_into_a_deal_closes_the_queue_and_tells_its_managers(
    unit, buyer, manager, other_manager, sales_head
):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    waiting = client_create(by=other_manager, last_name="Очередной")
    entry = queue_join(unit=unit, client=waiting, manager=other_manager, by=other_manager)

    deal = deal_svc.deal_open(hold=hold, buyers=[deal_svc.BuyerShare(buyer)], by=manager)

    entry.refresh_from_db()
    assert entry.state == QueueState.WITHDRAWN
    assert entry.end_reason == "The unit went into a deal" and entry.ended_at is not None
    notice = Notice.objects.get(user=other_manager)
    assert "went into a deal" in notice.text and "Очередной" in notice.text

    # Terminated later: the unit is back on sale, nobody stale grabs it.
    deal_svc.deal_terminate(deal=deal, by=sales_head, reason="Ипотека не одобрена")
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE
    assert not Hold.objects.filter(unit=unit, state=HoldState.ACTIVE).exists()
    assert holds_expire(timezone.now() + timedelta(days=30)) == 0
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE


def test_an_expiry_is_dated_at_the_end_of_the_hold_not_when_the_job_ran(unit, buyer, manager):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    holds_expire(hold.expires_at + timedelta(days=5))
    hold.refresh_from_db()
    event = hold.events.get(kind="expired")
    change = StatusChange.objects.filter(unit=unit).latest("pk")
    assert (change.old_status, change.new_status) == ("reserved", "available")
    assert event.at == change.at == hold.ended_at == hold.expires_at


def test_the_database_refuses_a_second_active_hold_on_a_unit(unit, buyer, manager):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        Hold.objects.create(
            unit=unit,
            client=buyer,
            manager=manager,
            price=hold.price,
            expires_at=timezone.now() + timedelta(days=1),
        )
    assert Hold.objects.filter(unit=unit).count() == 1
