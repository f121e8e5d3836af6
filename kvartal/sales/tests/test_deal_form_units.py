"""The units a deal's forms offer (swap, add a unit) follow the one availability rule
(``Unit.objects.on_sale``): a unit whose hold has run out is on sale at once, before the
periodic job writes its status back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kvartal.inventory.models import UnitStatus
from kvartal.sales.forms.deals import AddUnitForm, SwapForm
from kvartal.sales.services.deals import BuyerShare, deal_open
from kvartal.sales.services.holds import hold_create

pytestmark = pytest.mark.django_db


def test_a_unit_whose_hold_ran_out_is_offered_a_live_hold_is_not(units, manager, buyer):
    main, ran_out, held, free = units
    deal = deal_open(unit=main, buyers=[BuyerShare(client=buyer)], manager=manager, by=manager)
    hold_create(
        unit=ran_out,
        client=buyer,
        manager=manager,
        by=manager,
        days=1,
        at=timezone.now() - timedelta(days=2),
    )
    hold_create(unit=held, client=buyer, manager=manager, by=manager, days=3)
    ran_out.refresh_from_db()
    assert ran_out.status == UnitStatus.RESERVED  # not yet written back by the job
    for form in (SwapForm(deal=deal), AddUnitForm(deal=deal)):
        offered = set(form.fields["unit"].queryset.values_list("pk", flat=True))
        assert offered == {ran_out.pk, free.pk}, type(form).__name__
