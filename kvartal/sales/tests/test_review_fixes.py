"""The sales review's findings, each as a rule that failed before its fix."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Notice, Role
from kvartal.clients.models import Client
from kvartal.clients.services import client_create
from kvartal.core.testing import make_building, make_section, make_user
from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.sales.models import (
    Deal,
    DealEvent,
    Hold,
    HoldState,
    Payment,
    PaymentLine,
    QueueState,
    SalesSettings,
    Stage,
    StageScheme,
    StageTransition,
)
from kvartal.sales.services import deals as svc
from kvartal.sales.services.holds import (
    hold_create,
    holds_expire,
    queue_join,
)
from kvartal.sales.services.payments import schedule_generate, schedule_line_save
from kvartal.sales.tests.factories import default_scheme, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(keeper):
    SalesSettings.current()
    default_scheme()
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


def _open(unit, buyer, by, **kwargs):
    return svc.deal_open(unit=unit, buyers=[svc.BuyerShare(buyer)], by=by, **kwargs)


def state():
    """What a refused action must leave as it was."""
    return (
        list(
            Deal.objects.order_by("pk").values_list(
                "pk", "unit_id", "stage_id", "is_active", "price"
            )
        ),
        DealEvent.objects.count(),
        list(PaymentLine.objects.order_by("pk").values_list("pk", "amount", "due_date")),
        Payment.objects.count(),
        list(Hold.objects.order_by("pk").values_list("pk", "state")),
        StatusChange.objects.count(),
        list(Unit.objects.order_by("pk").values_list("pk", "status", "price", "pending_price")),
    )


# --- 1. a manager cannot approve their own discount ---------------------------------------


def test_the_deal_form_has_no_approver_and_a_managers_big_discount_is_refused(
    client, unit, buyer, manager, sales_head
):
    Unit.objects.filter(pk=unit.pk).update(price=Decimal("12000000"))
    client.force_login(manager)
    url = reverse("sales:deal-create") + f"?unit={unit.pk}"
    page = client.get(url).content.decode()
    assert 'name="approved_by"' not in page
    before = state()

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
    assert state() == before


def test_a_swap_keeps_an_approval_only_while_the_discount_share_does_not_grow(
    units, buyer, manager, sales_head
):
    Unit.objects.filter(pk=units[0].pk).update(price=Decimal("12000000"))
    Unit.objects.filter(pk=units[1].pk).update(price=Decimal("10000000"))
    Unit.objects.filter(pk=units[2].pk).update(price=Decimal("13000000"))
    deal = _open(units[0], buyer, sales_head, manager=manager, manual_discount=Decimal("400000"))
    before = state()
    with pytest.raises(svc.DiscountNeedsApproval):  # 4 % of a cheaper flat: a head must say so
        svc.deal_swap_unit(deal=deal, unit=units[1], by=manager, reason="cheaper")
    assert state() == before
    svc.deal_swap_unit(deal=deal, unit=units[2], by=manager, reason="dearer")
    deal.refresh_from_db()
    assert (deal.price, deal.discount_approved_by) == (Decimal("12600000"), sales_head)


# --- 2. hold history shows no client to anyone ---------------------------------------------


def test_a_units_status_history_names_no_client(unit, buyer, manager, sales_head):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    from kvartal.sales.services.holds import hold_cancel, hold_extend

    hold_extend(hold=hold, by=manager, days=1, reason="Петров ждёт ипотеку")
    hold_cancel(hold=hold, by=manager, reason="Петров передумал")
    reasons = " ".join(StatusChange.objects.filter(unit=unit).values_list("reason", flat=True))
    assert "Held (oral hold, until " in reasons
    assert "Петров" not in reasons


# --- 4. the queue does not outlive a deal ---------------------------------------------------


def test_a_hold_turning_into_a_deal_closes_the_queue_and_tells_its_managers(
    unit, buyer, manager, other_manager, sales_head
):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    waiting = client_create(by=other_manager, last_name="Очередной")
    entry = queue_join(unit=unit, client=waiting, manager=other_manager, by=other_manager)

    deal = svc.deal_open(hold=hold, buyers=[svc.BuyerShare(buyer)], by=manager)

    entry.refresh_from_db()
    assert entry.state == QueueState.WITHDRAWN
    assert entry.end_reason == "The unit went into a deal" and entry.ended_at is not None
    notice = Notice.objects.get(user=other_manager)
    assert "went into a deal" in notice.text and "Очередной" in notice.text

    # Terminated later: the unit is back on sale, nobody stale grabs it.
    svc.deal_terminate(deal=deal, by=sales_head, reason="Ипотека не одобрена")
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE
    assert not Hold.objects.filter(unit=unit, state=HoldState.ACTIVE).exists()
    assert holds_expire(timezone.now() + timedelta(days=30)) == 0
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE


# --- 5. the schedule is enforced ------------------------------------------------------------


def test_the_contract_is_not_signed_with_a_schedule_that_does_not_add_up(unit, buyer, manager):
    deal = _open(unit, buyer, manager)
    line = deal.schedule.get()
    schedule_line_save(
        deal=deal, by=manager, line=line, due_date=line.due_date, amount="1000", kind="lump_sum"
    )
    before = state()
    with pytest.raises(svc.StageRequirementMissing, match="correct the schedule"):
        svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    assert state() == before

    schedule_generate(deal=deal, by=manager)
    svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    deal.refresh_from_db()
    assert deal.stage == stage("signed")


def test_an_instalment_deal_opens_with_its_default_schedule(unit, buyer, manager):
    deal = _open(unit, buyer, manager, payment_method="instalments")
    lines = list(deal.schedule.all())
    assert len(lines) == 13  # 20 % down, then 12 months
    assert sum(line.amount for line in lines) == deal.total_due


# --- 6. expiry is dated when the hold ran out -------------------------------------------------


def test_an_expiry_is_dated_at_the_end_of_the_hold_not_when_the_job_ran(unit, buyer, manager):
    hold = hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    holds_expire(hold.expires_at + timedelta(days=5))
    hold.refresh_from_db()
    event = hold.events.get(kind="expired")
    change = StatusChange.objects.filter(unit=unit).latest("pk")
    assert (change.old_status, change.new_status) == ("reserved", "available")
    assert event.at == change.at == hold.ended_at == hold.expires_at


# --- 8. absurd input is a message, not a 500 ------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["changed_to=9999-12-31", "changed_from=0001-01-01", "sold_to=9999-12-31&sold_from=2020-01-01"],
)
def test_the_unit_search_refuses_days_off_the_calendar(client, manager, query):
    client.force_login(manager)
    response = client.get(reverse("sales:unit-search") + "?" + query)
    assert response.status_code == 400
    assert "Choose a day from 1900 to 2999." in response.content.decode()


def test_a_schedule_running_past_year_9999_is_refused(client, unit, buyer, manager):
    deal = _open(unit, buyer, manager)
    before = state()
    with pytest.raises(Exception) as error:
        schedule_generate(
            deal=deal, by=manager, first_due=date(9999, 12, 1), payment_method="instalments"
        )
    assert "past the end of the calendar" in str(error.value)
    assert state() == before
    client.force_login(manager)
    response = client.post(
        reverse("sales:deal-payments", args=[deal.pk]),
        {
            "action": "generate",
            "plan-payment_method": "instalments",
            "plan-first_due": "9999-12-01",
            "plan-months": "12",
        },
    )
    assert response.status_code == 400
    assert "past the end of the calendar" in response.content.decode()
    assert state() == before


def test_deleting_a_schedule_line_that_is_not_a_number_is_a_message(client, unit, buyer, manager):
    deal = _open(unit, buyer, manager)
    client.force_login(manager)
    before = state()
    response = client.post(
        reverse("sales:deal-payments", args=[deal.pk]), {"action": "delete", "line": "abc"}
    )
    assert response.status_code == 400
    assert "no longer in the schedule" in response.content.decode()
    assert state() == before


def test_a_flow_without_a_first_stage_is_refused_not_a_crash(unit, buyer, manager):
    scheme = StageScheme.objects.create(code="broken", name="Broken flow")
    Stage.objects.create(scheme=scheme, code="only", name="Only", order=1)
    before = state()
    with pytest.raises(svc.DealError, match="has no first stage"):
        _open(unit, buyer, manager, scheme=scheme)
    assert state() == before


# --- 9. a termination needs a sales head and a reason whatever the flow says -----------------


def test_a_termination_needs_a_head_and_a_reason_even_if_the_flow_does_not_ask(
    unit, buyer, manager, sales_head
):
    deal = _open(unit, buyer, manager)
    end = Stage.objects.get(scheme=deal.scheme, is_termination=True)
    Stage.objects.filter(pk=end.pk).update(needs_approval=False, requires="")
    end.refresh_from_db()
    assert StageTransition.objects.filter(source=deal.stage, target=end).exists()
    before = state()
    with pytest.raises(svc.ApprovalRequired):
        svc.deal_move(deal=deal, stage=end, by=manager, reason="сам решил")
    with pytest.raises(svc.StageRequirementMissing, match="reason"):
        svc.deal_move(deal=deal, stage=end, by=sales_head, reason="  ")
    assert state() == before
    svc.deal_move(deal=deal, stage=end, by=sales_head, reason="Клиент отказался")
    deal.refresh_from_db()
    assert not deal.is_active and deal.termination_reason == "Клиент отказался"


# --- 11. the database's backstops, and other people's deals by URL --------------------------


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


def test_the_database_refuses_a_second_active_deal_on_a_unit(unit, buyer, manager):
    deal = _open(unit, buyer, manager)
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
    deal = _open(unit, buyer, manager)
    outsider_head = make_user(Role.SALES_HEAD, username="other-head")  # not this team's head
    before = state()

    client.force_login(other_manager)
    url = reverse("sales:deal-payments", args=[deal.pk])
    assert client.get(url).status_code == 404
    posted = {"action": "generate", "plan-payment_method": "instalments", "plan-months": "3"}
    assert client.post(url, posted).status_code == 404

    client.force_login(outsider_head)
    url = reverse("sales:deal-terminate", args=[deal.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "не моя сделка"}).status_code == 404
    assert state() == before


# --- clients: ?client= and pickers of clients in use only -----------------------------------


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
