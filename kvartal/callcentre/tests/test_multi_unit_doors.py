"""A parking space sold with an apartment in one deal is refused at every door with the same
words: the hold page, the HTTP API, the agency cabinet's hold request and the call-centre panel
all go through the one availability rule, which sees every unit of a deal."""

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.agencies.services import agent_hold_request, fixation_create
from kvartal.agencies.tests.factories import make_agency, make_agent, open_project
from kvartal.api.models import ApiToken
from kvartal.core.testing import make_user
from kvartal.sales.availability import UnitNotAvailable, unit_blocker
from kvartal.sales.models import Hold
from kvartal.sales.services.deals import BuyerShare, deal_open
from kvartal.sales.tests.factories import default_scheme, make_client, make_unit_set

from .factories import make_operator

pytestmark = pytest.mark.django_db


def test_a_parking_space_in_a_deal_with_an_apartment_is_refused_alike_at_every_door(client):
    default_scheme()
    units = make_unit_set()
    flat, parking = units["apartments"][0], units["parkings"][0]
    manager = make_user(Role.SALES_MANAGER)
    deal_open(by=manager, units=[flat, parking], buyers=[BuyerShare(make_client(manager=manager))])
    expected = f"{parking} is in a deal."
    assert unit_blocker(parking) == expected
    holds = Hold.objects.count()
    other = make_client(manager=manager, phone_normalized="+79123456780")

    # the hold page
    client.force_login(manager)
    page = client.post(
        reverse("sales:hold-create", args=[parking.pk]),
        {"client": other.pk, "days": 1, "kind": "oral"},
    )
    assert expected in page.content.decode()

    # the HTTP API
    key = ApiToken.new_key()
    token = ApiToken(name="t", user=manager, scopes=["holds:write"])
    token.set_key(key)
    token.save()
    api = client.post(
        "/api/v1/holds",
        {"unit": parking.pk, "client": other.pk, "days": 1},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert api.status_code == 409 and api.json()["detail"] == expected

    # the agency cabinet's hold request
    open_project(parking.building.project, protection_days=30, extension_days=10)
    agent = make_agent(make_agency(curator=manager, name="Альфа"), username="agent")
    fixation = fixation_create(
        agent=agent, project=parking.building.project, name="Петров", phone="8 912 345-67-01"
    )
    with pytest.raises(UnitNotAvailable) as cabinet:
        agent_hold_request(agent=agent, fixation=fixation, unit=parking)
    assert cabinet.value.message == expected

    # the call-centre panel
    operator = make_operator("101", username="operator")
    client.force_login(operator)
    panel = client.post(
        reverse("callcentre:hold", args=["client", other.pk]),
        {"unit": parking.pk},
        headers={"HX-Request": "true"},
    )
    assert panel.status_code == 409 and expected in panel.content.decode()

    assert Hold.objects.count() == holds
