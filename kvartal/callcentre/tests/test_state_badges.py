"""The operator's panel shows a caller's needs and leads as the other pages do: badges in the
colours of a sale's progress (``outcome-…``), never a unit status's (a satisfied need is a
success, not a unit sold)."""

import lxml.html
import pytest
from django.urls import reverse
from django.utils import translation

from kvartal.clients import services as clients
from kvartal.clients.models import Channel, LeadStatus, Need, NeedStatus
from kvartal.sales.tests.factories import make_client

from .factories import make_operator

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}


def en(choice) -> str:
    with translation.override("en"):
        return str(choice.label)


@pytest.fixture
def operator(db):
    return make_operator("101", username="operator")


def badges(root, where: str) -> list[tuple[str, set[str]]]:
    return [
        (span.text_content().strip(), set(span.get("class").split()))
        for span in root.xpath(f"{where}//span[contains(@class, 'badge')]")
    ]


def caller(client, kind: str, pk: int):
    page = client.get(
        reverse("callcentre:subject", args=[kind, pk]), headers={"HX-Request": "1", **EN}
    )
    assert page.status_code == 200
    return lxml.html.fromstring(page.content.decode())


def test_a_callers_needs_and_leads_show_in_progress_colours(client, operator, manager):
    buyer = make_client(manager=manager, phone="+79001110003")
    for status in NeedStatus:
        Need.objects.create(client=buyer, status=status, title=f"Need {status}")
    lead = clients.lead_create(
        by=manager,
        channel=Channel.objects.get(code="call"),
        name="Анна",
        phone="+79001110004",
        manager=manager,
    )
    clients.lead_convert(lead=lead, by=manager, client=buyer)
    client.force_login(operator)
    page = caller(client, "client", buyer.pk)
    assert sorted(badges(page, "//section[contains(@class, 'caller-needs')]")) == sorted(
        [
            (en(NeedStatus.ACTIVE), {"badge", "outcome-work"}),
            (en(NeedStatus.POSTPONED), {"badge", "outcome-new"}),
            (en(NeedStatus.SATISFIED), {"badge", "outcome-won"}),
            (en(NeedStatus.DROPPED), {"badge", "outcome-lost"}),
        ]
    )
    leads = page.xpath("//section[h3='Leads, visits and tasks']")
    assert badges(leads[0], ".") == [(en(LeadStatus.CONVERTED), {"badge", "outcome-won"})]


def test_a_lead_without_a_client_shows_its_state_as_a_badge(client, operator, manager):
    lead = clients.lead_create(
        by=manager,
        channel=Channel.objects.get(code="call"),
        name="Борис",
        phone="+79001110005",
        manager=manager,
    )
    client.force_login(operator)
    page = caller(client, "lead", lead.pk)
    head = badges(page, "//section[contains(@class, 'caller-head')]")
    assert head == [(en(LeadStatus.NEW), {"badge", "outcome-new"})]
    leads = page.xpath("//section[h3='Leads, visits and tasks']")
    assert badges(leads[0], ".") == [(en(LeadStatus.NEW), {"badge", "outcome-new"})]
