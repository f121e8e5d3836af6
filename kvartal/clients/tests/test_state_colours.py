"""A lead's state and a client's need read in the colours of a sale's progress (new, in work,
won, lost), never in the unit statuses' colours: a converted lead or a satisfied need is a
success, not a unit sold."""

import lxml.html
import pytest
from django.urls import reverse

from kvartal.clients import services
from kvartal.clients.models import Channel, LeadStatus, Need, NeedStatus

pytestmark = pytest.mark.django_db


def badge(html: str, where: str) -> set[str]:
    (span,) = lxml.html.fromstring(html).xpath(f"{where}//span[contains(@class, 'badge')]")
    return set(span.get("class").split())


def test_a_converted_lead_shows_as_won_not_as_a_sold_unit(client, manager):
    lead = services.lead_create(
        by=manager,
        channel=Channel.objects.get(code="call"),
        name="Анна",
        phone="+79001112233",
        manager=manager,
    )
    services.lead_convert(lead=lead, by=manager)
    client.force_login(manager)
    detail = badge(
        client.get(reverse("clients:lead-detail", args=[lead.pk])).content.decode(), "//h1"
    )
    listed = reverse("clients:lead-list") + "?status=all"
    listed = badge(client.get(listed).content.decode(), "//tbody")
    for shown in (detail, listed):
        assert "outcome-won" in shown
        assert not any(css.startswith("st-") for css in shown)


@pytest.mark.parametrize(
    ("status", "css"),
    [
        (LeadStatus.NEW, "outcome-new"),
        (LeadStatus.IN_WORK, "outcome-work"),
        (LeadStatus.QUALIFIED, "outcome-work"),
        (LeadStatus.CONVERTED, "outcome-won"),
        (LeadStatus.LOST, "outcome-lost"),
    ],
)
def test_each_lead_state_has_its_own_progress_colour(status, css):
    from kvartal.clients.models import Lead

    assert Lead(status=status).status_class == css


@pytest.mark.parametrize(
    ("status", "css"),
    [
        (NeedStatus.ACTIVE, "outcome-work"),
        # set aside for now, neither worked on nor given up: the quiet colour of a new lead
        (NeedStatus.POSTPONED, "outcome-new"),
        (NeedStatus.SATISFIED, "outcome-won"),
        (NeedStatus.DROPPED, "outcome-lost"),
    ],
)
def test_each_need_status_has_its_own_progress_colour(status, css):
    assert Need(status=status).status_class == css
