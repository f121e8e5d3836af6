"""The call centre's writes: call events from the phone systems, the callback queue,
speed-to-lead, the operator's actions on a call.

Every phone system's event is first translated by its adapter (``telephony``) into one
``CallEventData``; ``call_event_apply`` is the one writer of calls.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal import audit
from kvartal.clients.models import Channel, Client, InteractionKind, Lead, LeadStatus
from kvartal.clients.normalize import format_phone, normalize_phone
from kvartal.clients.services import find_duplicates, interaction_add, lead_create
from kvartal.core.errors import DomainError

from . import scripts
from .models import (
    STATE_RANK,
    Call,
    CallDirection,
    CallEvent,
    CallOutcome,
    CallState,
    EventResult,
    Extension,
    FirstContact,
    HistorySummary,
    LiveEvent,
    PhoneSystem,
    SummaryModel,
)


class EventReplayed(DomainError):
    """This event (same phone system, same event id) was received before."""

    code = "replayed"


class CallRefused(DomainError):
    """An operator's action on a call was refused."""


@dataclass
class CallEventData:
    """One call event in Kvartal's terms, whatever PBX sent it.

    ``phone``: the other party's number (the caller of an incoming call, the number dialled
    by an outgoing one); ``line``: our number; ``extension``: the internal number of the
    operator rung or talking."""

    system: PhoneSystem
    event_id: str
    call_id: str
    kind: str  # a CallState
    at: datetime
    direction: str = CallDirection.IN
    phone: str = ""
    line: str = ""
    extension: str = ""
    duration: int | None = None
    recording_url: str = ""
    payload: dict = field(default_factory=dict)


def _normalised(raw: str) -> str:
    """The E.164 form, or ``""`` for a number that is withheld or not a phone number."""
    try:
        return normalize_phone(raw)
    except ValidationError:
        return ""


def _match(call: Call, *, at: datetime) -> None:
    """Link a new call to the client or lead its phone matches; an incoming call from an
    unknown number creates a lead of channel "call"."""
    phone = call.phone_normalized
    if not phone:
        return
    call.client = find_duplicates(phone=phone).first()
    open_leads = Lead.objects.filter(phone_normalized=phone).exclude(status=LeadStatus.LOST)
    if call.client is not None:
        open_leads = Lead.objects.filter(client=call.client).exclude(status=LeadStatus.LOST)
    call.lead = open_leads.order_by("-created_at", "-pk").first()
    if call.client is None and call.lead is not None and call.lead.client_id:
        call.client = call.lead.client
    if call.client is None and call.lead is None and call.direction == CallDirection.IN:
        channel = Channel.objects.filter(code="call").first()
        if channel is None:  # an administrator deleted it: recreate rather than lose the call
            channel = Channel.objects.create(code="call", name="Call")
        call.lead = lead_create(
            by=None, channel=channel, phone=call.phone, message=_("Incoming call"), at=at
        )
        call.created_lead = True


def _derive_state(call: Call) -> str:
    if call.ended_at is not None:
        if call.answered_at is not None:
            return CallState.ENDED
        return CallState.MISSED if call.direction == CallDirection.IN else CallState.ENDED
    if call.answered_at is not None:
        return CallState.ANSWERED
    return CallState.RINGING


def _first_contact(call: Call) -> None:
    """Speed-to-lead: the first answered call with a lead's phone is its first contact."""
    if call.lead_id is None or call.answered_at is None:
        return
    if FirstContact.objects.filter(lead_id=call.lead_id).exists():
        return
    lead = call.lead
    seconds = max(0, int((call.answered_at - lead.created_at).total_seconds()))
    FirstContact.objects.create(
        lead=lead, at=call.answered_at, by=call.operator, call=call, seconds=seconds
    )


def _close_callbacks(call: Call) -> None:
    """An answered call with a number ends that number's wait in the callback queue."""
    if call.answered_at is None or not call.phone_normalized:
        return
    missed = Call.objects.filter(
        phone_normalized=call.phone_normalized,
        state=CallState.MISSED,
        callback_done_at__isnull=True,
        started_at__lte=call.answered_at,
    ).exclude(pk=call.pk)
    audit.update(
        missed,
        where={"missed_before_call": call.pk},
        callback_done_at=call.answered_at,
        callback_by=call.operator,
    )


