"""The telephony endpoint: each adapter's sample bodies, signatures, replays, matching by
phone, the callback queue and speed-to-lead."""

import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.clients.models import Interaction, Lead
from kvartal.sales.tests.factories import make_client

from ..models import Call, CallEvent, CallState, EventResult, FirstContact, LiveEvent
from ..models import PhoneSystemKind as Kind
from ..telephony import sign_asterisk
from .factories import make_operator, make_system, post_asterisk, post_generic, post_mango

pytestmark = pytest.mark.django_db


def event(kind, call="c1", at=None, **extra):
    at = at or timezone.now()
    return {
        "event_id": f"{call}-{kind}-{extra.pop('n', 0)}",
        "call_id": call,
        "event": kind,
        "at": at.isoformat(),
        "from": "+7 912 345-67-89",
        "to": "+7 343 000-00-00",
        "extension": "101",
        **extra,
    }


def test_a_known_number_lands_on_its_client(client, manager):
    system = make_system()
    operator = make_operator("101")
    buyer = make_client(manager=manager, phone="+7 912 345-67-89", phone_normalized="+79123456789")
    response = post_generic(client, system, event("ringing"))
    assert response.status_code == 200, response.content
    call = Call.objects.get()
    assert call.client == buyer and call.operator == operator
    assert call.state == CallState.RINGING and not call.created_lead
    assert LiveEvent.objects.filter(user=operator, kind="call", data__call=call.pk).exists()
    assert not Lead.objects.exists()


def test_an_unknown_number_creates_a_lead_of_channel_call(client):
    system = make_system()
    make_operator("101")
    post_generic(client, system, event("ringing", **{"from": "89001112233"}))
    call = Call.objects.select_related("lead__channel").get()
    assert call.created_lead and call.lead.channel.code == "call"
    assert call.lead.phone_normalized == "+79001112233" and call.phone_normalized == "+79001112233"
    # the second call from the same number joins the same lead
    post_generic(client, system, event("ringing", call="c2", **{"from": "+79001112233"}))
    assert Lead.objects.count() == 1
    assert Call.objects.get(external_id="c2").lead == call.lead


def test_an_answered_call_goes_on_the_clients_timeline(client, manager):
    system = make_system()
    operator = make_operator("101")
    buyer = make_client(manager=manager, phone_normalized="+79123456789")
    start = timezone.now() - timedelta(seconds=100)
    post_generic(client, system, event("ringing", at=start))
    lead = Call.objects.get().lead
    assert lead is None  # a known client: no lead needed
    post_generic(client, system, event("answered", at=start + timedelta(seconds=8)))
    post_generic(client, system, event("ended", at=start + timedelta(seconds=98), duration=90))
    call = Call.objects.get()
    assert call.state == CallState.ENDED and call.duration == 90 and call.operator == operator
    note = Interaction.objects.get(client=buyer)
    assert note.kind == "call" and "1 min 30 s" in note.text


def test_speed_to_lead_of_a_new_caller(client):
    system = make_system()
    operator = make_operator("101")
    start = timezone.now() - timedelta(seconds=60)
    post_generic(client, system, event("ringing", at=start, **{"from": "+79001112233"}))
    post_generic(client, system, event("answered", at=start + timedelta(seconds=12), n=1))
    contact = FirstContact.objects.get()
    assert contact.by == operator and contact.lead == Call.objects.get().lead
    # the lead arrived with the ringing: it was spoken to 12 s later
    assert contact.seconds == 12


def test_a_missed_call_waits_for_a_callback_until_an_answered_call(client):
    system = make_system()
    operator = make_operator("101")
    start = timezone.now() - timedelta(minutes=10)
    post_generic(client, system, event("ringing", at=start, **{"from": "+79001112233"}))
    post_generic(client, system, event("ended", at=start + timedelta(seconds=30)))
    missed = Call.objects.get()
    assert missed.state == CallState.MISSED and missed.waits_for_callback
    # the operator calls back and is answered
    back = event("answered", call="out1", direction="out", to="+79001112233", n=2)
    back["from"] = "+73430000000"
    post_generic(client, system, back)
    missed.refresh_from_db()
    assert missed.callback_done_at is not None and missed.callback_by == operator
    # and the lead's first contact was that callback
    assert FirstContact.objects.get().call.external_id == "out1"


def test_a_missed_call_on_an_extension_without_an_operator_reaches_the_timeline(client, manager):
    system = make_system()  # nobody has extension 101
    buyer = make_client(manager=manager, phone_normalized="+79123456789")
    start = timezone.now() - timedelta(minutes=5)
    assert post_generic(client, system, event("ringing", at=start)).status_code == 200
    ended = post_generic(client, system, event("ended", at=start + timedelta(seconds=20), n=1))
    assert ended.status_code == 200, ended.content
    call = Call.objects.get()
    assert call.state == CallState.MISSED and call.operator is None
    note = Interaction.objects.get(client=buyer)
    assert note.kind == "call" and note.by is None and "Missed call" in note.text


