"""Writers of leads: create, assign, status, convert, the CSV import."""

import csv
import io
from dataclasses import dataclass, field

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
from ..models import (
    CONVERTIBLE,
    LEAD_TRANSITIONS,
    Channel,
    Client,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadStatus,
    RoundRobin,
)
from ..normalize import normalize_email, normalize_phone
from .clients import _normalise_contacts, client_create, find_duplicates

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
@audit.service
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
    if phone_n:
        for check in extensions.lead_checks:
            check(phone_n, unit, at or timezone.now())
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
                message=gettext_noop("New lead: %(lead)s"),
                args={"lead": str(lead)},
                url=lead_url(lead),
            )
    return lead


@transaction.atomic
@audit.service
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
        user=manager,
        message=gettext_noop("Lead handed to you: %(lead)s"),
        args={"lead": str(lead)},
        url=lead_url(lead),
    )
    return lead


@transaction.atomic
@audit.service
def lead_set_status(*, lead: Lead, status: str, by, reason: str = "", at=None) -> Lead:
    """Move a lead along ``LEAD_TRANSITIONS``. Lost needs a reason. Converting has its own
    service (``lead_convert``). ``at``: when it happened (an import, the demo's history; now
    by default)."""
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
    _lead_event(lead, LeadEventKind.STATUS, by, old=old, new=status, reason=reason, at=at)
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
    return by is None or Client.objects.for_user(by).filter(pk=client.pk).exists()


@transaction.atomic
@audit.service
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
            at=at,
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
