"""Consent, the export of a person's data and erasure on request."""

from django.db import transaction
from django.db.models import Case, CharField, Q, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kvartal import audit
from kvartal.accounts.models import Notice
from kvartal.core.errors import DomainError

from .. import extensions
from ..models import (
    Client,
    ClientContact,
    ClientEventKind,
    Consent,
    ContactKind,
    ContactPerson,
    Interaction,
    Lead,
    LeadEvent,
    LeadStatus,
    Need,
    Task,
    Visit,
)
from .clients import _blank_personal, _client_url, _event
from .leads import lead_url

# --- consent, export, erasure -----------------------------------------------------------


@transaction.atomic
@audit.service
def consent_record(
    *,
    client: Client,
    by,
    text_version: str,
    channel: str,
    given_at=None,
    marketing=False,
    at=None,
) -> Consent:
    """Record a consent to personal-data processing (date, version of the text, channel)."""
    if client.erased_at:
        raise DomainError(_("This client's data was erased."))
    consent = Consent(
        client=client,
        text_version=text_version,
        channel=channel,
        given_at=given_at or timezone.now(),
        marketing=marketing,
        recorded_by=by,
    )
    consent.full_clean()
    consent.save()
    _event(client, ClientEventKind.CONSENT, by, at=at, consent=consent.pk, version=text_version)
    return consent


@transaction.atomic
@audit.service
def consent_withdraw(*, consent: Consent, by, at=None) -> Consent:
    if consent.withdrawn_at:
        raise DomainError(_("This consent was already withdrawn."))
    consent.withdrawn_at = at or timezone.now()
    consent.save(update_fields=["withdrawn_at"])
    _event(consent.client, ClientEventKind.CONSENT_WITHDRAWN, by, consent=consent.pk)
    return consent


def _iso(value):
    return value.isoformat() if value is not None else None


def _money(value):
    return str(value) if value is not None else None


def _client_data(client: Client) -> dict:
    return {
        "id": client.pk,
        "kind": client.kind,
        "last_name": client.last_name,
        "first_name": client.first_name,
        "middle_name": client.middle_name,
        "company_name": client.company_name,
        "inn": client.inn,
        "kpp": client.kpp,
        "phone": client.phone,
        "email": client.email,
        "telegram": client.telegram,
        "whatsapp": client.whatsapp,
        "other_messenger": client.other_messenger,
        "birth_date": _iso(client.birth_date),
        "passport_number": client.passport_number,
        "passport_issued_by": client.passport_issued_by,
        "passport_issued_on": client.passport_issued_on,
        "passport_code": client.passport_code,
        "registration_address": client.registration_address,
        "address": client.address,
        "comment": client.comment,
        "manager": str(client.manager) if client.manager else None,
        "created_at": _iso(client.created_at),
    }


def _with_merged(client: Client, *, lock: bool = False) -> list[Client]:
    """``client`` and every record merged into it (directly or through earlier merges)."""
    rows, frontier, seen = [client], [client.pk], {client.pk}
    while frontier:
        found = Client.objects.filter(merged_into_id__in=frontier).exclude(pk__in=seen)
        found = list(found.select_for_update() if lock else found)
        rows += found
        frontier = [c.pk for c in found]
        seen |= set(frontier)
    return rows


