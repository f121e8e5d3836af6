"""Writers of clients, leads, visits, interactions, tasks and needs.

Keyword-only, atomic; they raise ``ValidationError`` keyed by field or a ``DomainError``
(``DuplicateClient`` carries the client that already has the phone or e-mail). Each change
appends a history row (``ClientEvent``, ``LeadEvent``) in the same transaction.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Case, CharField, Q, Value, When
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.accounts.models import Notice, Role, User
from kvartal.accounts.services import notice_send
from kvartal.core.errors import DomainError

from . import extensions
from .crypto import is_unreadable
from .models import (
    CONVERTIBLE,
    LEAD_TRANSITIONS,
    Channel,
    Client,
    ClientContact,
    ClientEvent,
    ClientEventKind,
    ClientKind,
    ClientMerge,
    Consent,
    ContactKind,
    ContactPerson,
    Interaction,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadStatus,
    Need,
    RoundRobin,
    Task,
    Visit,
)
from .normalize import format_phone, normalize_email, normalize_phone


class DuplicateClient(DomainError):
    """A client with this phone, e-mail or INN already exists (``self.client``).

    The message names the client's manager only, never the client: the person reading it
    may not be allowed to see that client (the pages add the name when they are)."""

    def __init__(self, client: Client, *, field: str):
        what = {"phone": _("phone"), "email": _("e-mail"), "inn": _("INN")}[field]
        message = _("A client of %(manager)s already has this %(what)s.") % {
            "what": what,
            "manager": client.manager.short_name if client.manager else "—",
        }
        super().__init__(message, field=field)
        self.client = client


def _refuse_retired(client: Client) -> None:
    """New data is not added to an erased or merged-away client."""
    if client.erased_at:
        raise DomainError(_("This client's data was erased."))
    if client.merged_into_id:
        raise DomainError(_("This client was merged into another; work with that one."))


# --- clients ----------------------------------------------------------------------------


def find_duplicates(*, phone: str = "", email: str = "", exclude: Client | None = None):
    """Live clients with this normalised phone or e-mail (main or further contacts)."""
    q = Q(pk__in=[])
    if phone:
        q |= Q(phone_normalized=phone) | Q(
            contacts__kind=ContactKind.PHONE, contacts__normalized=phone
        )
    if email:
        q |= Q(email_normalized=email) | Q(
            contacts__kind=ContactKind.EMAIL, contacts__normalized=email
        )
    found = Client.objects.live().filter(erased_at__isnull=True).filter(q)
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return found.select_related("manager").distinct().order_by("pk")


def _normalise_contacts(fields: dict) -> tuple[str, str]:
    """Normalise ``phone``/``email`` in ``fields`` in place; refuse unreadable ones."""
    errors = {}
    phone = email = ""
    try:
        phone = normalize_phone(fields.get("phone", ""))
    except ValidationError as e:
        errors["phone"] = e.messages
    try:
        email = normalize_email(fields.get("email", ""))
    except ValidationError as e:
        errors["email"] = e.messages
    if errors:
        raise ValidationError(errors)
    if "phone" in fields:
        fields["phone"] = format_phone(phone)
    if "email" in fields:
        fields["email"] = email
    return phone, email


def _refuse_duplicates(
    phone: str, email: str, exclude: Client | None = None, *, inn: str = ""
) -> None:
    if phone and (same := find_duplicates(phone=phone, exclude=exclude).first()):
        raise DuplicateClient(same, field="phone")
    if email and (same := find_duplicates(email=email, exclude=exclude).first()):
        raise DuplicateClient(same, field="email")
    if inn:
        companies = Client.objects.in_use().filter(kind=ClientKind.COMPANY, inn=inn)
        if exclude is not None:
            companies = companies.exclude(pk=exclude.pk)
        if same := companies.select_related("manager").order_by("pk").first():
            raise DuplicateClient(same, field="inn")


def _company_inn(fields: dict, client: Client | None = None) -> str:
    kind = fields.get("kind") or (client.kind if client else ClientKind.PERSON)
    inn = (fields.get("inn") or "").strip()
    if kind != ClientKind.COMPANY or (client is not None and inn == client.inn):
        return ""
    return inn


def _event(client: Client, kind: str, by, **data) -> ClientEvent:
    return ClientEvent.objects.create(client=client, kind=kind, actor=by, data=data)


@transaction.atomic
def client_create(*, by, manager=None, allow_duplicate: bool = False, **fields) -> Client:
    """Create a client (person or company) owned by ``manager`` (default: ``by``).

    The phone and e-mail are normalised (``ValidationError`` if unreadable). When a live
    client already has the same normalised phone or e-mail, raises ``DuplicateClient``
    carrying it, unless ``allow_duplicate``.
    """
    phone, email = _normalise_contacts(fields)
    if not allow_duplicate:
        _refuse_duplicates(phone, email, inn=_company_inn(fields))
    client = Client(
        **fields,
        manager=manager or by,
        created_by=by,
        phone_normalized=phone,
        email_normalized=email,
    )
    client.full_clean()
    client.save()
    _event(client, ClientEventKind.CREATED, by)
    return client


@transaction.atomic
def client_update(*, client: Client, by, allow_duplicate: bool = False, **fields) -> Client:
    """Change a client's data (not its manager: ``client_reassign``). Same checks as
    ``client_create``; the history row names the changed fields (never their values)."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.erased_at:
        raise DomainError(_("This client's data was erased; it cannot be edited."))
    phone, email = _normalise_contacts(fields)
    if not allow_duplicate:
        _refuse_duplicates(
            phone if phone != client.phone_normalized else "",
            email if email != client.email_normalized else "",
            exclude=client,
            inn=_company_inn(fields, client),
        )
    # A form sends back the marker of an undecryptable field: leave the stored value alone.
    fields = {k: v for k, v in fields.items() if not is_unreadable(v)}
    changed = sorted(k for k, v in fields.items() if getattr(client, k) != v)
    for name, value in fields.items():
        setattr(client, name, value)
    client.phone_normalized, client.email_normalized = phone, email
    client.full_clean()
    client.save()
    if changed:
        _event(client, ClientEventKind.UPDATED, by, fields=changed)
    return client


