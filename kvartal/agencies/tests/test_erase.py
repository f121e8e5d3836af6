"""Erasing a client's personal data reaches the agencies' fixations; a merged duplicate's
fixations go to the kept client."""

import pytest

from kvartal.accounts.models import Role
from kvartal.clients import services as client_services
from kvartal.clients.models import Client
from kvartal.core.testing import make_user
from kvartal.sales.tests.factories import make_unit

from ..models import FixationEvent
from ..services import dispute_decide, dispute_raise, fixation_create, fixation_extend
from .factories import make_agency, make_agent, open_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(db):
    return make_agent(make_agency(curator=make_user(Role.SALES_MANAGER), name="Альфа"))


def test_erasing_a_client_leaves_no_name_or_phone_on_their_fixations(agent, manager):
    project = make_unit().building.project
    open_project(project, protection_days=30, extension_days=10)
    fixation = fixation_create(
        agent=agent, project=project, name="Анна Петрова", phone="8 (912) 345-67-89"
    )
    fixation_extend(fixation=fixation, by=manager, reason="Петрова просила подождать")
    buyer = fixation.client

    client_services.client_erase(client=buyer, by=manager)

    fixation.refresh_from_db()
    buyer.refresh_from_db()
    assert fixation.name == buyer.display_name and "Петрова" not in fixation.name
    assert fixation.phone == "" and "9123456789" not in fixation.phone_normalized
    assert fixation.client == buyer and fixation.agency == agent.agency_membership.agency
    assert not FixationEvent.objects.exclude(reason="").exists()


def test_erasing_a_client_leaves_no_name_phone_or_evidence_on_disputes_over_them(agent, manager):
    project = make_unit().building.project
    open_project(project, protection_days=30)
    fixation = fixation_create(
        agent=agent, project=project, name="Анна Петрова", phone="+79123456789"
    )
    rival = make_agent(make_agency(curator=make_user(Role.SALES_MANAGER), name="Бета"))
    dispute = dispute_raise(
        agent=rival,
        project=project,
        name="Анна Петрова",
        phone="8 912 345-67-89",
        evidence="Петрова была у нас на показе 1 числа",
    )
    head = make_user(Role.SALES_HEAD)
    dispute_decide(dispute=dispute, by=head, upheld=False, decision="Петрова пришла от Альфы")

    client_services.client_erase(client=fixation.client, by=manager)

    dispute.refresh_from_db()
    assert "Петрова" not in dispute.name and "9123456789" not in dispute.phone_normalized
    assert (dispute.evidence, dispute.decision) == ("", "")
    assert dispute.state != "open" and dispute.decided_by == head and dispute.claimant_id


def test_a_merged_duplicates_fixations_go_to_the_kept_client(agent, manager):
    project = make_unit().building.project
    open_project(project, protection_days=30)
    fixation = fixation_create(agent=agent, project=project, name="Анна", phone="+79123456789")
    kept = client_services.client_create(by=manager, first_name="Анна", last_name="Петрова")
    client_services.client_merge(source=fixation.client, target=kept, by=manager)
    fixation.refresh_from_db()
    assert fixation.client == kept
    assert Client.objects.get(pk=kept.pk).agency_fixations.count() == 1