def _log_on_client(call: Call) -> None:
    """An ended call appears on the client's timeline (the card, the summary)."""
    if call.client_id is None or call.client.erased_at or call.client.merged_into_id:
        return
    if call.state == CallState.MISSED:
        text = _("Missed call from %(phone)s") % {"phone": call.phone}
    else:
        what = _("Incoming call") if call.direction == CallDirection.IN else _("Outgoing call")
        minutes, seconds = divmod(call.duration, 60)
        text = _("%(what)s, %(min)d min %(sec)02d s, operator %(who)s") % {
            "what": what,
            "min": minutes,
            "sec": seconds,
            "who": call.operator.short_name if call.operator else "—",
        }
    interaction_add(
        client=call.client, by=call.operator, kind=InteractionKind.CALL, text=text, at=call.ended_at
    )


def summary_later(client_id: int | None) -> None:
    """Recompute the client's history summary by a job, once this transaction commits."""
    if client_id is None:
        return
    from kvartal.core.jobs import enqueue_on_commit

    from .tasks import summary_refresh_job

    enqueue_on_commit(summary_refresh_job, client_id)


def live_push(*, user, kind: str, **data) -> LiveEvent:
    """Put an event on ``user``'s live feed (read by their open panel)."""
    return LiveEvent.objects.create(user=user, kind=kind, data=data)


@transaction.atomic
@audit.service
def call_event_apply(*, data: CallEventData) -> CallEvent:
    """Record one PBX event and bring its call up to date.

    An event is taken once: a second one with the same ``event_id`` from the same phone system
    raises ``EventReplayed`` (and the database refuses it too). Events may come in any order:
    each fills in its own moment (rung, answered, ended), the call's state follows from the
    moments it has, and an event older than the call's state is kept as ``late``. An unknown
    extension keeps the call without an operator (``unknown_ext``). The call is linked by
    phone to its client or lead (an unknown caller becomes a lead of channel "call"); an
    answered call ends its number's wait in the callback queue and is the first contact of its
    lead (speed-to-lead); an ended call goes on the client's timeline; a ringing or answered
    call pops up on the operator's panel.
    """
    system = data.system
    if CallEvent.objects.filter(system=system, event_id=data.event_id).exists():
        raise EventReplayed(_("This event was already received."))
    call = Call.objects.select_for_update().filter(system=system, external_id=data.call_id).first()
    created = call is None
    if created:
        phone = (data.phone or "").strip()[:32]
        normalised = _normalised(phone)
        call = Call(
            system=system,
            external_id=data.call_id[:128],
            direction=data.direction,
            phone=format_phone(normalised) if normalised else phone,
            phone_normalized=normalised,
            line=(data.line or "")[:32],
            started_at=data.at,
        )
        _match(call, at=data.at)
    result = EventResult.APPLIED
    if not created and STATE_RANK[data.kind] < STATE_RANK[call.state]:
        result = EventResult.LATE
    operator = None
    if data.extension:
        ext = Extension.objects.filter(number=data.extension, is_active=True)
        ext = ext.select_related("user").first()
        if ext is None or not ext.user.is_active:
            result = EventResult.UNKNOWN_EXTENSION
        else:
            operator = ext.user
    # an operator is who answered; while ringing, who is being rung (a ring group moves on)
    if operator is not None and (call.answered_at is None or data.kind == CallState.ANSWERED):
        call.operator = operator
        call.extension = data.extension[:32]
    if call.variant_id is None and call.direction == CallDirection.IN:
        scripts.assign(call)
    was_state = call.state
    if data.kind == CallState.RINGING or data.at < call.started_at:
        call.started_at = min(call.started_at, data.at)
    if data.kind == CallState.ANSWERED and call.answered_at is None:
        call.answered_at = data.at
    if data.kind in (CallState.ENDED, CallState.MISSED) and call.ended_at is None:
        call.ended_at = data.at
        if data.kind == CallState.ENDED and data.duration and call.answered_at is None:
            # the hang-up came first (or alone): it says how long they talked
            call.answered_at = data.at - timedelta(seconds=data.duration)
    if data.duration is not None:
        call.duration = max(0, int(data.duration))
    elif call.answered_at and call.ended_at:
        call.duration = max(0, int((call.ended_at - call.answered_at).total_seconds()))
    if data.recording_url:
        call.recording_url = data.recording_url[:500]
    call.state = _derive_state(call)
    call.save()
    try:
        with transaction.atomic():
            event = CallEvent.objects.create(
                system=system,
                event_id=data.event_id[:200],
                call=call,
                kind=data.kind,
                at=data.at,
                result=result,
                payload=data.payload,
            )
    except IntegrityError as error:  # a replay racing the first copy
        raise EventReplayed(_("This event was already received.")) from error
    if call.state != was_state or created:
        _close_callbacks(call)
        _first_contact(call)
        if call.state in (CallState.ENDED, CallState.MISSED) and (
            created or was_state not in (CallState.ENDED, CallState.MISSED)
        ):
            _log_on_client(call)
            summary_later(call.client_id)
    if call.operator_id and result != EventResult.LATE:
        live_push(user=call.operator, kind="call", call=call.pk, state=call.state)
    return event


