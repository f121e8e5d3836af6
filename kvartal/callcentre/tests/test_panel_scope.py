"""The panel through the user's row scope: a manager opens and changes only the calls of
their own callers, an operator every caller's; the call in hand is the named caller's."""

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.audit.models import AuditEvent
from kvartal.clients.models import Interaction
from kvartal.core.testing import make_user
from kvartal.sales.models import Hold
from kvartal.sales.tests.factories import make_client, make_unit

from ..models import Call, CallAnswer, CallState
from .factories import make_operator, make_system
from .test_panel import htmx, ring

pytestmark = pytest.mark.django_db


@pytest.fixture
def system(db):
    return make_system()


@pytest.fixture
def rival(db):
    return make_user(Role.SALES_MANAGER, username="rival")


def missed(system, phone, call_id):
    ring(system, phone=phone, call_id=call_id)
    return ring(system, phone=phone, call_id=call_id, kind=CallState.MISSED)


def test_a_manager_opens_and_changes_no_other_managers_call(client, system, manager, rival):
    make_operator("101")
    theirs = make_client(manager=rival, phone_normalized="+79123456789", last_name="Чужаков")
    call = missed(system, "+79123456789", "c1")
    lead_call = ring(system, phone="+79005554433", call_id="c2")  # a new caller's lead
    Call.objects.filter(pk=lead_call.pk).update(operator=None)
    lead_call.lead.manager = rival
    lead_call.lead.save()
    client.force_login(manager)
    for one in (call, lead_call):
        assert htmx(client, "get", reverse("callcentre:call", args=[one.pk])).status_code == 404
    before = Call.objects.values().get(pk=call.pk)
    refused = [
        htmx(
            client,
            "post",
            reverse("callcentre:outcome", args=[call.pk]),
            {"outcome": "lost", "reason": "x"},
        ),
        htmx(
            client,
            "post",
            reverse("callcentre:answer", args=[call.pk]),
            {"step": "1", "answer": "x"},
        ),
        client.post(reverse("callcentre:callback-done", args=[call.pk])),
    ]
    assert [r.status_code for r in refused] == [404, 404, 404]
    assert Call.objects.values().get(pk=call.pk) == before
    assert not CallAnswer.objects.exists()
    # nor in the callback queue
    page = client.get(reverse("callcentre:panel"))
    assert page.context["queue"] == [] and "Чужаков" not in page.content.decode()
    # their own caller's call they do open
    mine = make_client(manager=manager, phone_normalized="+79120000001")
    own = missed(system, "+79120000001", "c3")
    assert own.client == mine
    assert htmx(client, "get", reverse("callcentre:call", args=[own.pk])).status_code == 200
    assert client.get(reverse("callcentre:panel")).context["queue"] == [own]
    assert theirs.pk != mine.pk


def test_an_operator_sees_every_callers_call_and_the_whole_queue(client, system, manager, rival):
    make_client(manager=rival, phone_normalized="+79123456789", last_name="Чужаков")
    make_client(manager=manager, phone_normalized="+79120000001")
    operator = make_operator("101")
    first = missed(system, "+79123456789", "c1")
    second = missed(system, "+79120000001", "c2")
    client.force_login(operator)
    for one in (first, second):
        page = htmx(client, "get", reverse("callcentre:call", args=[one.pk]))
        assert page.status_code == 200
    assert client.get(reverse("callcentre:panel")).context["queue"] == [first, second]
    done = client.post(reverse("callcentre:callback-done", args=[first.pk]))
    assert done.status_code == 302
    first.refresh_from_db()
    assert first.callback_by == operator


def test_a_call_not_of_the_named_caller_is_refused_and_nothing_changes(
    client, system, manager, rival
):
    buyer = make_client(manager=manager, phone_normalized="+79120000001")
    make_client(manager=rival, phone_normalized="+79123456789")
    operator = make_operator("101")
    other = ring(system, phone="+79123456789", call_id="c1")
    client.force_login(operator)
    base = reverse("callcentre:subject", args=["client", buyer.pk])
    assert htmx(client, "get", base + f"?call={other.pk}").status_code == 404
    unit = make_unit()
    note = htmx(client, "post", base + "note/", {"text": "Чужая заметка", "call": other.pk})
    hold = htmx(client, "post", base + "hold/", {"unit": unit.pk, "call": other.pk})
    assert (note.status_code, hold.status_code) == (404, 404)
    other.refresh_from_db()
    assert other.note == "" and other.outcome == ""
    assert not Interaction.objects.filter(text="Чужая заметка").exists()
    assert not Hold.objects.exists()


def test_an_oral_hold_links_the_call_through_the_attach_service(client, system):
    operator = make_operator("101")
    call = ring(system, phone="+79005554433")
    client.force_login(operator)
    url = reverse("callcentre:hold", args=["lead", call.lead.pk])
    assert htmx(client, "post", url, {"unit": make_unit().pk, "call": call.pk}).status_code == 200
    call.refresh_from_db()
    assert call.client == Hold.objects.get().client
    assert AuditEvent.objects.filter(action="call_attach_client", object_id=str(call.pk)).exists()


def test_a_call_ringing_for_a_manager_from_another_managers_client_says_whose_it_is(
    client, system, manager, rival
):
    """The panel pops every call that rings on the user's extension; when the caller is out
    of their row scope they learn who looks after the caller (and that person's extension),
    not the caller's context, and they can change nothing on it."""
    from ..models import Extension

    Extension.objects.create(number="201", user=manager)
    Extension.objects.create(number="301", user=rival)
    make_client(manager=rival, phone_normalized="+79123456789", last_name="Чужаков")
    call = ring(system, phone="+79123456789", ext="201", call_id="x1")
    assert call.operator == manager
    client.force_login(manager)
    assert client.get(reverse("callcentre:panel")).context["call"] == call
    for answer in (
        htmx(client, "get", reverse("callcentre:call", args=[call.pk])),
        client.get(reverse("callcentre:call", args=[call.pk])),
    ):
        page = answer.content.decode()
        assert answer.status_code == 200
        assert rival.short_name in page and "301" in page and "Чужаков" not in page
    before = Call.objects.values().get(pk=call.pk)
    refused = htmx(
        client, "post", reverse("callcentre:outcome", args=[call.pk]), {"outcome": "lost"}
    )
    assert refused.status_code == 404 and Call.objects.values().get(pk=call.pk) == before
    # a call that rang for somebody else stays out of reach altogether
    other = ring(system, phone="+79123456789", ext="301", call_id="x2")
    assert htmx(client, "get", reverse("callcentre:call", args=[other.pk])).status_code == 404