@transaction.atomic
def contact_add(*, client: Client, by, kind: str, value: str, note: str = "") -> ClientContact:
    """Add a further phone or e-mail (normalised; refused if another client has it)."""
    _refuse_retired(client)
    normalise = normalize_phone if kind == ContactKind.PHONE else normalize_email
    try:
        normalized = normalise(value)
    except ValidationError as e:
        raise ValidationError({"value": e.messages}) from None
    if not normalized:
        raise ValidationError({"value": _("Enter a phone or an e-mail.")})
    if kind == ContactKind.PHONE:
        _refuse_duplicates(normalized, "", exclude=client)
        value = format_phone(normalized)
    else:
        _refuse_duplicates("", normalized, exclude=client)
        value = normalized
    contact = ClientContact.objects.create(
        client=client, kind=kind, value=value, normalized=normalized, note=note
    )
    _event(client, ClientEventKind.UPDATED, by, fields=["contacts"])
    return contact


@transaction.atomic
def contact_person_add(*, company: Client, by, **fields) -> ContactPerson:
    _refuse_retired(company)
    if not company.is_company:
        raise DomainError(_("Contact people belong to companies."))
    person = ContactPerson(company=company, **fields)
    if person.phone:
        try:
            person.phone = format_phone(normalize_phone(person.phone))
        except ValidationError as e:
            raise ValidationError({"phone": e.messages}) from None
    person.full_clean()
    person.save()
    _event(company, ClientEventKind.UPDATED, by, fields=["people"])
    return person