# --- the operator's actions -------------------------------------------------------------


def callback_queue(user):
    """Missed incoming calls nobody has called back yet, of the callers in ``user``'s row
    scope (an operator: every one), the longest waiting first."""
    return (
        Call.objects.for_user(user)
        .filter(state=CallState.MISSED, callback_done_at__isnull=True)
        .select_related("client", "lead")
        .order_by("started_at", "pk")
    )


@transaction.atomic
@audit.service
def call_callback_done(*, call: Call, by, at: datetime | None = None) -> Call:
    """Take a missed call off the callback queue (the operator called back)."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.state != CallState.MISSED:
        raise CallRefused(_("Only a missed call waits for a callback."))
    if call.callback_done_at is not None:
        raise CallRefused(_("Somebody has already called back."))
    call.callback_done_at = at or timezone.now()
    call.callback_by = by
    call.save(update_fields=["callback_done_at", "callback_by"])
    return call


@transaction.atomic
@audit.service
def call_set_outcome(*, call: Call, by, outcome: str, reason: str = "", at=None) -> Call:
    """Record how the call ended for the business (visit booked, oral hold, request sent,
    call back later, lost with a reason)."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    if outcome not in CallOutcome.values:
        raise ValidationError({"outcome": _("Choose an outcome.")})
    reason = (reason or "").strip()
    if outcome == CallOutcome.LOST and not reason:
        raise ValidationError({"reason": _("Say why the call was lost.")})
    call.outcome = outcome
    call.outcome_reason = reason[:300]
    call.outcome_at = at or timezone.now()
    if call.operator_id is None:
        call.operator = by
    call.save(update_fields=["outcome", "outcome_reason", "outcome_at", "operator"])
    return call


@transaction.atomic
@audit.service
def call_attach_client(*, call: Call, client: Client, by) -> Call:
    """Link a call (and its lead, if it has none) to a client the operator found."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    if client.erased_at or client.merged_into_id:
        raise CallRefused(_("This client record is no longer in use."))
    call.client = client
    call.save(update_fields=["client"])
    return call


# --- the panel's one-click actions ------------------------------------------------------
# ``client`` or ``lead`` is the caller as the panel shows them; ``call`` the call in hand.

ORAL_HOLD_DAYS = 1
TRANSFER_DUE = timedelta(hours=1)


def _client_of(*, client: Client | None, lead: Lead | None, by) -> Client:
    """The caller's client; a caller known only as a lead is converted first (a hold or a
    visit needs a client)."""
    if client is not None:
        return client
    if lead is None:
        raise CallRefused(_("Open a caller first."))
    from kvartal.clients.services import lead_convert

    return lead_convert(lead=lead, by=by)


def _note_outcome(call: Call | None, *, by, outcome: str) -> None:
    if call is not None and not call.outcome:
        call_set_outcome(call=call, by=by, outcome=outcome)


@transaction.atomic
@audit.service
def panel_oral_hold(
    *, unit, by, client: Client | None = None, lead: Lead | None = None, call: Call | None = None
):
    """An oral hold of ``unit`` for the caller, for one day, through the sales hold service
    (its lock and its one availability rule: when two people hold at once, one wins and the
    other gets ``UnitNotAvailable``). The hold's manager is the client's manager, or the
    operator when the client has none; the call's outcome becomes "oral hold"."""
    from kvartal.sales.models import HoldKind
    from kvartal.sales.services.holds import hold_create

    client = _client_of(client=client, lead=lead, by=by)
    manager = client.manager if client.manager and client.manager.is_active else by
    hold = hold_create(
        unit=unit,
        client=client,
        manager=manager,
        by=by,
        kind=HoldKind.ORAL,
        days=ORAL_HOLD_DAYS,
        comment=_("Oral hold from a call"),
    )
    if call is not None:
        if call.client_id is None:
            call_attach_client(call=call, client=client, by=by)
        _note_outcome(call, by=by, outcome=CallOutcome.ORAL_HOLD)
    summary_later(client.pk)
    return hold


