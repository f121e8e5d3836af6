"""On the manager's own pages a client's needs and a lead's state read as badges in the
colours of a sale's progress (``outcome-…``), as on the lead pages: a satisfied need is a
success, not a unit sold."""

import lxml.html
import pytest
from django.urls import reverse
from django.utils import translation

from kvartal.clients import services as clients
from kvartal.clients.models import Channel, LeadStatus, Need, NeedStatus

from .factories import make_client

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}


def en(choice) -> str:
    with translation.override("en"):
        return str(choice.label)


def badges(root, where: str = ".") -> list[tuple[str, set[str]]]:
    """(text, classes) of each badge inside ``where`` of ``root`` (a page or an element)."""
    if isinstance(root, str):
        root = lxml.html.fromstring(root)
    return [
        (span.text_content().strip(), set(span.get("class").split()))
        for span in root.xpath(f"{where}//span[contains(@class, 'badge')]")
    ]


def test_a_clients_needs_show_in_progress_colours_on_the_client_card(client, manager):
    buyer = make_client(manager=manager)
    expected = {
        NeedStatus.ACTIVE: "outcome-work",
        NeedStatus.POSTPONED: "outcome-new",
        NeedStatus.SATISFIED: "outcome-won",
        NeedStatus.DROPPED: "outcome-lost",
    }
    for status in expected:
        Need.objects.create(client=buyer, status=status, title=f"Need {status}")
    client.force_login(manager)
    html = client.get(reverse("sales:client-detail", args=[buyer.pk]), headers=EN).content.decode()
    listed = badges(html, "//ul[contains(@class, 'needs-list')]")
    assert dict(listed) == {en(status): {"badge", css} for status, css in expected.items()}
    (shown,) = badges(html, "//dl[@class='kv']/dd[1]")  # the current need, in detail
    assert shown == (en(NeedStatus.ACTIVE), {"badge", "outcome-work"})


def test_my_day_shows_a_leads_state_as_its_badge(client, manager):
    call = Channel.objects.get(code="call")
    fresh = clients.lead_create(
        by=manager, channel=call, name="Анна", phone="+79001110001", manager=manager
    )
    called = clients.lead_create(
        by=manager, channel=call, name="Борис", phone="+79001110002", manager=manager
    )
    clients.lead_set_status(lead=called, status=LeadStatus.IN_WORK, by=manager)
    client.force_login(manager)
    html = client.get(reverse("sales:my-day"), headers=EN).content.decode()
    rows = lxml.html.fromstring(html).xpath("//tr[td/a[contains(@href, '/leads/')]]")
    shown = {row.xpath("string(td[2])").strip(): badges(row) for row in rows}
    assert shown == {
        str(fresh): [(en(LeadStatus.NEW), {"badge", "outcome-new"})],
        str(called): [(en(LeadStatus.IN_WORK), {"badge", "outcome-work"})],
    }


def test_a_deals_stage_is_a_badge_on_the_client_card_and_my_day(client, manager):
    """As on the deal pages: the stage in the colour of what it counts as."""
    from .factories import make_deal, opened

    buyer = make_client(manager=manager)
    deal = make_deal(manager=manager, buyer=buyer, at=opened(days_ago=10))  # waits for a step
    stage = (deal.stage.label, {"badge", deal.stage.badge_class})
    client.force_login(manager)
    card = client.get(reverse("sales:client-detail", args=[buyer.pk]), headers=EN)
    (row,) = lxml.html.fromstring(card.content).xpath(f"//tr[td[1]='{deal.number}']")
    assert badges(row) == [stage]
    day = client.get(reverse("sales:my-day"), headers=EN)
    (row,) = lxml.html.fromstring(day.content).xpath(f"//tr[td/a='{deal.number}']")
    assert badges(row) == [stage]


def test_the_client_card_links_the_deals_its_reader_may_open(client, manager, other_manager):
    """A client shared by two managers: each sees both deals listed, and opens only their own
    from the card (the other's number is text, not a link to a page that would refuse)."""
    from .factories import make_deal

    buyer = make_client(manager=manager)
    mine = make_deal(manager=manager, buyer=buyer)
    theirs = make_deal(manager=other_manager, buyer=buyer)
    client.force_login(manager)
    page = lxml.html.fromstring(
        client.get(reverse("sales:client-detail", args=[buyer.pk]), headers=EN).content
    )
    links = page.xpath("//table//a[contains(@href, '/app/deals/')]")
    assert [(a.text, a.get("href")) for a in links] == [
        (mine.number, reverse("sales:deal-detail", args=[mine.pk]))
    ]
    assert page.xpath(f"//tr[td[1]='{theirs.number}']")


def test_a_company_card_does_not_ask_for_a_personal_data_consent(client, manager):
    """A legal entity's own details are not personal data: its card says so and offers no
    consent to record; a person's card still asks for one."""
    from kvartal.clients.models import ClientKind

    company = make_client(manager=manager, kind=ClientKind.COMPANY, company_name="ООО «Вектор»")
    person = make_client(manager=manager)
    client.force_login(manager)
    consent = reverse("clients:consent-create", args=[company.pk])
    page = client.get(reverse("sales:client-detail", args=[company.pk]), headers=EN)
    text = page.content.decode()
    assert "contact people give their consent on their own cards" in text
    assert "No consent recorded" not in text and consent not in text
    page = client.get(reverse("sales:client-detail", args=[person.pk]), headers=EN)
    text = page.content.decode()
    assert "No consent recorded" in text
    assert reverse("clients:consent-create", args=[person.pk]) in text
