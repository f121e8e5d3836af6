"""What a deal may do next (swap, discount, BTI, terminate) is one predicate on the deal: the
card offers an action exactly when the service would accept it from that user."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from kvartal.accounts.models import Role, Team
from kvartal.clients.services import client_create
from kvartal.core.errors import DomainError
from kvartal.inventory.models import Unit
from kvartal.sales.models import Deal
from kvartal.sales.services import deals as svc
from kvartal.sales.tests.factories import stage
from kvartal.testing import make_building, make_section, make_user

ACTIONS = {
    # action: (predicate, the URL the card links or posts to, the service call)
    "swap": (
        Deal.can_swap,
        "sales:deal-swap",
        lambda deal, user, spare: svc.deal_swap_unit(deal=deal, unit=spare, by=user, reason="r"),
    ),
    "discount": (
        Deal.can_discount,
        "sales:deal-discount",
        lambda deal, user, spare: svc.deal_set_discount(
            deal=deal, manual_discount=Decimal(1000), by=user, reason="r"
        ),
    ),
    "bti": (
        Deal.can_bti,
        "sales:deal-bti",
        lambda deal, user, spare: svc.deal_record_bti(deal=deal, bti_area=Decimal("40"), by=user),
    ),
    "units": (
        Deal.can_change_units,
        "sales:deal-unit-add",
        lambda deal, user, spare: svc.deal_add_unit(deal=deal, unit=spare, by=user),
    ),
    "terminate": (
        Deal.can_terminate,
        "sales:deal-terminate",
        lambda deal, user, spare: svc.deal_terminate(deal=deal, by=user, reason="r"),
    ),
}


def _deal_in(state: str, manager, units):
    unit, spare = units
    buyer = client_create(by=manager, last_name="Правилов", first_name="Иван")
    deal = svc.deal_open(unit=unit, buyers=[svc.BuyerShare(buyer)], by=manager)
    if state == "signed":
        svc.deal_move(deal=deal, stage=stage("signed"), by=manager)
    elif state == "measured":
        svc.deal_record_bti(deal=deal, bti_area=Decimal("30"), by=manager)
    elif state == "terminated":
        head = make_user(Role.SALES_HEAD)
        svc.deal_terminate(deal=deal, by=head, reason="отказ")
    return Deal.objects.select_related("stage").get(pk=deal.pk)


def _service_accepts(call, deal, user, spare) -> bool:
    with transaction.atomic():
        try:
            call(deal, user, spare)
        except DomainError:
            return False
        transaction.set_rollback(True)  # accepted: undo, the next action starts afresh
    return True


@pytest.mark.parametrize("state", ["new", "signed", "measured", "terminated"])
@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SALES_HEAD, Role.CASHIER])
def test_the_card_offers_an_action_exactly_when_the_service_accepts_it(db, client, state, role):
    manager = make_user(Role.SALES_MANAGER)
    building = make_building()
    make_section(building, floors=1, per_floor=2)
    units = list(building.units.order_by("pk"))
    # the spare unit costs the same, so a swap after signing keeps the price
    Unit.objects.filter(pk=units[1].pk).update(price=units[0].price, total_area=units[0].total_area)
    units[1].refresh_from_db()
    deal = _deal_in(state, manager, units)
    user = manager if role == Role.SALES_MANAGER else make_user(role)
    if role == Role.SALES_HEAD:
        manager.team = Team.objects.create(name="Отдел", head=user)
        manager.save()
    client.force_login(user)
    html = client.get(reverse("sales:deal-detail", args=[deal.pk])).content.decode()

    for action, (can, url_name, call) in ACTIONS.items():
        allowed = can(deal, user)
        on_page = reverse(url_name, args=[deal.pk]) in html
        accepted = _service_accepts(call, deal, user, units[1])
        assert allowed == on_page == accepted, (action, allowed, on_page, accepted)
        blocker = getattr(deal, f"{action}_blocker")(user)
        assert (blocker is None) == allowed and (blocker is None or str(blocker))
        deal.refresh_from_db()