# --- bad input ----------------------------------------------------------------------------


def test_an_unsigned_event_is_refused_and_changes_nothing(client):
    system = make_system()
    body = json.dumps(event("ringing"))
    url = reverse("callcentre:telephony", args=[system.code])
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"] == "The event is not signed."
    assert not Call.objects.exists() and not CallEvent.objects.exists()


def test_a_wrong_signature_is_refused(client):
    system = make_system()
    response = post_generic(client, system, event("ringing"), secret="not-the-secret")
    assert response.status_code == 403
    assert not Call.objects.exists() and not Lead.objects.exists()


def test_a_replayed_event_is_refused(client):
    system = make_system()
    make_operator("101")
    assert post_generic(client, system, event("ringing")).status_code == 200
    again = post_generic(client, system, event("ringing"))
    assert again.status_code == 409
    assert again.json()["error"] == "This event was already received."
    assert CallEvent.objects.count() == 1 and LiveEvent.objects.count() == 1


def test_an_old_event_is_refused_as_a_replay(client):
    system = make_system()
    response = post_generic(client, system, event("ringing"), ts=int(time.time()) - 3600)
    assert response.status_code == 403
    assert not CallEvent.objects.exists()


def test_an_unknown_extension_keeps_the_call_without_an_operator(client):
    system = make_system()
    make_operator("101")
    response = post_generic(client, system, event("ringing", extension="999"))
    assert response.status_code == 200
    assert response.json()["events"][0]["result"] == EventResult.UNKNOWN_EXTENSION
    call = Call.objects.get()
    assert call.operator is None and call.lead is not None
    assert not LiveEvent.objects.exists()


def test_ended_before_ringing_is_kept_in_order(client):
    system = make_system()
    make_operator("101")
    start = timezone.now() - timedelta(minutes=2)
    post_generic(client, system, event("ended", at=start + timedelta(seconds=70), duration=40))
    late = post_generic(client, system, event("ringing", at=start))
    assert late.json()["events"][0]["result"] == EventResult.LATE
    call = Call.objects.get()
    assert call.state == CallState.ENDED and call.started_at == start
    assert call.duration == 40 and CallEvent.objects.count() == 2


def test_a_10_mb_body_is_refused_before_it_is_read(client):
    system = make_system()
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    url = reverse("callcentre:telephony", args=[system.code])
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 413
    assert not CallEvent.objects.exists()


@pytest.mark.parametrize(
    "change,message",
    [
        ({"event": "exploded"}, "“event” must be one of"),
        ({"at": "yesterday"}, "“at” must be an ISO 8601"),
        ({"at": "2026-01-01T10:00:00"}, "“at” must carry its time zone."),
        ({"duration": -5}, "“duration” must be between"),
        ({"call_id": ""}, "“call_id” is required."),
        ({"recording_url": "file:///etc/passwd"}, "“recording_url” must be an http(s)"),
    ],
)
def test_bad_fields_are_refused_with_a_message(client, change, message):
    system = make_system()
    response = post_generic(client, system, {**event("ended"), **change})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Call.objects.exists()


def test_an_unknown_or_inactive_phone_system_is_not_found(client):
    system = make_system(is_active=False)
    assert post_generic(client, system, event("ringing")).status_code == 404


# --- Asterisk / FreePBX -------------------------------------------------------------------


def test_asterisk_dialplan_curl(client, manager):
    system = make_system(Kind.ASTERISK)
    operator = make_operator("201")
    buyer = make_client(manager=manager, phone_normalized="+79123456789")
    base = {"uniqueid": "1733390000.42", "caller": "89123456789", "called": "3430000000"}
    assert (
        post_asterisk(client, system, {**base, "event": "ringing", "ext": "201"}).status_code == 200
    )
    assert (
        post_asterisk(client, system, {**base, "event": "answered", "ext": "201"}).status_code
        == 200
    )
    response = post_asterisk(
        client,
        system,
        {
            **base,
            "event": "ended",
            "ext": "201",
            "status": "ANSWER",
            "duration": "75",
            "recording": "http://pbx.local/rec/1733390000.42.wav",
        },
    )
    assert response.status_code == 200, response.content
    call = Call.objects.get()
    assert (call.client, call.operator, call.state, call.duration) == (buyer, operator, "ended", 75)
    assert call.recording_url.endswith(".wav")


def test_asterisk_noanswer_is_a_missed_call(client):
    system = make_system(Kind.ASTERISK)
    make_operator("201")
    base = {"uniqueid": "1733390000.43", "caller": "+79001112233", "ext": "201"}
    post_asterisk(client, system, {**base, "event": "ringing"})
    post_asterisk(client, system, {**base, "event": "ended", "status": "NOANSWER"})
    assert Call.objects.get().state == CallState.MISSED