@transaction.atomic
def client_reassign(*, client: Client, manager: User, by) -> Client:
    """Hand a client (and its open tasks and open leads) to another manager. The history
    row keeps who had it before."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if not manager.is_active or manager.role not in (Role.SALES_MANAGER, Role.SALES_HEAD):
        raise DomainError(_("Clients are handed to active managers and sales heads only."))
    old = client.manager
    if old == manager:
        raise DomainError(_("The client already belongs to this manager."))
    client.manager = manager
    client.save(update_fields=["manager"])
    if old is not None:
        client.tasks.open().filter(assignee=old).update(assignee=manager)
    open_leads = client.leads.exclude(status__in=[LeadStatus.CONVERTED, LeadStatus.LOST])
    open_leads.update(manager=manager)
    _event(
        client,
        ClientEventKind.REASSIGNED,
        by,
        old=old.pk if old else None,
        old_name=old.short_name if old else "",
        new=manager.pk,
        new_name=manager.short_name,
    )
    notice_send(
        user=manager,
        text=_("Client handed to you: %(name)s") % {"name": client.display_name},
        url=_client_url(client),
    )
    return client


def _client_url(client: Client) -> str:
    try:
        return reverse("sales:client-detail", args=[client.pk])
    except Exception:  # noqa: BLE001 - the card lives in sales; a bare install still works
        return ""


# The fields holding a person's data; a merged-away or erased record keeps none of them.
PERSONAL_FIELDS = (
    "last_name",
    "first_name",
    "middle_name",
    "phone",
    "email",
    "phone_normalized",
    "email_normalized",
    "telegram",
    "whatsapp",
    "other_messenger",
    "passport_number",
    "passport_issued_by",
    "passport_issued_on",
    "passport_code",
    "registration_address",
    "address",
    "comment",
)
# Copied from the duplicate to the kept client where the kept one has none.
MERGE_FILL = (
    "middle_name",
    "birth_date",
    "telegram",
    "whatsapp",
    "other_messenger",
    "passport_number",
    "passport_issued_by",
    "passport_issued_on",
    "passport_code",
    "registration_address",
    "address",
    "inn",
    "kpp",
)


def _blank_personal(client: Client) -> None:
    """Clear a person's data on ``client`` (a company keeps its name, INN and KPP: they are
    not personal data)."""
    for name in PERSONAL_FIELDS:
        setattr(client, name, "")
    if not client.is_company:
        client.inn = client.kpp = ""
    client.birth_date = None


def _merge_needs(source: Client, target: Client) -> int:
    """The duplicate's needs go to ``target``: moved when it has none, else its answers fill
    the kept client's empty ones (rooms and projects are joined). 1 if there was one."""
    theirs = Need.objects.filter(client=source).first()
    if theirs is None:
        return 0
    ours = Need.objects.filter(client=target).first()
    if ours is None:
        Need.objects.filter(pk=theirs.pk).update(client=target)
        return 1
    for name in (
        "budget_min",
        "budget_max",
        "area_min",
        "area_max",
        "payment_method",
        "purpose",
        "deadline",
    ):
        if getattr(ours, name) in (None, "") and getattr(theirs, name) not in (None, ""):
            setattr(ours, name, getattr(theirs, name))
    if ours.rooms and theirs.rooms:
        ours.rooms = sorted(set(ours.rooms) | set(theirs.rooms))
    if theirs.comment and theirs.comment not in ours.comment:
        ours.comment = "\n".join(c for c in (ours.comment, theirs.comment) if c)
    ours.save()
    if ours.projects.exists():  # "any project" stays any
        ours.projects.add(*theirs.projects.all())
    theirs.delete()
    return 1


