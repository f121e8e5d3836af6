"""My day's deals waiting for a step: those whose next step is the sales office's to take."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.inventory.models import Readiness
from kvartal.sales.models import Deal
from kvartal.sales.views.my_day import STALE_DAYS

from .factories import deal_reach, make_deal, make_unit, opened

pytestmark = pytest.mark.django_db


def test_only_deals_whose_next_step_is_the_offices_wait_on_my_day(client, manager):
    long_ago = timezone.now() - timedelta(days=STALE_DAYS + 3)
    since = opened(days_ago=STALE_DAYS + 5)

    def deal(*codes, completed=False):
        unit = make_unit()
        if completed:
            unit.building.readiness = Readiness.COMPLETED
            unit.building.save(update_fields=["readiness"])
        made = make_deal(manager=manager, unit=unit, at=since)
        for code in codes:
            made = deal_reach(made, code, at=long_ago)
        return made

    signing = deal()  # in work: the contract is the office's to sign
    paid_building_rises = deal("signed", "registered", "paid")  # waits for the building
    paid_building_done = deal("signed", "registered", "paid", completed=True)  # handover due
    handed_over = deal("signed", "registered", "paid", "handed_over", completed=True)
    moved_lately = deal()
    deal_reach(deal_reach(moved_lately, "signed"), "registered")  # moved today

    waiting = set(Deal.objects.waiting_for_a_step(timezone.now(), stale_days=STALE_DAYS))
    assert waiting == {signing, paid_building_done}
    client.force_login(manager)
    page = client.get(reverse("sales:my-day"))
    shown = {d.pk for d in page.context["deals"]}
    assert shown == {signing.pk, paid_building_done.pk}
    assert page.context["deals_count"] == 2
    assert paid_building_rises.pk not in shown and handed_over.pk not in shown
