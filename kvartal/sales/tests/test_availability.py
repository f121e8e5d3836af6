"""One availability rule: the page's predicate, the lists' SQL filter and the services under
the unit's lock give the same answer — and the same message — for every state a unit can be in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kvartal.inventory import services as inventory
from kvartal.inventory.models import Unit, UnitStatus
from kvartal.sales.availability import UnitNotAvailable, unit_blocker, unit_is_available
from kvartal.sales.models import Deal, Hold
from kvartal.sales.services import deals as deal_services
from kvartal.sales.services import holds as hold_services

from .factories import deal_reach, make_client, make_deal, make_unit


def _available(manager):
    return make_unit()


def _held(manager):
    unit = make_unit()
    hold_services.hold_create(
        unit=unit, client=make_client(manager=manager), manager=manager, by=manager, days=2
    )
    return unit


def _hold_ran_out(manager):
    unit = make_unit()
    hold_services.hold_create(
        unit=unit,
        client=make_client(manager=manager),
        manager=manager,
        by=manager,
        days=1,
        at=timezone.now() - timedelta(days=3),
    )
    return unit


def _in_deal(manager):
    return make_deal(manager=manager).unit


def _in_a_deal_with_an_apartment(manager):
    """A parking space sold with an apartment in one deal (not the deal's main unit)."""
    from .factories import make_unit_set

    units = make_unit_set()
    deal_services.deal_open(
        by=manager,
        units=[units["apartments"][0], units["parkings"][0]],
        buyers=[deal_services.BuyerShare(make_client(manager=manager))],
    )
    return units["parkings"][0]


def _sold(manager):
    deal = make_deal(manager=manager)
    deal_reach(deal, "signed")
    deal_reach(deal, "registered")
    return deal.unit


def _not_for_sale(manager):
    unit = make_unit()
    inventory.unit_set_status(unit=unit, status=UnitStatus.NOT_FOR_SALE, by=None, reason="closed")
    return unit


STATES = {
    "available": (_available, None),
    "held": (_held, "already held (until"),
    "hold ran out": (_hold_ran_out, None),
    "in a deal": (_in_deal, "is in a deal"),
    "in a deal with an apartment": (_in_a_deal_with_an_apartment, "is in a deal"),
    "sold": (_sold, "already sold"),
    "not for sale": (_not_for_sale, "not on sale"),
}


@pytest.mark.parametrize("state", STATES)
def test_the_page_the_list_and_the_services_agree(state, manager, other_manager):
    build, expected = STATES[state]
    unit = Unit.objects.get(pk=build(manager).pk)

    page = unit_blocker(unit)
    on_list = Unit.objects.on_sale().filter(pk=unit.pk).exists()
    assert (page is None) == (expected is None), page
    assert on_list == unit_is_available(unit)
    if expected is not None:
        assert expected in page

    buyer = make_client(manager=other_manager)
    for take in (
        lambda: hold_services.hold_create(
            unit=unit, client=buyer, manager=other_manager, by=other_manager, days=1
        ),
        lambda: deal_services.deal_open(
            unit=unit, buyers=[deal_services.BuyerShare(buyer)], by=other_manager
        ),
    ):
        before = (Hold.objects.count(), Deal.objects.count())
        if expected is None:
            continue
        with pytest.raises(UnitNotAvailable) as refused:
            take()
        # the same words whichever door asked
        assert refused.value.message == page
        assert (Hold.objects.count(), Deal.objects.count()) == before


@pytest.mark.parametrize("state", ["available", "hold ran out"])
def test_a_free_unit_is_taken_by_the_hold_service(state, manager, other_manager):
    unit = STATES[state][0](manager)
    buyer = make_client(manager=other_manager)
    hold = hold_services.hold_create(
        unit=unit, client=buyer, manager=other_manager, by=other_manager, days=1
    )
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED and hold.client == buyer
    assert unit_blocker(unit) is not None


def test_a_buyers_own_hold_does_not_block_their_deal(manager):
    unit = make_unit()
    buyer = make_client(manager=manager)
    hold = hold_services.hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=2)
    unit.refresh_from_db()
    assert unit_blocker(unit, for_clients={buyer.pk}) is None
    assert unit_blocker(unit, hold_id=hold.pk) is None
    assert unit_blocker(unit) is not None


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", "Квартира 7: уже есть бронь до "), ("en", "Apartment 7 is already held (until ")],
)
def test_the_held_message_reads_right_in_each_language(language, expected, manager):
    """The unit's name leads the message, so no word agrees with its gender (it read
    "Квартира 7 уже забронирован"); the time ends in "a.m." in English, inside brackets (it
    read "… 9:03 a.m.."). What every door shows: the hold page, the call panel, the API."""
    from django.utils import translation

    unit = _held(manager)
    Unit.objects.filter(pk=unit.pk).update(number="7")
    with translation.override(language):
        message = unit_blocker(Unit.objects.get(pk=unit.pk))
    assert message.startswith(expected), message
    assert ".." not in message