@transaction.atomic
def client_merge(*, source: Client, target: Client, by) -> ClientMerge:
    """Merge the duplicate ``source`` into ``target``: its deals, holds, queue places (by
    the sales app's handlers), leads, visits, interactions, tasks, consents, contacts,
    people, needs, history and the records merged into it earlier move to ``target``; its
    phone and e-mail become further contacts of ``target`` and its other data fills what
    ``target`` lacks. ``source`` stays as a record without personal data pointing to
    ``target``. Records the merge."""
    if source.pk == target.pk:
        raise DomainError(_("A client cannot be merged with itself."))
    locked = {
        c.pk: c for c in Client.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id or target.merged_into_id:
        raise DomainError(_("One of these clients was already merged into another."))
    if source.erased_at or target.erased_at:
        raise DomainError(_("An erased client cannot be merged."))
    if source.kind != target.kind:
        raise DomainError(_("A person and a company cannot be merged."))
    moved: dict[str, int] = {}
    for handler in extensions.merge_handlers:
        moved.update(handler(source, target))
    moved["leads"] = source.leads.update(client=target)
    moved["visits"] = source.visits.update(client=target)
    moved["interactions"] = source.interactions.update(client=target)
    moved["tasks"] = source.tasks.update(client=target)
    moved["consents"] = source.consents.update(client=target)
    moved["people"] = source.people.update(company=target)
    moved["contacts"] = source.contacts.update(client=target)
    moved["history"] = source.events.update(client=target)
    # Earlier duplicates of the duplicate now point to the kept client (no chains).
    moved["merged_earlier"] = Client.objects.filter(merged_into=source).update(merged_into=target)
    have = {target.phone_normalized, target.email_normalized} | set(
        target.contacts.values_list("normalized", flat=True)
    )
    for kind, value, normalized in (
        (ContactKind.PHONE, source.phone, source.phone_normalized),
        (ContactKind.EMAIL, source.email, source.email_normalized),
    ):
        if normalized and normalized not in have:
            ClientContact.objects.create(
                client=target,
                kind=kind,
                value=value,
                normalized=normalized,
                note=_("from the merged duplicate #%(pk)s") % {"pk": source.pk},
            )
            moved["contacts"] += 1
    moved["need"] = _merge_needs(source, target)
    for name in MERGE_FILL:
        if not getattr(target, name) and getattr(source, name):
            setattr(target, name, getattr(source, name))
    if source.comment and source.comment not in target.comment:
        target.comment = "\n".join(c for c in (target.comment, source.comment) if c)
    target.save()
    source.merged_into = target
    _blank_personal(source)
    source.save()
    merge = ClientMerge.objects.create(source=source, target=target, by=by, moved=moved)
    _event(target, ClientEventKind.MERGED, by, source=source.pk, moved=moved)
    _event(source, ClientEventKind.MERGED, by, target=target.pk)
    return merge


# --- consent, export, erasure -----------------------------------------------------------


@transaction.atomic
def consent_record(
    *, client: Client, by, text_version: str, channel: str, given_at=None, marketing=False
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
    _event(client, ClientEventKind.CONSENT, by, consent=consent.pk, version=text_version)
    return consent


@transaction.atomic
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
            {"title": t.title, "due_at": _iso(t.due_at), "done_at": _iso(t.done_at)}
            for t in client.tasks.all()
        ],
    }
    for provider in extensions.export_providers:
        data.update(provider(client))
    _event(client, ClientEventKind.EXPORTED, by)
    return data


def _erased_notice_text() -> str:
    return _("A notice about a client whose personal data was erased.")


def _named(client: Client) -> bool:
    return not client.is_company and bool(client.last_name or client.first_name)


@transaction.atomic
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
    task_rows = list(tasks.values_list("assignee_id", "title"))
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
        "leads": Lead.objects.filter(pk__in=lead_ids).update(
            name="",
            phone="",
            email="",
            message="",
            phone_normalized="",
            email_normalized="",
            # a lost lead must give a reason (a constraint): a dash, not the words
            lost_reason=Case(When(status=LeadStatus.LOST, then=Value("—")), default=Value("")),
        ),
        "lead_events": LeadEvent.objects.filter(lead_id__in=lead_ids)
        .exclude(reason="")
        .update(reason=""),
        "visits": Visit.objects.filter(client_id__in=ids).update(asked_about=""),
        "interactions": Interaction.objects.filter(client_id__in=ids).update(text="—"),
        "tasks": tasks.update(
            title=Concat(Value(_("Task") + " #"), Cast("pk", CharField())), note=""
        ),
        "notices": _erase_notices(rows, lead_ids, names, task_rows),
    }
    for handler in extensions.erase_handlers:
        counts.update(handler(rows, names, label))
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
    for assignee, title in task_rows:
        if title:
            q |= Q(user_id=assignee, text__endswith=f": {title}")
    return Notice.objects.filter(q).update(text=_erased_notice_text())


