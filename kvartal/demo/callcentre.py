"""The demo's call centre: a phone system, the operator's extension, a call script with two
variants, and a fortnight of calls from the demo's clients (through the telephony service)."""

import random
from datetime import timedelta

from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.callcentre.models import (
    CallOutcome,
    CallState,
    Extension,
    PhoneSystem,
    PhoneSystemKind,
    Script,
    ScriptStep,
    ScriptVariant,
)
from kvartal.callcentre.services import CallEventData, call_event_apply, call_set_outcome
from kvartal.clients.models import Client

STEPS = {
    "A": [
        ("hello", "Здравствуйте! Компания «Квартал», чем могу помочь?", [], {}, "purpose"),
        ("purpose", "Для чего вы выбираете квартиру?", "purpose", {"investment": "term"}, "rooms"),
        ("rooms", "Сколько комнат вам нужно?", ["студия", "1", "2", "3+"], {}, "visit"),
        (
            "term",
            "На какой срок рассчитываете вложение?",
            ["до года", "1–3 года", "дольше"],
            {},
            "visit",
        ),
        ("visit", "Приглашаю в офис продаж: когда вам удобно?", [], {}, ""),
    ],
    "B": [
        ("hello", "Добрый день! «Квартал». Подберём квартиру за пять минут?", [], {}, "rooms"),
        ("rooms", "Сколько комнат?", ["студия", "1", "2", "3+"], {}, "hold"),
        ("hold", "Забронировать понравившуюся квартиру устно на сутки?", ["да", "нет"], {}, ""),
    ],
}


def setup_callcentre(say, *, seed: int = 42) -> None:
    say("Call centre: phone system, extension, script, calls …")
    system, _created = PhoneSystem.objects.get_or_create(
        code="demo", defaults={"name": "Demo PBX", "kind": PhoneSystemKind.GENERIC}
    )
    operator = User.objects.filter(username="operator", role=Role.OPERATOR).first()
    if operator is not None:
        Extension.objects.get_or_create(number="101", defaults={"user": operator})
    if not Script.objects.exists():
        script = Script.objects.create(name="Входящий звонок")
        for name, steps in STEPS.items():
            variant = ScriptVariant.objects.create(script=script, name=name, weight=1)
            for order, (code, text, choices, branches, nxt) in enumerate(steps):
                ScriptStep.objects.create(
                    variant=variant,
                    code=code,
                    order=order,
                    text=text,
                    choices=choices if isinstance(choices, list) else [],
                    purpose_branch=choices == "purpose",
                    branches=branches,
                    next=nxt,
                )
    if operator is None or system.calls.exists():
        return
    rng = random.Random(seed)
    clients = list(Client.objects.in_use().exclude(phone_normalized="").order_by("pk")[:40])
    now = timezone.now()
    outcomes = [CallOutcome.VISIT, CallOutcome.REQUEST, CallOutcome.CALLBACK, ""]
    for n, client in enumerate(rng.sample(clients, min(20, len(clients)))):
        start = now - timedelta(days=rng.randint(1, 14), minutes=rng.randint(0, 600))
        call_id = f"demo-{n}"
        ring = CallEventData(
            system=system,
            event_id=f"{call_id}-ringing",
            call_id=call_id,
            kind=CallState.RINGING,
            at=start,
            phone=client.phone_normalized,
            extension="101",
        )
        call_event_apply(data=ring)
        missed = rng.random() < 0.2
        if not missed:
            answered = start + timedelta(seconds=rng.randint(3, 25))
            call_event_apply(
                data=CallEventData(
                    **{
                        **ring.__dict__,
                        "event_id": f"{call_id}-a",
                        "kind": CallState.ANSWERED,
                        "at": answered,
                    }
                )
            )
        end = start + timedelta(seconds=rng.randint(40, 400))
        call = call_event_apply(
            data=CallEventData(
                **{**ring.__dict__, "event_id": f"{call_id}-e", "kind": CallState.ENDED, "at": end}
            )
        ).call
        outcome = rng.choice(outcomes)
        if outcome and not missed:
            call_set_outcome(call=call, by=operator, outcome=outcome, at=end)
