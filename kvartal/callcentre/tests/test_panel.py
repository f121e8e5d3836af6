"""The operator's panel: the caller's context, the one-click actions, the live feed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.clients.models import ContactPerson, Interaction, Lead, Need, Tag, Task
from kvartal.core.testing import make_user
from kvartal.inventory.models import UnitStatus
from kvartal.sales.models import Hold, HoldKind
from kvartal.sales.tests.factories import make_client, make_unit

from ..models import CallOutcome, CallState, LiveEvent
from ..services import CallEventData, call_event_apply
from .factories import make_operator, make_system

pytestmark = pytest.mark.django_db


def ring(system, phone="+79123456789", ext="101", call_id="c1", kind=CallState.RINGING):
    return call_event_apply(
        data=CallEventData(
            system=system,
            event_id=f"{call_id}-{kind}",
            call_id=call_id,
            kind=kind,
            at=timezone.now(),
            phone=phone,
            extension=ext,
        )
    ).call


@pytest.fixture
def operator(db):
    return make_operator("101", username="operator")


@pytest.fixture
def system(db):
    return make_system()


def htmx(client, method, url, data=None):
    return getattr(client, method)(url, data or {}, headers={"HX-Request": "true"})


def test_the_panel_is_for_operators_and_managers_not_keepers(client, operator, keeper):
    client.force_login(operator)
    assert client.get(reverse("callcentre:panel")).status_code == 200
    client.force_login(keeper)
    assert client.get(reverse("callcentre:panel")).status_code == 403


def test_the_screen_pop_shows_the_callers_whole_context(client, operator, system, manager):
    buyer = make_client(manager=manager, phone_normalized="+79123456789", last_name="Звонарёв")
    buyer.tags.add(Tag.objects.create(name="Инвестор"))
    company = make_client(manager=manager, kind="company", company_name="ООО Ромашка")
    ContactPerson.objects.create(company=company, name="Звонарёв", person=buyer)
    need = Need.objects.create(client=buyer, rooms=[0, 1], title="Для дочери")
    unit = make_unit()
    Interaction.objects.create(client=buyer, kind="note", text="Просил перезвонить вечером")
    call = ring(system)
    client.force_login(operator)
    page = htmx(client, "get", reverse("callcentre:call", args=[call.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("Звонарёв", "Инвестор", "ООО Ромашка", need.title, "Просил перезвонить"):
        assert text in html
    assert unit in page.context["matches"]
    assert f'data-live-unit="{unit.pk}"' in html


def test_the_panel_costs_the_same_queries_however_long_the_history(
    client, operator, system, manager
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    buyer = make_client(manager=manager, phone_normalized="+79123456789")
    call = ring(system)
    client.force_login(operator)
    url = reverse("callcentre:call", args=[call.pk])
    htmx(client, "get", url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert htmx(client, "get", url).status_code == 200
        return len(queries)

    Interaction.objects.create(client=buyer, kind="note", text="first note")
    for rooms in (1, 2, 3):  # units are listed for the three newest needs: a query each
        Need.objects.create(client=buyer, rooms=[rooms])
    short = count()
    for i in range(15):
        Interaction.objects.create(client=buyer, kind="note", text=f"note {i}")
        Need.objects.create(client=buyer, rooms=[i % 3])
    assert count() == short < 70


def test_an_oral_hold_from_the_panel(client, operator, system, manager):
    buyer = make_client(manager=manager, phone_normalized="+79123456789")
    unit = make_unit()
    call = ring(system)
    client.force_login(operator)
    url = reverse("callcentre:hold", args=["client", buyer.pk])
    response = htmx(client, "post", url, {"unit": unit.pk, "call": call.pk})
    assert response.status_code == 200, response.content
    hold = Hold.objects.get(unit=unit)
    assert (hold.kind, hold.client, hold.manager, hold.created_by) == (
        HoldKind.ORAL,
        buyer,
        manager,
        operator,
    )
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED
    call.refresh_from_db()
    assert call.outcome == CallOutcome.ORAL_HOLD
    # the unit is taken: a second operator's click is refused and changes nothing
    other = make_operator("102")
    second = make_client(manager=manager)
    client.force_login(other)
    again = htmx(
        client, "post", reverse("callcentre:hold", args=["client", second.pk]), {"unit": unit.pk}
    )
    assert again.status_code == 409
    assert "already held" in again.content.decode()
    assert Hold.objects.count() == 1


def test_an_oral_hold_for_a_new_caller_makes_them_a_client(client, operator, system):
    unit = make_unit()
    call = ring(system, phone="+79005554433")
    lead = call.lead
    client.force_login(operator)
    url = reverse("callcentre:hold", args=["lead", lead.pk])
    assert htmx(client, "post", url, {"unit": unit.pk, "call": call.pk}).status_code == 200
    lead.refresh_from_db()
    hold = Hold.objects.get()
    assert lead.client == hold.client and lead.status == "converted"
    assert hold.manager == operator  # a new client has no manager yet


def test_a_note_a_task_a_visit_and_a_transfer(client, operator, system, manager):
    buyer = make_client(phone_normalized="+79123456789")  # nobody's client yet
    call = ring(system)
    client.force_login(operator)
    base = reverse("callcentre:subject", args=["client", buyer.pk])
    assert (
        htmx(client, "post", base + "note/", {"text": "Хочет двушку", "call": call.pk}).status_code
        == 200
    )
    assert Interaction.objects.filter(client=buyer, kind="note", text="Хочет двушку").exists()
    when = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    visit = htmx(
        client, "post", base + "visit/", {"at": when, "manager": manager.pk, "call": call.pk}
    )
    assert visit.status_code == 200, visit.content
    assert Task.objects.get(assignee=manager, client=buyer).title.startswith("Visit")
    call.refresh_from_db()
    assert call.outcome == CallOutcome.VISIT
    transfer = htmx(client, "post", base + "transfer/", {"manager": manager.pk, "call": call.pk})
    assert transfer.status_code == 200
    buyer.refresh_from_db()
    assert buyer.manager == manager  # nobody had them: now the manager does
    assert Task.objects.filter(assignee=manager, title__startswith="Call back").exists()


def test_a_visit_in_the_past_is_refused_and_changes_nothing(client, operator, manager):
    buyer = make_client(manager=manager)
    client.force_login(operator)
    url = reverse("callcentre:visit", args=["client", buyer.pk])
    when = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = htmx(client, "post", url, {"at": when, "manager": manager.pk})
    assert response.status_code == 400
    assert "future" in response.content.decode()
    assert not Task.objects.exists()


def test_a_transfer_to_an_operator_is_refused(client, operator, manager):
    buyer = make_client(manager=manager)
    client.force_login(operator)
    other = make_user(Role.OPERATOR)
    url = reverse("callcentre:transfer", args=["client", buyer.pk])
    response = htmx(client, "post", url, {"manager": other.pk})
    assert response.status_code == 400  # not among the managers to choose from
    assert not Task.objects.exists()


# --- the live feed ------------------------------------------------------------------------


def test_poll_brings_the_screen_pop_and_unit_colours(client, operator, system, manager):
    client.force_login(operator)
    start = client.get(reverse("callcentre:live-poll")).json()["cursor"]
    call = ring(system, phone="+79001112233")
    buyer = make_client(manager=manager)
    unit = make_unit()
    from kvartal.sales.services.holds import hold_create

    hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    body = client.get(reverse("callcentre:live-poll"), {"c": start}).json()
    kinds = [(e["type"], e["data"].get("call") or e["data"].get("id")) for e in body["events"]]
    assert ("call", call.pk) in kinds and ("unit", unit.pk) in kinds
    held = [e for e in body["events"] if e["type"] == "unit" and e["data"]["id"] == unit.pk][-1]
    assert held["data"]["status"] == "reserved" and held["data"]["label"] == "Reserved"
    # nothing new after the returned cursor
    assert client.get(reverse("callcentre:live-poll"), {"c": body["cursor"]}).json()["events"] == []


def test_another_users_screen_pop_is_not_in_my_feed(client, operator, system, manager):
    make_operator("102", username="other-op")
    client.force_login(operator)
    start = client.get(reverse("callcentre:live-poll")).json()["cursor"]
    ring(system, ext="102")
    assert client.get(reverse("callcentre:live-poll"), {"c": start}).json()["events"] == []
    assert LiveEvent.objects.count() == 1


def test_the_stream_sends_events_and_ends(client, operator, system, settings):
    settings.CALLCENTRE_STREAM_SECONDS = 0
    client.force_login(operator)
    start = client.get(reverse("callcentre:live-poll")).json()["cursor"]
    call = ring(system)
    response = client.get(reverse("callcentre:live"), headers={"Last-Event-ID": start})
    assert response["Content-Type"] == "text/event-stream"
    text = b"".join(response.streaming_content).decode()
    assert "event: call" in text and f'"call": {call.pk}' in text


def test_streams_beyond_the_limit_are_refused_so_the_page_polls(client, operator, settings):
    settings.CALLCENTRE_STREAMS = 1
    settings.CALLCENTRE_STREAM_SECONDS = 0
    client.force_login(operator)
    first = client.get(reverse("callcentre:live"))
    second = client.get(reverse("callcentre:live"))  # the first is still open
    assert second.status_code == 503
    b"".join(first.streaming_content)  # the first ends and frees its slot
    third = client.get(reverse("callcentre:live"))
    assert third.status_code == 200
    b"".join(third.streaming_content)


def test_the_feed_is_refused_to_the_anonymous(client):
    assert client.get(reverse("callcentre:live-poll")).status_code == 403
    assert client.get(reverse("callcentre:live")).status_code == 403


def test_a_bad_cursor_starts_from_now(client, operator):
    client.force_login(operator)
    body = client.get(reverse("callcentre:live-poll"), {"c": "x.y"}).json()
    assert body["events"] == []


def test_unknown_caller_lead_is_shown_without_a_client(client, operator, system):
    call = ring(system, phone="+79005554433")
    client.force_login(operator)
    page = htmx(client, "get", reverse("callcentre:call", args=[call.pk]))
    assert page.status_code == 200
    assert page.context["client"] is None and page.context["lead"] == call.lead
    assert Lead.objects.count() == 1


def test_the_panel_pages_have_no_inline_code(client, operator, system, manager):
    from kvartal.accounts.tests.test_csp import inline_code

    make_client(manager=manager, phone_normalized="+79123456789")
    call = ring(system)
    client.force_login(operator)
    for url in (reverse("callcentre:panel"), reverse("callcentre:call", args=[call.pk])):
        response = client.get(url)
        assert response.status_code == 200
        assert inline_code(response) == []


def test_an_operator_lands_on_the_panel_after_sign_in(client, operator):
    start = pytest.importorskip("kvartal.accounts.start")
    assert start.start_url(operator) == reverse("callcentre:panel")