# --- leads ------------------------------------------------------------------------------


def round_robin_next() -> User | None:
    """The next manager on duty after the one who got the last lead (locks the pointer, so
    concurrent leads go to different managers). ``None`` when nobody is on duty."""
    RoundRobin.objects.get_or_create(pk=1)  # the one pointer row; the lock below is on it
    pointer = RoundRobin.objects.select_for_update().get(pk=1)
    on_duty = list(
        User.objects.filter(is_active=True, on_duty=True, role=Role.SALES_MANAGER).order_by("pk")
    )
    if not on_duty:
        return None
    after = pointer.last_id or 0
    chosen = next((u for u in on_duty if u.pk > after), on_duty[0])
    pointer.last = chosen
    pointer.save(update_fields=["last", "updated_at"])
    return chosen


def _lead_event(lead, kind, by, old="", new="", reason="", at=None) -> LeadEvent:
    return LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        actor=by,
        old=str(old)[:100],
        new=str(new)[:100],
        reason=reason,
        at=at or timezone.now(),
    )


def _active(user: User | None) -> User | None:
    return user if user is not None and user.is_active else None


def lead_url(lead: Lead) -> str:
    return reverse("clients:lead-detail", args=[lead.pk])


UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


@transaction.atomic
def lead_create(
    *,
    by,
    channel: Channel,
    name: str = "",
    phone: str = "",
    email: str = "",
    message: str = "",
    unit=None,
    source=None,
    manager: User | None = None,
    at=None,
    **utm,
) -> Lead:
    """Register a lead. The phone and e-mail are normalised (``ValidationError`` if
    unreadable; one of them is required). A request from a phone or e-mail a client already
    has is attached to that client and its manager; one from a phone or e-mail of an earlier
    lead goes to that lead's manager; otherwise to ``manager`` or the next manager on duty."""
    fields = {"phone": phone, "email": email}
    phone_n, email_n = _normalise_contacts(fields)
    if not (phone_n or email_n):
        raise ValidationError({"phone": _("Give a phone or an e-mail.")})
    unknown = set(utm) - set(UTM_FIELDS)
    if unknown:
        raise TypeError(f"unknown lead fields: {sorted(unknown)}")
    lead = Lead(
        channel=channel,
        name=(name or "").strip()[:200],
        phone=fields["phone"],
        phone_normalized=phone_n,
        email=fields["email"],
        email_normalized=email_n,
        message=(message or "").strip(),
        unit=unit,
        source=source,
        created_by=by,
        created_at=at or timezone.now(),
        **{k: (v or "")[:100] for k, v in utm.items()},
    )
    known = find_duplicates(phone=phone_n, email=email_n).first()
    earlier = None
    if known is None:
        q = Q(pk__in=[])
        if phone_n:
            q |= Q(phone_normalized=phone_n)
        if email_n:
            q |= Q(email_normalized=email_n)
        earlier = (
            Lead.objects.filter(q, manager__isnull=False).order_by("-created_at", "-pk").first()
        )
    if known is not None:
        lead.client, lead.is_repeat = known, True
        lead.manager = _active(known.manager) or manager or round_robin_next()
    elif earlier is not None:
        lead.is_repeat = True
        # a manager who has left does not get the repeat request: the usual way does
        lead.manager = _active(earlier.manager) or manager or round_robin_next()
    else:
        lead.manager = manager or round_robin_next()
    lead.full_clean()
    lead.save()
    _lead_event(lead, LeadEventKind.CREATED, by, new=channel.code, at=at)
    if known is not None:
        _lead_event(lead, LeadEventKind.ATTACHED, by, new=known.pk, at=at)
    if lead.manager is not None:
        _lead_event(lead, LeadEventKind.ASSIGNED, by, new=lead.manager.short_name, at=at)
        if lead.manager != by:
            notice_send(
                user=lead.manager,
                text=_("New lead: %(lead)s") % {"lead": lead},
                url=lead_url(lead),
            )
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, manager: User, by) -> Lead:
    """Hand a lead to another manager; the history keeps who had it."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if manager.role not in (Role.SALES_MANAGER, Role.SALES_HEAD) or not manager.is_active:
        raise DomainError(_("Leads are handed to active managers and sales heads only."))
    if lead.manager_id == manager.pk:
        raise DomainError(_("The lead already belongs to this manager."))
    old = lead.manager
    lead.manager = manager
    lead.save(update_fields=["manager"])
    _lead_event(
        lead, LeadEventKind.ASSIGNED, by, old=old.short_name if old else "", new=manager.short_name
    )
    notice_send(
        user=manager, text=_("Lead handed to you: %(lead)s") % {"lead": lead}, url=lead_url(lead)
    )
    return lead


@transaction.atomic
def lead_set_status(*, lead: Lead, status: str, by, reason: str = "") -> Lead:
    """Move a lead along ``LEAD_TRANSITIONS``. Lost needs a reason. Converting has its own
    service (``lead_convert``)."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if status == LeadStatus.CONVERTED:
        raise DomainError(_("Convert a lead with the “Convert” action."))
    if status not in LEAD_TRANSITIONS[lead.status]:
        raise DomainError(
            _("A lead cannot go from “%(old)s” to “%(new)s”.")
            % {"old": lead.get_status_display(), "new": LeadStatus(status).label}
        )
    reason = (reason or "").strip()
    if status == LeadStatus.LOST and not reason:
        raise ValidationError({"reason": _("Say why the lead was lost.")})
    old = lead.status
    lead.status = status
    lead.lost_reason = reason if status == LeadStatus.LOST else ""
    lead.save(update_fields=["status", "lost_reason"])
    _lead_event(lead, LeadEventKind.STATUS, by, old=old, new=status, reason=reason)
    return lead


