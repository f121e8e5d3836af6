"""Writers of clients: create, change, contacts, reassign, merge."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kvartal import audit
from kvartal.accounts.models import Role, User
from kvartal.accounts.services import notice_send
from kvartal.core.errors import DomainError

from .. import extensions
from ..crypto import is_unreadable
from ..models import (
    Client,
    ClientContact,
    ClientEvent,
    ClientEventKind,
    ClientKind,
    ClientMerge,
    ContactKind,
    ContactPerson,
    LeadStatus,
    Need,
)
from ..normalize import format_phone, normalize_email, normalize_phone


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


def _event(client: Client, kind: str, by, *, at=None, **data) -> ClientEvent:
    return ClientEvent.objects.create(
        client=client, kind=kind, actor=by, data=data, at=at or timezone.now()
    )


@transaction.atomic
@audit.service
def client_create(*, by, manager=None, allow_duplicate: bool = False, at=None, **fields) -> Client:
    """Create a client (person or company) owned by ``manager`` (default: ``by``), dated
    ``at`` (default: now; its history row too).

    The phone and e-mail are normalised (``ValidationError`` if unreadable). When a live
    client already has the same normalised phone or e-mail, raises ``DuplicateClient``
    carrying it, unless ``allow_duplicate``.
    """
    phone, email = _normalise_contacts(fields)
    if not allow_duplicate:
        _refuse_duplicates(phone, email, inn=_company_inn(fields))
    if at is not None:
        fields.setdefault("created_at", at)
    client = Client(
        **fields,
        manager=manager or by,
        created_by=by,
        phone_normalized=phone,
        email_normalized=email,
    )
    client.full_clean()
    client.save()
    _event(client, ClientEventKind.CREATED, by, at=at or client.created_at)
    return client


@transaction.atomic
@audit.service
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
@audit.service
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
@audit.service
def contact_person_add(*, company: Client, by, **fields) -> ContactPerson:
    """A person who speaks for ``company``; linked to their own client record when one has
    the same phone (``person``: they act for the company)."""
    _refuse_retired(company)
    if not company.is_company:
        raise DomainError(_("Contact people belong to companies."))
    person = ContactPerson(company=company, **fields)
    if person.phone:
        try:
            phone = normalize_phone(person.phone)
        except ValidationError as e:
            raise ValidationError({"phone": e.messages}) from None
        person.phone = format_phone(phone)
        if person.person_id is None:
            # the person is a client too (same phone): they act for this company
            person.person = find_duplicates(phone=phone).filter(kind=ClientKind.PERSON).first()
    person.full_clean()
    person.save()
    _event(company, ClientEventKind.UPDATED, by, fields=["people"])
    return person


@transaction.atomic
@audit.service
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
        audit.update(
            client.tasks.open().filter(assignee=old),
            where={"client": client.pk, "open": True, "assignee": old.pk},
            assignee=manager,
        )
    open_leads = client.leads.exclude(status__in=[LeadStatus.CONVERTED, LeadStatus.LOST])
    audit.update(open_leads, where={"client": client.pk, "open": True}, manager=manager)
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
        message=gettext_noop("Client handed to you: %(name)s"),
        args={"name": client.display_name},
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
        audit.update(Need.objects.filter(pk=theirs.pk), where={"ids": [theirs.pk]}, client=target)
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
@audit.service
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
    was = {"client": source.pk}
    moved["leads"] = audit.update(source.leads.all(), where=was, client=target)
    moved["visits"] = audit.update(source.visits.all(), where=was, client=target)
    moved["interactions"] = audit.update(source.interactions.all(), where=was, client=target)
    moved["tasks"] = audit.update(source.tasks.all(), where=was, client=target)
    moved["consents"] = audit.update(source.consents.all(), where=was, client=target)
    moved["people"] = audit.update(
        source.people.all(), where={"company": source.pk}, company=target
    )
    moved["contacts"] = audit.update(source.contacts.all(), where=was, client=target)
    moved["history"] = audit.update(source.events.all(), where=was, client=target)
    # Earlier duplicates of the duplicate now point to the kept client (no chains).
    moved["merged_earlier"] = audit.update(
        Client.objects.filter(merged_into=source),
        where={"merged_into": source.pk},
        merged_into=target,
    )
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