def test_asterisk_wrong_key_is_refused(client):
    system = make_system(Kind.ASTERISK)
    fields = {"uniqueid": "1.1", "caller": "+79001112233", "event": "ringing"}
    assert post_asterisk(client, system, fields, secret="wrong").status_code == 403
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "field,forged",
    [
        ("direction", "out"),
        ("called", "3439999999"),
        ("status", "NOANSWER"),
        ("duration", "9999"),
        ("recording", "https://evil.example/x.wav"),
        ("linkedid", "other-call"),
    ],
)
def test_asterisk_every_field_read_is_signed(client, field, forged):
    from urllib.parse import urlencode

    system = make_system(Kind.ASTERISK)
    fields = {
        "event": "ended",
        "uniqueid": "1733390000.44",
        "linkedid": "1733390000.44",
        "caller": "+79001112233",
        "called": "3430000000",
        "ext": "201",
        "direction": "in",
        "status": "ANSWER",
        "duration": "60",
        "recording": "https://pbx.local/rec/1.wav",
        "ts": str(int(time.time())),
    }
    fields["sig"] = sign_asterisk(system.secret, fields)
    fields[field] = forged
    response = client.post(
        reverse("callcentre:telephony", args=[system.code]),
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 403
    assert not CallEvent.objects.exists() and not Call.objects.exists()


def test_asterisk_a_colon_cannot_move_between_signed_fields(client):
    system = make_system(Kind.ASTERISK)
    fields = {"event": "ringing", "uniqueid": "1.2", "caller": "+7900:1112233"}
    response = post_asterisk(client, system, fields)
    assert response.status_code == 400 and "must not contain" in response.json()["error"]
    assert not Call.objects.exists()


def test_events_come_by_post_only(client):
    system = make_system(Kind.ASTERISK)
    fields = {"event": "ringing", "uniqueid": "1.3", "caller": "+79001112233"}
    fields["ts"] = str(int(time.time()))
    fields["sig"] = sign_asterisk(system.secret, fields)
    response = client.get(reverse("callcentre:telephony", args=[system.code]), fields)
    assert response.status_code == 405
    assert not CallEvent.objects.exists()


def test_a_body_beyond_its_content_length_is_refused_by_its_size(settings):
    from django.test import RequestFactory

    from ..views.telephony import telephony_event

    settings.CALLCENTRE_MAX_BODY = 1024
    system = make_system()
    body = json.dumps({"event_id": "x" * 4096}).encode()
    request = RequestFactory().post("/", body, content_type="application/json")
    request.META["CONTENT_LENGTH"] = ""  # chunked: no length announced, the body still comes
    response = telephony_event(request, code=system.code)
    assert response.status_code == 413
    assert not CallEvent.objects.exists()


# --- Mango Office -------------------------------------------------------------------------


def mango_call(state, seq, **extra):
    return {
        "entry_id": "MTAwMjQ1Njc6MTM=",
        "call_id": "MTAwMjQ1Njc6MTM6MQ==",
        "timestamp": int(time.time()),
        "seq": seq,
        "call_state": state,
        "location": "abonent",
        "from": {"number": "79123456789"},
        "to": {
            "extension": "301",
            "number": "sip:operator@vpbx.mangosip.ru",
            "line_number": "73430000000",
        },
        **extra,
    }


def test_mango_office_webhooks(client, manager):
    system = make_system(Kind.MANGO)
    operator = make_operator("301")
    buyer = make_client(manager=manager, phone_normalized="+79123456789")
    assert post_mango(client, system, "call", mango_call("Appeared", 1)).status_code == 200
    assert post_mango(client, system, "call", mango_call("OnHold", 2)).json() == {"events": []}
    assert post_mango(client, system, "call", mango_call("Connected", 3)).status_code == 200
    assert post_mango(client, system, "call", mango_call("Disconnected", 4)).status_code == 200
    now = int(time.time())
    summary = {
        "entry_id": "MTAwMjQ1Njc6MTM=",
        "call_direction": 1,
        "from": {"number": "79123456789"},
        "to": {"extension": "301"},
        "line_number": "73430000000",
        "create_time": now - 100,
        "forward_time": now - 95,
        "talk_time": now - 90,
        "end_time": now,
        "entry_result": 1,
        "disconnect_reason": 1110,
    }
    assert post_mango(client, system, "summary", summary).status_code == 200
    call = Call.objects.get()
    assert (call.client, call.operator, call.state, call.duration) == (buyer, operator, "ended", 90)
    assert call.line == "73430000000"
    assert CallEvent.objects.count() == 4  # OnHold is not an event for the call centre


def test_mango_office_bad_sign_is_refused(client):
    system = make_system(Kind.MANGO)
    response = post_mango(client, system, "call", mango_call("Appeared", 1), salt="wrong")
    assert response.status_code == 403
    assert not Call.objects.exists()