def _split_name(name: str) -> dict:
    """“Петров Иван Сергеевич” → last, first, middle (the Russian order); one word is a
    first name."""
    parts = (name or "").split()
    if len(parts) == 1:
        return {"first_name": parts[0]}
    if not parts:
        return {}
    return {"last_name": parts[0], "first_name": parts[1], "middle_name": " ".join(parts[2:])}


def may_use(client: Client, by) -> bool:
    """``by`` may see (and so link work to) ``client``; the system (``None``) may."""
    return by is None or Client.objects.visible_to(by).filter(pk=client.pk).exists()


@transaction.atomic
def lead_convert(*, lead: Lead, by, client: Client | None = None, at=None) -> Client:
    """Turn a lead into a client: the lead's own client, else ``client`` given, else a client
    already having its phone or e-mail, else a new client made from the lead (owned by the
    lead's manager). An existing client is linked only when ``by`` may see it (their own,
    their team's, or anyone's with ``rows.all``); otherwise a ``DomainError`` names its
    manager, who can hand it over."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status not in CONVERTIBLE:
        raise DomainError(_("Only a new, in-work or qualified lead can be converted."))
    target = lead.client or client
    if target is None:
        target = find_duplicates(phone=lead.phone_normalized, email=lead.email_normalized).first()
    if target is not None and not may_use(target, by):
        raise DomainError(
            _(
                "This phone or e-mail belongs to a client of %(manager)s. Ask them or a sales "
                "head to hand the client to you, then convert the lead."
            )
            % {"manager": target.manager.short_name if target.manager else "—"}
        )
    if target is None:
        target = client_create(
            by=by,
            manager=lead.manager or by,
            phone=lead.phone,
            email=lead.email,
            **_split_name(lead.name),
        )
    old = lead.status
    lead.client = target
    lead.status = LeadStatus.CONVERTED
    lead.save(update_fields=["client", "status"])
    _lead_event(lead, LeadEventKind.CONVERTED, by, old=old, new=target.pk, at=at)
    return target


@dataclass
class ImportReport:
    """What a CSV import did (or, with errors, would have done: then nothing is saved)."""

    rows: int = 0
    created: int = 0
    attached: int = 0  # repeat requests attached to a known client or earlier lead
    errors: list[tuple[int, str]] = field(default_factory=list)
    leads: list = field(default_factory=list)


CSV_COLUMNS = ("name", "phone", "email", "message", "channel", *UTM_FIELDS)
MAX_IMPORT_ROWS = 5000
MAX_EMAIL = 254  # the e-mail columns' length (RFC 5321 path limit)


def leads_import_csv(*, text: str, by, channel: Channel) -> ImportReport:
    """Import leads from CSV text (header row with some of ``CSV_COLUMNS``; ``;`` or ``,``).

    All or nothing: every row is checked first; if any row is wrong, the report lists the
    errors by line and nothing is saved. ``channel`` is used where a row names none.
    """
    report = ImportReport()
    sample = text[:2000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if not {"phone", "email"} & set(header):
        report.errors.append((1, _("The first line must name the columns, with phone or email.")))
        return report
    reader.fieldnames = header
    channels = {c.code: c for c in Channel.objects.all()}
    rows = []
    for line, row in _csv_rows(reader, report):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        report.rows += 1
        if report.rows > MAX_IMPORT_ROWS:
            report.errors.append(
                (line, _("More than %(n)s rows; split the file.") % {"n": MAX_IMPORT_ROWS})
            )
            break
        data = {k: (row.get(k) or "").strip() for k in CSV_COLUMNS}
        row_channel = channel
        if data["channel"]:
            row_channel = channels.get(data["channel"].lower())
            if row_channel is None:
                report.errors.append((line, _("Unknown channel “%(c)s”.") % {"c": data["channel"]}))
                continue
        try:
            phone = normalize_phone(data["phone"])
            email = normalize_email(data["email"])
        except ValidationError as e:
            report.errors.append((line, " ".join(e.messages)))
            continue
        if not (phone or email):
            report.errors.append((line, _("Give a phone or an e-mail.")))
            continue
        if len(email) > MAX_EMAIL:
            report.errors.append(
                (line, _("The e-mail is longer than %(n)s characters.") % {"n": MAX_EMAIL})
            )
            continue
        rows.append((line, row_channel, data))
    if report.errors:
        return report
    try:
        with transaction.atomic():
            for line, row_channel, data in rows:
                try:
                    lead = lead_create(
                        by=by,
                        channel=row_channel,
                        name=data["name"],
                        phone=data["phone"],
                        email=data["email"],
                        message=data["message"],
                        **{k: data[k] for k in UTM_FIELDS},
                    )
                except (ValidationError, DomainError) as error:
                    messages = error.messages if isinstance(error, ValidationError) else [error]
                    report.errors.append((line, " ".join(str(m) for m in messages)))
                    raise _ImportAborted from error
                report.leads.append(lead)
                if lead.is_repeat:
                    report.attached += 1
                else:
                    report.created += 1
    except _ImportAborted:  # all or nothing: the transaction is rolled back
        report.leads, report.created, report.attached = [], 0, 0
    return report


class _ImportAborted(Exception):
    pass


def _csv_rows(reader, report: ImportReport):
    """``(line, row)`` of the reader; a line the csv module cannot read (a field over its
    size limit, a stray NUL) ends the import with an error on that line."""
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            report.errors.append(
                (reader.line_num or line + 1, _("Cannot read this line: %(e)s") % {"e": error})
            )
            return
        line += 1
        yield line, row


# --- visits, interactions, tasks --------------------------------------------------------


@transaction.atomic
def visit_register(
    *, by, client: Client, received_by: User, at=None, asked_about: str = "", units=()
) -> Visit:
    """Register a visit to the sales office (the reception desk)."""
    if client.erased_at or client.merged_into_id:
        raise DomainError(_("This client record is no longer in use."))
    visit = Visit.objects.create(
        client=client,
        at=at or timezone.now(),
        received_by=received_by,
        asked_about=asked_about,
        created_by=by,
    )
    if units:
        visit.units_shown.set(units)
    if received_by != by:
        notice_send(
            user=received_by,
            text=_("Visit registered for you: %(name)s") % {"name": client.display_name},
            url=_client_url(client),
        )
    if client.manager_id and client.manager_id not in (by.pk if by else None, received_by.pk):
        notice_send(
            user=client.manager,
            text=_("Your client came to the sales office: %(name)s (received by %(who)s)")
            % {"name": client.display_name, "who": received_by.short_name},
            url=_client_url(client),
        )
    return visit


@transaction.atomic
def interaction_add(*, client: Client, by, kind: str, text: str, at=None) -> Interaction:
    _refuse_retired(client)
    interaction = Interaction(client=client, by=by, kind=kind, text=text, at=at or timezone.now())
    interaction.full_clean()
    interaction.save()
    return interaction


@transaction.atomic
def task_create(
    *, by, title: str, due_at, assignee: User, client=None, lead=None, note: str = ""
) -> Task:
    """Create a follow-up task; the assignee is told in the app when it is someone else."""
    if client is not None:
        _refuse_retired(client)
    task = Task(
        title=title,
        due_at=due_at,
        assignee=assignee,
        client=client,
        lead=lead,
        note=note,
        created_by=by,
    )
    task.full_clean()
    task.save()
    if assignee != by:
        notice_send(
            user=assignee,
            text=_("New task: %(title)s") % {"title": title},
            url=reverse("clients:my-tasks"),
        )
    return task


@transaction.atomic
def task_complete(*, task: Task, by, at=None) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.done_at:
        raise DomainError(_("This task is already done."))
    task.done_at = at or timezone.now()
    task.save(update_fields=["done_at"])
    return task


REMIND_AHEAD = timedelta(minutes=30)


def tasks_remind(now=None, ahead: timedelta = REMIND_AHEAD) -> int:
    """Remind assignees of open tasks due within ``ahead`` (or overdue) that were not
    reminded yet: an in-app notice, and an e-mail when ``EMAIL_HOST`` is configured.
    Idempotent (each task is reminded once); the periodic ``sales_tick`` calls it.
    Returns how many tasks were reminded."""
    now = now or timezone.now()
    due = (
        Task.objects.open()
        .filter(reminded_at__isnull=True, due_at__lte=now + ahead)
        .select_related("assignee", "client")
    )
    mail = getattr(settings, "KVARTAL_SMTP", False)
    count = 0
    for task in due:
        with transaction.atomic():
            updated = Task.objects.filter(pk=task.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not updated:
                continue  # another worker got it
            when = timezone.localtime(task.due_at).strftime("%d.%m %H:%M")
            text = _("Task due %(when)s: %(title)s") % {"when": when, "title": task.title}
            if task.client:
                text += f" — {task.client.display_name}"
            notice_send(user=task.assignee, text=text, url=reverse("clients:my-tasks"))
            if mail and task.assignee.email:
                send_mail(
                    subject=_("Kvartal: task due %(when)s") % {"when": when},
                    message=text,
                    from_email=None,
                    recipient_list=[task.assignee.email],
                    fail_silently=True,
                )
            count += 1
    return count


# --- needs ------------------------------------------------------------------------------


@transaction.atomic
def need_save(*, client: Client, by, projects=None, **fields) -> Need:
    """Write the client's needs (one row per client)."""
    _refuse_retired(client)
    need = Need.objects.filter(client=client).first() or Need(client=client)
    for name, value in fields.items():
        setattr(need, name, value)
    if need.budget_min and need.budget_max and need.budget_min > need.budget_max:
        raise ValidationError({"budget_max": _("The upper budget is below the lower one.")})
    if need.area_min and need.area_max and need.area_min > need.area_max:
        raise ValidationError({"area_max": _("The largest area is below the smallest.")})
    need.full_clean(exclude=["client"])
    need.save()
    if projects is not None:
        need.projects.set(projects)
    _event(client, ClientEventKind.UPDATED, by, fields=["need"])
    return need