@transaction.atomic
@audit.service(kind="export")
def client_export(*, client: Client, by) -> dict:
    """Everything the system holds about a client, as JSON-ready data (the answer to a data
    subject's request), including whatever is left on duplicates merged into it. The export
    itself is written to the client's history."""
    need = Need.objects.filter(client=client).first()
    data = {
        "exported_at": _iso(timezone.now()),
        "client": _client_data(client),
        "merged_duplicates": [_client_data(c) for c in _with_merged(client)[1:]],
        "contacts": [
            {"kind": c.kind, "value": c.value, "note": c.note} for c in client.contacts.all()
        ],
        "contact_people": [
            {"name": p.name, "position": p.position, "phone": p.phone, "email": p.email}
            for p in client.people.all()
        ],
        "consents": [
            {
                "given_at": _iso(c.given_at),
                "text_version": c.text_version,
                "channel": c.channel,
                "marketing": c.marketing,
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in client.consents.all()
        ],
        "need": None
        if need is None
        else {
            "rooms": need.rooms,
            "budget_min": _money(need.budget_min),
            "budget_max": _money(need.budget_max),
            "area_min": _money(need.area_min),
            "area_max": _money(need.area_max),
            "projects": [str(p) for p in need.projects.all()],
            "payment_method": need.payment_method,
            "purpose": need.purpose,
            "deadline": _iso(need.deadline),
            "comment": need.comment,
        },
        "leads": [
            {
                "received": _iso(lead.created_at),
                "name": lead.name,
                "phone": lead.phone,
                "email": lead.email,
                "message": lead.message,
                "channel": lead.channel.code,
                "status": lead.status,
            }
            for lead in client.leads.select_related("channel")
        ],
        "visits": [
            {
                "at": _iso(v.at),
                "asked_about": v.asked_about,
                "units_shown": [u.code for u in v.units_shown.all()],
            }
            for v in client.visits.prefetch_related("units_shown")
        ],
        "interactions": [
            {"at": _iso(i.at), "kind": i.kind, "text": i.text} for i in client.interactions.all()
        ],
        "tasks": [
            {
                "title": t.title,
                "due_at": _iso(t.due_at),
                "all_day": t.all_day,  # due by the end of the day, no time set
                "done_at": _iso(t.done_at),
            }
            for t in client.tasks.all()
        ],
    }
    for provider in extensions.export_providers:
        data.update(provider(client))
    _event(client, ClientEventKind.EXPORTED, by)
    return data


# What a notice (and a notification kept for e-mail) about an erased client says instead.
ERASED_NOTICE = gettext_noop("A notice about a client whose personal data was erased.")


def _erased_notice_text() -> str:
    return _(ERASED_NOTICE)


def _named(client: Client) -> bool:
    return not client.is_company and bool(client.last_name or client.first_name)


@transaction.atomic
@audit.service(kind="erase")
def client_erase(*, client: Client, by) -> Client:
    """Erase a client's personal data on request: the person becomes anonymous ("Client
    #12"), their contacts, people, needs and free texts go, on the client, on the records
    merged into it, on the leads linked to it or sent from its phones and e-mails, on its
    tasks and on the notices about it; the sales app's handlers clear hold and queue
    comments and the names in the deals' and units' history. Deals, holds and payments keep
    their figures (accounting keeps its own legal basis). The erasure is written to the
    history (the log extract for the destruction act)."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.erased_at:
        raise DomainError(_("This client's data was already erased."))
    rows = _with_merged(client, lock=True)
    ids = [c.pk for c in rows]
    # full names ("Петрова Анна") and surnames alone, to find in free texts
    names = {c.display_name for c in rows if _named(c)} | {
        c.last_name.strip() for c in rows if _named(c) and len(c.last_name.strip()) >= 3
    }
    contacts = ClientContact.objects.filter(client_id__in=ids)
    phones = {c.phone_normalized for c in rows} | set(
        contacts.filter(kind=ContactKind.PHONE).values_list("normalized", flat=True)
    )
    emails = {c.email_normalized for c in rows} | set(
        contacts.filter(kind=ContactKind.EMAIL).values_list("normalized", flat=True)
    )
    phones.discard("")
    emails.discard("")
    leads = Lead.objects.filter(
        Q(client_id__in=ids) | Q(phone_normalized__in=phones) | Q(email_normalized__in=emails)
    )
    lead_ids = list(leads.values_list("pk", flat=True))
    tasks = Task.objects.filter(Q(client_id__in=ids) | Q(lead_id__in=lead_ids))
    task_rows = list(tasks.values_list("pk", "assignee_id", "title"))
    now = timezone.now()
    for row in rows:
        _blank_personal(row)
        row.erased_at = now
        row.save()
    label = client.display_name  # now "Client #12"
    counts = {
        "merged_records": len(rows) - 1,
        "contacts": contacts.delete()[0],
        "people": ContactPerson.objects.filter(company_id__in=ids).delete()[0],
        "need": Need.objects.filter(client_id__in=ids).delete()[0],
        "leads": audit.update(
            Lead.objects.filter(pk__in=lead_ids),
            where={"ids": lead_ids},
            name="",
            phone="",
            email="",
            message="",
            phone_normalized="",
            email_normalized="",
            # a lost lead must give a reason (a constraint): a dash, not the words
            lost_reason=Case(When(status=LeadStatus.LOST, then=Value("—")), default=Value("")),
        ),
        "lead_events": audit.update(
            LeadEvent.objects.filter(lead_id__in=lead_ids).exclude(reason=""),
            where={"lead": lead_ids},
            reason="",
        ),
        "visits": audit.update(
            Visit.objects.filter(client_id__in=ids), where={"client": sorted(ids)}, asked_about=""
        ),
        "interactions": audit.update(
            Interaction.objects.filter(client_id__in=ids), where={"client": sorted(ids)}, text="—"
        ),
        "tasks": audit.update(
            tasks,
            where={"client": sorted(ids), "lead": lead_ids},
            title=Concat(Value(_("Task") + " #"), Cast("pk", CharField())),
            note="",
        ),
        "notices": _erase_notices(rows, lead_ids, names, task_rows),
    }
    for handler in extensions.erase_handlers:
        counts.update(handler(rows, names, label, phones, {pk for pk, *_row in task_rows}))
    # the audit log keeps who changed what and when, not the person's values
    blanked = sum(audit.erase_subject(row, log=False) for row in rows)
    blanked += sum(audit.erase_subject(f"clients.lead:{pk}", log=False) for pk in lead_ids)
    blanked += audit.erase_text(names | phones | emails)  # typed into other objects' texts
    audit.note(data={"audit_rows_blanked": blanked, "counts": counts})
    _event(client, ClientEventKind.ERASED, by, counts=counts)
    return client


def _erase_notices(rows, lead_ids, names, task_rows) -> int:
    """Notices about the client get a neutral text: those linking to its card or its leads,
    those naming it, those announcing its tasks."""
    urls = {_client_url(c) for c in rows} | {lead_url(Lead(pk=pk)) for pk in lead_ids}
    urls.discard("")
    q = Q(url__in=urls)
    for name in names:
        # "… — Петрова Анна" ends a task reminder; a full name anywhere is about the client
        q |= Q(text__endswith=f" — {name}")
        if len(name.split()) > 1:
            q |= Q(text__contains=name)
    for _pk, assignee, title in task_rows:
        if title:
            q |= Q(user_id=assignee, text__endswith=f": {title}")
    return Notice.objects.filter(q).update(text=_erased_notice_text(), message="", args={})
