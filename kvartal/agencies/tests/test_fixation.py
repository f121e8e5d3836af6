"""Client fixation: the first valid fixation of a phone wins for the project's window."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from kvartal.accounts.models import Role
from kvartal.clients.models import Channel, Client, Lead
from kvartal.clients.services import lead_create
from kvartal.core.testing import make_user
from kvartal.sales.availability import UnitNotAvailable
from kvartal.sales.models import Deal, Hold, HoldState
from kvartal.sales.tests.factories import make_deal, make_unit

from ..models import (
    Dispute,
    DisputeState,
    Fixation,
    FixationEvent,
    FixationState,
)
from ..services import (
    DisputeRefused,
    FixationRefused,
    HoldRequestRefused,
    PhoneProtected,
    agent_hold_request,
    dispute_decide,
    dispute_raise,
    fixation_create,
    fixation_extend,
)
from .factories import make_agency, make_agent, open_project

pytestmark = pytest.mark.django_db
PHONE = "8 (912) 345-67-89"


@pytest.fixture
def unit():
    return make_unit()


@pytest.fixture
def project(unit):
    open_project(unit.building.project, protection_days=30, extension_days=10)
    return unit.building.project


@pytest.fixture
def curator():
    return make_user(Role.SALES_MANAGER, username="curator")


@pytest.fixture
def agency(curator):
    return make_agency(curator=curator, name="Альфа")


@pytest.fixture
def agent(agency):
    return make_agent(agency, username="agent")


@pytest.fixture
def rival(curator):
    return make_agent(make_agency(curator=curator, name="Бета"), username="rival")


def state():
    return (
        list(Fixation.objects.values_list("pk", "state", "expires_at").order_by("pk")),
        FixationEvent.objects.count(),
        Client.objects.count(),
        Dispute.objects.count(),
        Hold.objects.count(),
    )


def test_first_fixation_wins_and_creates_the_client(agent, project):
    now = timezone.now()
    fixation = fixation_create(
        agent=agent, project=project, name="Петров Пётр", phone=PHONE, at=now
    )
    assert fixation.phone_normalized == "+79123456789"
    assert fixation.expires_at == now + timedelta(days=30)
    assert fixation.client.phone_normalized == "+79123456789"
    assert fixation.client.manager.username == "curator"
    assert list(fixation.events.values_list("kind", flat=True)) == ["created"]


def test_a_second_agency_is_refused_with_the_end_date_without_the_holder(agent, rival, project):
    now = timezone.now()
    fixation_create(agent=agent, project=project, name="Петров", phone=PHONE, at=now)
    before = state()
    with pytest.raises(FixationRefused) as refused:
        fixation_create(agent=rival, project=project, name="Петров", phone="+7 912 345 67 89")
    end = timezone.localtime(now + timedelta(days=30))
    assert date_format(end, "SHORT_DATE_FORMAT") in str(refused.value)
    assert "Альфа" not in str(refused.value)
    assert state() == before


def test_after_the_window_another_agency_may_fix(agent, rival, project):
    past = timezone.now() - timedelta(days=31)
    first = fixation_create(agent=agent, project=project, name="Петров", phone=PHONE, at=past)
    second = fixation_create(agent=rival, project=project, name="Петров", phone=PHONE)
    first.refresh_from_db()
    assert first.state == FixationState.EXPIRED
    assert second.is_live()
    assert second.client_id == first.client_id


def test_the_window_is_per_project(agent, rival, project):
    other = make_unit().building.project
    open_project(other)
    fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    assert fixation_create(agent=rival, project=other, name="Петров", phone=PHONE).is_live()


def test_the_developers_own_recent_lead_refuses_the_fixation(agent, project):
    lead_create(by=None, channel=Channel.objects.get(code="site"), name="Петров", phone=PHONE)
    before = state()
    with pytest.raises(FixationRefused):
        fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    assert state() == before


def test_a_refusal_for_the_developers_own_lead_says_so_without_nesting_quotes(agent, project):
    from django.utils import translation

    project.name = "ЖК «Городские истории»"
    project.save()
    lead_create(by=None, channel=Channel.objects.get(code="site"), name="Петров", phone=PHONE)
    with translation.override("en"), pytest.raises(FixationRefused) as refused:
        fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    message = str(refused.value)
    assert "contacted the developer directly about ЖК «Городские истории»:" in message
    assert "fixed" not in message and "“" not in message and "»»" not in message


def test_the_developers_own_lead_from_a_protected_phone_is_refused(agent, project, unit):
    fixation = fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    leads = Lead.objects.count()
    with pytest.raises(PhoneProtected) as refused:
        lead_create(by=None, channel=Channel.objects.get(code="site"), phone=PHONE, unit=unit)
    until = date_format(timezone.localtime(fixation.expires_at), "SHORT_DATE_FORMAT")
    assert until in str(refused.value) and "Альфа" not in str(refused.value)
    assert Lead.objects.count() == leads


@pytest.mark.parametrize("phone", ["12345", "звоните", "+7 912 345"])
def test_an_invalid_phone_is_refused_and_nothing_changes(agent, project, phone):
    before = state()
    with pytest.raises(ValidationError) as refused:
        fixation_create(agent=agent, project=project, name="Петров", phone=phone)
    assert "phone" in refused.value.message_dict
    assert state() == before


def test_a_closed_project_or_an_ended_contract_refuses(agent, agency, project):
    project.partner_terms.is_open = False
    project.partner_terms.save()
    with pytest.raises(FixationRefused):
        fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    project.partner_terms.is_open = True
    project.partner_terms.save()
    agency.profile.status = "ended"
    agency.profile.save()
    with pytest.raises(FixationRefused):
        fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    assert not Fixation.objects.exists()


def test_a_visit_extends_the_window_but_never_shortens_it(agent, project, sales_head):
    now = timezone.now()
    fixation = fixation_create(agent=agent, project=project, name="Петров", phone=PHONE, at=now)
    fixation = fixation_extend(
        fixation=fixation, by=sales_head, reason="visit", at=now + timedelta(days=5)
    )
    assert fixation.expires_at == now + timedelta(days=30)  # 5 + 10 < 30
    later = now + timedelta(days=25)
    fixation = fixation_extend(fixation=fixation, by=sales_head, reason="visit", at=later)
    assert fixation.expires_at == later + timedelta(days=10)


def test_a_dispute_upheld_moves_the_client_with_its_trail(agent, rival, project, sales_head):
    held = fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    dispute = dispute_raise(
        agent=rival, project=project, name="Петров", phone=PHONE, evidence="Показ 1 декабря"
    )
    with pytest.raises(DisputeRefused):
        dispute_decide(dispute=dispute, by=sales_head, upheld=True, decision="  ")
    dispute = dispute_decide(dispute=dispute, by=sales_head, upheld=True, decision="Показ был")
    held.refresh_from_db()
    assert held.state == FixationState.LOST
    assert dispute.state == DisputeState.UPHELD
    assert dispute.result.agency == rival.agency_membership.agency and dispute.result.is_live()
    assert list(held.events.values_list("kind", flat=True)) == ["created", "disputed", "lost"]
    with pytest.raises(DisputeRefused):
        dispute_decide(dispute=dispute, by=sales_head, upheld=False, decision="again")


def test_only_a_sales_head_decides_and_a_rejection_moves_nothing(agent, rival, project, manager):
    fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    dispute = dispute_raise(agent=rival, project=project, name="П", phone=PHONE, evidence="x")
    before = state()
    with pytest.raises(DisputeRefused):
        dispute_decide(dispute=dispute, by=manager, upheld=True, decision="why not")
    assert state() == before


def test_nothing_to_dispute_when_nobody_holds_the_phone(rival, project):
    with pytest.raises(DisputeRefused):
        dispute_raise(agent=rival, project=project, name="П", phone=PHONE, evidence="x")
    assert not Dispute.objects.exists()


def test_an_agent_requests_a_short_hold_through_the_hold_service(agent, project, unit):
    now = timezone.now()
    fixation = fixation_create(agent=agent, project=project, name="Петров", phone=PHONE, at=now)
    hold = agent_hold_request(agent=agent, fixation=fixation, unit=unit, at=now)
    assert hold.state == HoldState.ACTIVE and hold.agency == fixation.agency
    assert hold.expires_at == now + timedelta(days=2)  # AgencySettings.hold_days
    assert hold.manager.username == "curator" and hold.client == fixation.client
    unit.refresh_from_db()
    assert unit.status == "reserved"


def test_a_hold_request_obeys_the_one_availability_rule(agent, project, unit):
    make_deal(unit=unit)
    fixation = fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    before = state()
    with pytest.raises(UnitNotAvailable):
        agent_hold_request(agent=agent, fixation=fixation, unit=unit)
    assert state() == before


def test_a_hold_request_for_another_agencys_client_is_refused(agent, rival, project, unit):
    fixation = fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    before = state()
    with pytest.raises(HoldRequestRefused):
        agent_hold_request(agent=rival, fixation=fixation, unit=unit)
    assert state() == before
    assert Deal.objects.count() == 0