@transaction.atomic
@audit.service
def panel_note(*, by, text: str, client: Client | None = None, lead: Lead | None = None, call=None):
    """A note on the caller: on the client's timeline, or on the call of a caller who is only
    a lead."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note.")})
    if client is not None:
        interaction_add(client=client, by=by, kind=InteractionKind.NOTE, text=text)
        summary_later(client.pk)
    if call is not None:
        call = Call.objects.select_for_update().get(pk=call.pk)
        call.note = f"{call.note}\n{text}".strip()
        call.save(update_fields=["note"])
    elif client is None:
        raise CallRefused(_("A note on a caller known only as a lead goes on their call."))


@transaction.atomic
@audit.service
def panel_task(
    *,
    by,
    title: str,
    due_at: datetime,
    assignee,
    client: Client | None = None,
    lead: Lead | None = None,
    note: str = "",
    all_day: bool = False,
):
    from kvartal.clients.services import task_create

    return task_create(
        by=by,
        title=title,
        due_at=due_at,
        assignee=assignee,
        client=client,
        lead=lead,
        note=note,
        all_day=all_day,
    )


@transaction.atomic
@audit.service
def panel_visit(
    *,
    by,
    at: datetime,
    manager,
    client: Client | None = None,
    lead: Lead | None = None,
    call: Call | None = None,
    note: str = "",
):
    """Book a visit to the sales office: a task for the manager who will receive the caller
    at that time (they are told); the call's outcome becomes "visit booked"."""
    from kvartal.clients.services import task_create

    if at <= timezone.now():
        raise ValidationError({"at": _("A visit is booked for a time in the future.")})
    name = client.display_name if client else str(lead)
    task = task_create(
        by=by,
        title=_("Visit to the sales office: %(name)s") % {"name": name},
        due_at=at,
        assignee=manager,
        client=client,
        lead=lead if client is None else None,
        note=note,
    )
    _note_outcome(call, by=by, outcome=CallOutcome.VISIT)
    summary_later(client.pk if client else None)
    return task


@transaction.atomic
@audit.service
def panel_transfer(
    *,
    by,
    manager,
    client: Client | None = None,
    lead: Lead | None = None,
    call: Call | None = None,
    note: str = "",
):
    """Hand the caller to a manager: a task to call them back within the hour (the manager is
    told), and the caller becomes theirs when nobody had them. Operators own nobody."""
    from kvartal.accounts.models import Role
    from kvartal.clients.services import client_reassign, lead_assign, task_create

    if not manager.is_active or manager.role not in (Role.SALES_MANAGER, Role.SALES_HEAD):
        raise CallRefused(_("Callers are handed to active managers and sales heads only."))
    if client is not None and client.manager_id is None:
        client_reassign(client=client, manager=manager, by=by)
    elif client is None and lead is not None and lead.manager_id is None:
        lead_assign(lead=lead, manager=manager, by=by)
    name = client.display_name if client else str(lead)
    return task_create(
        by=by,
        title=_("Call back: %(name)s") % {"name": name},
        due_at=timezone.now() + TRANSFER_DUE,
        assignee=manager,
        client=client,
        lead=lead if client is None else None,
        note=note or (call.note if call else ""),
    )


# --- history summaries ------------------------------------------------------------------


def summary_refresh(*, client: Client) -> HistorySummary:
    """Recompute ``client``'s summary: the built-in one always; the model's text in each
    language when the administrator has switched the model on (a failure leaves it empty and
    the built-in one is shown)."""
    from django.conf import settings

    from . import llm, summary

    fresh = summary.compute(client)
    texts = {}
    config = SummaryModel.current()
    if config.enabled and config.url:
        for code, _name in settings.LANGUAGES:
            text = llm.summarise(summary=fresh, client=client, language=code, config=config)
            if text:
                texts[code] = text
    with transaction.atomic():
        row, _created = HistorySummary.objects.update_or_create(
            client=client,
            defaults={
                "facts": fresh.facts,
                "sentences": fresh.sentences,
                "model_texts": texts,
                "computed_at": fresh.computed_at,
            },
        )
    return row


