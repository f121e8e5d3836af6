"""Erasing a client's personal data reaches the showcase: the visitors that became the
client, what they looked at and saved, and the codes sent to the client's numbers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kvartal.clients import services as client_services
from kvartal.showcase import services
from kvartal.showcase.models import Favourite, PhoneCode, SavedSearch, Visitor, VisitorRequest

pytestmark = pytest.mark.django_db
PHONE = "+79123456789"


def _code(visitor, unit, phone=PHONE):
    return PhoneCode.objects.create(
        visitor=visitor,
        unit=unit,
        phone=phone,
        code_hash="x" * 64,
        expires_at=timezone.now() + timedelta(minutes=10),
    )


def test_erasing_a_client_removes_their_visitors_and_codes(project, unit, units, manager):
    visitor = Visitor.objects.create()
    services.favourite_toggle(visitor=visitor, unit_id=unit.pk)
    services.search_save(visitor=visitor, query="rooms=2", title="Двушки")
    request = services.request_create(
        visitor=visitor, kind="callback", name="Анна Петрова", phone=PHONE, consent=True
    )
    buyer = client_services.lead_convert(lead=request.lead, by=manager)
    _code(visitor, unit)
    stranger = Visitor.objects.create()  # typed the client's number elsewhere
    _code(stranger, units[0])
    someone = Visitor.objects.create()
    services.favourite_toggle(visitor=someone, unit_id=unit.pk)
    _code(someone, units[1], phone="+79990000000")

    client_services.client_erase(client=buyer, by=manager)

    assert set(Visitor.objects.values_list("pk", flat=True)) == {someone.pk}
    assert list(PhoneCode.objects.values_list("phone", flat=True)) == ["+79990000000"]
    assert list(Favourite.objects.values_list("visitor_id", flat=True)) == [someone.pk]
    assert not SavedSearch.objects.exists()
    request = VisitorRequest.objects.get(pk=request.pk)  # the consent's record stays
    assert request.visitor is None and request.consent_version
