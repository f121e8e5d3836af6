"""An agent sees the rows of their agency only (``for_user``)."""

import pytest

from kvartal.accounts.models import Role
from kvartal.clients.models import Client
from kvartal.core.testing import make_user
from kvartal.sales.models import Deal, Hold, Payment
from kvartal.sales.tests.factories import make_client, make_deal, make_unit

from ..models import Fixation
from ..services import agent_hold_request, fixation_create
from .factories import make_agency, make_agent, open_project

pytestmark = pytest.mark.django_db


def test_an_agent_sees_only_their_agencys_clients_holds_and_deals(manager):
    curator = make_user(Role.SALES_MANAGER)
    mine, theirs = make_agency(curator=curator), make_agency(curator=curator)
    agent, rival = make_agent(mine), make_agent(theirs)
    unit = make_unit()
    open_project(unit.building.project)
    fixation = fixation_create(
        agent=agent, project=unit.building.project, name="А", phone="+79000000001"
    )
    rival_fix = fixation_create(
        agent=rival, project=unit.building.project, name="Б", phone="+79000000002"
    )
    hold = agent_hold_request(agent=agent, fixation=fixation, unit=unit)
    own_client = make_client(manager=manager)
    deal = make_deal(manager=manager)
    deal.agency = mine
    deal.save()
    other_deal = make_deal(manager=manager)

    assert set(Client.objects.for_user(agent)) == {fixation.client}
    assert set(Client.objects.for_user(rival)) == {rival_fix.client}
    assert own_client not in Client.objects.for_user(agent)
    assert list(Hold.objects.for_user(agent)) == [hold]
    assert not Hold.objects.for_user(rival).exists()
    assert list(Deal.objects.for_user(agent)) == [deal]
    assert other_deal not in Deal.objects.for_user(agent)
    assert list(Fixation.objects.for_user(agent)) == [fixation]
    assert not Payment.objects.for_user(rival).exists()


def test_an_agent_without_an_agency_sees_nothing():
    lone = make_user(Role.AGENCY_PARTNER)
    make_deal()
    assert not Deal.objects.for_user(lone).exists()
    assert not Client.objects.for_user(lone).exists()