def summaries_refresh_recent(*, since: datetime, limit: int = 500) -> int:
    """Recompute the summaries of clients whose history moved since ``since`` (calls, notes,
    visits, tasks, holds, needs). Returns how many."""
    from kvartal.clients.models import Interaction, NeedChange, Task, Visit
    from kvartal.sales.models import Hold

    ids: set[int] = set()
    sources = [
        Call.objects.filter(started_at__gte=since, client__isnull=False),
        Interaction.objects.filter(at__gte=since),
        Visit.objects.filter(at__gte=since),
        Task.objects.filter(created_at__gte=since, client__isnull=False),
        Hold.objects.filter(starts_at__gte=since),
    ]
    for rows in sources:
        ids |= set(rows.values_list("client_id", flat=True).distinct()[:limit])
    ids |= set(
        NeedChange.objects.filter(at__gte=since).values_list("need__client_id", flat=True)[:limit]
    )
    done = 0
    for client in Client.objects.filter(pk__in=sorted(ids)[:limit], erased_at__isnull=True):
        summary_refresh(client=client)
        done += 1
    return done


def live_prune(*, before: datetime) -> int:
    """Drop live events older than ``before`` (a page reconnecting later starts afresh)."""
    return LiveEvent.objects.filter(at__lt=before).delete()[0]


# --- clients merged and erased (``clients.extensions``; registered in apps.py) ----------


def merge_client_calls(source, target) -> dict[str, int]:
    """A merged duplicate's calls go to the kept client; its history summary goes (the kept
    client's is recomputed)."""
    from .models import HistorySummary

    moved = audit.update(
        Call.objects.filter(client=source), where={"client": source.pk}, client=target
    )
    HistorySummary.objects.filter(client=source).delete()
    summary_later(target.pk)
    return {"calls": moved}


def erase_client_calls(
    clients, names, label: str, phones=frozenset(), tasks=frozenset()
) -> dict[str, int]:
    """The call centre's side of erasing a client's personal data: on the calls of the client
    (and the records merged into it), of its leads and from its numbers, the number, the
    note, the reason of the outcome and the recording's address go; the events' raw payloads
    (the PBX's fields, the number among them) are emptied; the history summary (sentences of
    the notes) and the summary model's exchanges about the client lose their texts; answers
    typed freely to a script's open questions go (answers chosen from a step's list stay: they
    are the A/B figures and say nothing of the person). Who took the call, when, how long and
    its outcome stay (the reports' figures)."""
    from django.db.models import Q

    from .models import CallAnswer, CallEvent, HistorySummary, ModelExchange

    ids = [c.pk for c in clients]
    linked = Call.objects.filter(Q(client_id__in=ids) | Q(lead__client_id__in=ids))
    numbers = set(phones) | set(linked.values_list("phone_normalized", flat=True))
    numbers.discard("")
    calls = Call.objects.filter(
        Q(client_id__in=ids) | Q(lead__client_id__in=ids) | Q(phone_normalized__in=numbers)
    )
    call_ids = list(calls.values_list("pk", flat=True))
    return {
        "calls": audit.update(
            Call.objects.filter(pk__in=call_ids),
            where={"ids": call_ids},
            phone="",
            phone_normalized="",
            note="",
            outcome_reason="",
            recording_url="",
        ),
        "call_events": audit.update(
            CallEvent.objects.filter(call_id__in=call_ids), where={"call": call_ids}, payload={}
        ),
        "script_answers": audit.update(
            CallAnswer.objects.filter(
                call_id__in=call_ids, step__choices=[], step__purpose_branch=False
            ).exclude(answer=""),
            where={"call": call_ids, "typed": True},
            answer="",
        ),
        "summaries": HistorySummary.objects.filter(client_id__in=ids).delete()[0],
        "model_exchanges": audit.update(
            ModelExchange.objects.filter(client_id__in=ids),
            where={"client": ids},
            sent="",
            received="",
        ),
    }
