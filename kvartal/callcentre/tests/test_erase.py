"""Erasing a client's personal data reaches the call centre: the calls' numbers, notes and
recordings, the PBX's raw events, the history summary; a merged duplicate's calls go to the
kept client."""

import json

import pytest
from django.utils import timezone

from kvartal.clients import services as client_services

from ..models import Call, CallEvent, CallState, HistorySummary
from ..services import CallEventData, call_event_apply, panel_note, summary_refresh
from .factories import make_operator, make_system

pytestmark = pytest.mark.django_db
DIGITS = "9123456789"


def _call(system, phone, call_id, kind=CallState.RINGING):
    return call_event_apply(
        data=CallEventData(
            system=system,
            event_id=f"{call_id}-{kind}",
            call_id=call_id,
            kind=kind,
            at=timezone.now(),
            phone=phone,
            extension="101",
            recording_url="https://pbx.local/rec/x.wav" if kind == CallState.ENDED else "",
            payload={"from": phone, "to": "+73430000000", "extension": "101"},
        )
    ).call


def test_erasing_a_client_leaves_no_number_note_or_summary_of_them(manager):
    operator = make_operator("101")
    system = make_system()
    buyer = client_services.client_create(
        by=manager, last_name="Петрова", first_name="Анна", phone="+7 912 345-67-89"
    )
    call = _call(system, "+7 912 345-67-89", "c1")
    assert call.client == buyer
    _call(system, "+7 912 345-67-89", "c1", kind=CallState.ANSWERED)
    _call(system, "+7 912 345-67-89", "c1", kind=CallState.ENDED)
    panel_note(by=operator, text="Петрова просит двушку", client=buyer, call=call)
    Call.objects.filter(pk=call.pk).update(outcome="lost", outcome_reason="Петрова передумала")
    summary_refresh(client=buyer)
    assert HistorySummary.objects.get(client=buyer).sentences
    other = _call(system, "+7 999 000-00-00", "c2")  # another caller's: untouched

    client_services.client_erase(client=buyer, by=manager)

    call.refresh_from_db()
    assert (call.phone, call.phone_normalized, call.note, call.outcome_reason) == ("", "", "", "")
    assert call.recording_url == "" and call.client_id == buyer.pk and call.duration >= 0
    for event in CallEvent.objects.filter(call=call):
        assert event.payload == {}
    texts = json.dumps(
        list(Call.objects.values()) + list(CallEvent.objects.values("payload")), default=str
    )
    assert DIGITS not in texts and "Петрова" not in texts
    assert not HistorySummary.objects.filter(client=buyer).exists()
    other.refresh_from_db()
    assert other.phone_normalized == "+79990000000"
    assert CallEvent.objects.get(call=other).payload["from"] == "+7 999 000-00-00"


def test_a_merged_duplicates_calls_go_to_the_kept_client(manager):
    make_operator("101")
    system = make_system()
    duplicate = client_services.client_create(
        by=manager, first_name="Анна", phone="+7 912 345-67-89"
    )
    call = _call(system, "+7 912 345-67-89", "c1")
    assert call.client == duplicate
    kept = client_services.client_create(by=manager, first_name="Анна", last_name="Петрова")
    client_services.client_merge(source=duplicate, target=kept, by=manager)
    call.refresh_from_db()
    assert call.client == kept


def test_erasing_a_client_clears_answers_typed_to_open_questions_and_keeps_chosen_ones(manager):
    from ..models import CallAnswer, Script, ScriptStep, ScriptVariant
    from ..scripts import answer_save

    make_operator("101")
    system = make_system()
    buyer = client_services.client_create(
        by=manager, last_name="Петрова", first_name="Анна", phone="+7 912 345-67-89"
    )
    call = _call(system, "+7 912 345-67-89", "c1")
    variant = ScriptVariant.objects.create(script=Script.objects.create(name="Входящий"), name="A")
    asked = ScriptStep.objects.create(variant=variant, code="who", order=1, text="Кто вы?")
    chosen = ScriptStep.objects.create(
        variant=variant, code="rooms", order=2, text="Комнат?", choices=["1", "2"]
    )
    Call.objects.filter(pk=call.pk).update(variant=variant)
    call.refresh_from_db()
    answer_save(call=call, by=manager, step=asked.pk, answer="Петрова Анна, врач")
    answer_save(call=call, by=manager, step=chosen.pk, answer="2")

    client_services.client_erase(client=buyer, by=manager)

    answers = dict(CallAnswer.objects.filter(call=call).values_list("step__code", "answer"))
    assert answers == {"who": "", "rooms": "2"}
