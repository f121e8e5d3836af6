"""Writers of the showcase: the visitor's footprint (favourites, comparison, views, saved
searches), requests (a lead through the lead service, with the consent), the one-time phone
code and the online booking (a hold of kind "online" through the hold service).

Every function is keyword-only and atomic; a refusal raises a ``DomainError`` subclass and
changes nothing.
"""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kvartal import audit
from kvartal.accounts.services import notice_send
from kvartal.clients.models import Channel
from kvartal.clients.normalize import normalize_phone
from kvartal.clients.services import UTM_FIELDS, lead_convert, lead_create, lead_url
from kvartal.core.errors import DomainError
from kvartal.core.statements import Update
from kvartal.inventory.models import Unit
from kvartal.sales.availability import unit_check
from kvartal.sales.models import HoldKind, SalesSettings
from kvartal.sales.services.holds import hold_create, max_hold_days

from .models import (
    Compared,
    Favourite,
    OnlineBooking,
    PhoneCode,
    ProjectShowcase,
    RequestKind,
    SavedSearch,
    Viewed,
    Visitor,
    VisitorRequest,
)
from .selectors import public_units

MAX_COMPARED = 4
MAX_FAVOURITES = 100
MAX_SEARCHES = 20
CODE_LIFE = timedelta(minutes=10)
CODE_ATTEMPTS = 5
# Codes one phone may be sent in an hour, whatever address asks (an SMS costs money, and a
# stranger's phone must not be flooded from rotating addresses).
CODES_PER_PHONE_HOUR = 3


class ShowcaseRefused(DomainError):
    """The showcase refused a visitor's action."""


class UnknownUnit(ShowcaseRefused):
    """A unit id that is not on the showcase (forged, or taken off it)."""

    field = "unit"


class CodeRefused(ShowcaseRefused):
    """A wrong, used, expired or exhausted one-time code."""

    field = "code"


class BookingRefused(ShowcaseRefused):
    """Online booking is off for the project, or nobody can take it."""


# --- the visitor's footprint --------------------------------------------------------------


def _public_unit(unit_id) -> Unit:
    try:
        return public_units().select_related("building__project").get(pk=int(unit_id))
    except (Unit.DoesNotExist, TypeError, ValueError):
        raise UnknownUnit(_("There is no such unit on the showcase.")) from None


@transaction.atomic
def favourite_toggle(*, visitor: Visitor, unit_id) -> bool:
    """Add the unit to the visitor's favourites, or take it out; returns whether it is in
    them now. Raises ``UnknownUnit`` for an id that is not a public unit."""
    unit = _public_unit(unit_id)
    deleted, _rows = Favourite.objects.filter(visitor=visitor, unit=unit).delete()
    if deleted:
        return False
    if Favourite.objects.filter(visitor=visitor).count() >= MAX_FAVOURITES:
        raise ShowcaseRefused(_("At most %(n)s favourites.") % {"n": MAX_FAVOURITES})
    Favourite.objects.create(visitor=visitor, unit=unit)
    return True


@transaction.atomic
def compare_toggle(*, visitor: Visitor, unit_id) -> bool:
    """Add the unit to the comparison (up to four), or take it out."""
    unit = _public_unit(unit_id)
    deleted, _rows = Compared.objects.filter(visitor=visitor, unit=unit).delete()
    if deleted:
        return False
    if Compared.objects.filter(visitor=visitor).count() >= MAX_COMPARED:
        raise ShowcaseRefused(
            _("Up to %(n)s units can be compared: take one out first.") % {"n": MAX_COMPARED}
        )
    Compared.objects.create(visitor=visitor, unit=unit)
    return True


# A returning visitor's view counted: built by the ORM once per process (``core.statements``),
# on every unit page. Its values: the visitor's id, the unit's id, the moment.
_COUNT_VIEW = Update(
    lambda visitor_id, unit_id, at: (
        Viewed.objects.filter(visitor_id=visitor_id, unit_id=unit_id),
        {"count": F("count") + 1, "last_at": at},
    ),
    samples=(
        (-1, -2, datetime(2001, 1, 1, tzinfo=UTC)),
        (-3, -4, datetime(2002, 2, 2, tzinfo=UTC)),
    ),
    arity=3,
)


def view_record(*, visitor: Visitor, unit: Unit, at=None) -> None:
    """Count one view of ``unit`` (one row per visitor and unit: count, first and last)."""
    at = at or timezone.now()
    updated = _COUNT_VIEW.run(visitor.pk, unit.pk, at)
    if not updated:
        try:
            with transaction.atomic():
                Viewed.objects.create(visitor=visitor, unit=unit, first_at=at, last_at=at)
        except IntegrityError:  # the same visitor's parallel tab was first
            Viewed.objects.filter(visitor=visitor, unit=unit).update(
                count=F("count") + 1, last_at=at
            )


def utm_tags(data) -> dict:
    """The UTM tags in ``data`` (a query or a form), each cut to what a lead keeps."""
    return {k: str(data.get(k))[:100] for k in UTM_FIELDS if data.get(k)}


def visitor_first_touch(*, visitor: Visitor, utm: dict) -> bool:
    """Keep ``utm`` as the visitor's first touch, unless they already have one (the first
    stays: one statement, so two tabs cannot both write it). Returns whether it was kept."""
    tags = utm_tags(utm)
    if not tags or visitor.utm:
        return False
    kept = Visitor.objects.filter(pk=visitor.pk, utm__isnull=True).update(utm=tags)
    if kept:
        visitor.utm = tags
    return bool(kept)


@transaction.atomic
def search_save(*, visitor: Visitor, query: str, title: str) -> SavedSearch:
    query = (query or "").strip().lstrip("?")[:1000]
    if SavedSearch.objects.filter(visitor=visitor).count() >= MAX_SEARCHES:
        raise ShowcaseRefused(_("At most %(n)s saved searches.") % {"n": MAX_SEARCHES})
    search, _created = SavedSearch.objects.get_or_create(
        visitor=visitor, query=query, defaults={"title": (title or query or "—")[:300]}
    )
    return search


@transaction.atomic
def search_delete(*, visitor: Visitor, search_id) -> None:
    deleted, _rows = SavedSearch.objects.filter(visitor=visitor, pk=search_id).delete()
    if not deleted:
        raise ShowcaseRefused(_("There is no such saved search."))


# --- consent and requests -----------------------------------------------------------------


def consent_text() -> str:
    """The consent text the visitor is shown, in their language (a template)."""
    return render_to_string("showcase/consent_text.html", {"version": consent_version()})


def consent_version() -> str:
    return settings.KVARTAL_CONSENT_VERSION


def consent_hash() -> str:
    return hashlib.sha256(consent_text().encode()).hexdigest()


def _site_channel() -> Channel:
    channel, _created = Channel.objects.get_or_create(code="site", defaults={"name": "Website"})
    return channel


def _footprint_text(visitor: Visitor | None) -> str:
    if visitor is None:
        return ""
    favourites = list(Favourite.objects.filter(visitor=visitor).select_related("unit")[:10])
    viewed = list(Viewed.objects.filter(visitor=visitor).select_related("unit")[:10])
    parts = []
    if viewed:
        parts.append(
            _("Viewed: %(units)s")
            % {"units": ", ".join(f"{v.unit.code} ×{v.count}" for v in viewed)}
        )
    if favourites:
        parts.append(
            _("Favourites: %(units)s") % {"units": ", ".join(f.unit.code for f in favourites)}
        )
    return "\n".join(parts)


@transaction.atomic
@audit.service
def request_create(
    *,
    visitor: Visitor | None,
    kind: str,
    name: str,
    phone: str,
    message: str = "",
    unit_id=None,
    consent: bool,
    utm: dict | None = None,
    variants: dict | None = None,
    at=None,
):
    """A request from the showcase: a lead through ``clients.services.lead_create`` (the
    API's own service), with the consent recorded (version, text hash, moment) and the
    visitor's footprint joined to it. The lead's UTM tags are the request's own, else the
    visitor's first touch (``visitor_first_touch``). Raises ``ValidationError`` (no consent,
    a bad phone), ``UnknownUnit``."""
    if not consent:
        raise ValidationError({"consent": _("Without your consent we cannot take the request.")})
    if kind not in RequestKind.values:
        raise ValidationError({"kind": _("Choose what you ask for.")})
    unit = _public_unit(unit_id) if unit_id not in (None, "") else None
    utm = utm_tags(utm or {}) or utm_tags((visitor.utm if visitor else None) or {})
    footprint = _footprint_text(visitor)
    text = "\n\n".join(p for p in [(message or "").strip(), footprint] if p)
    lead = lead_create(
        by=None,
        channel=_site_channel(),
        name=name,
        phone=phone,
        message=f"{RequestKind(kind).label}. {text}".strip(),
        unit=unit,
        at=at,
        **utm,
    )
    return VisitorRequest.objects.create(
        visitor=visitor,
        lead=lead,
        kind=kind,
        consent_version=consent_version(),
        consent_sha256=consent_hash(),
        consent_at=at or timezone.now(),
        variants=variants or {},
    )


# --- the one-time code and online booking -------------------------------------------------


def _code_hash(code: str, phone: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _showcase_of(unit: Unit) -> ProjectShowcase:
    showcase = ProjectShowcase.objects.filter(project_id=unit.building.project_id).first()
    if showcase is None or not showcase.online_booking:
        raise BookingRefused(_("Online booking is not offered for this project."))
    return showcase


def online_booking_max_hours(sales: SalesSettings | None = None) -> int:
    """The longest online booking term the marketer may set: the online hold is made for
    the manager the lead lands on, within their role's longest hold (the hold service's
    ``max_hold_days``), so the shorter of a manager's and a sales head's, in hours."""
    sales = sales or SalesSettings.current()
    return 24 * min(sales.manager_max_hold_days, sales.head_max_hold_days)


def _booking_term(showcase: ProjectShowcase, manager) -> timedelta:
    """The online hold's term: the marketer's, never longer than the hold service allows
    ``manager`` (the sales settings may have been tightened since the marketer chose it)."""
    hours = min(showcase.booking_hours, 24 * max_hold_days(manager))
    if hours < 1:
        raise BookingRefused(
            _("Online booking is not available right now: leave a request and we will call you.")
        )
    return timedelta(hours=hours)


@transaction.atomic
def phone_code_send(*, visitor: Visitor, unit_id, phone: str, at=None) -> PhoneCode:
    """Send a one-time code to ``phone`` before booking ``unit`` (the unit must be on sale
    now). Raises ``ValidationError`` (a bad phone), ``UnknownUnit``, ``BookingRefused``,
    ``UnitNotAvailable``."""
    at = at or timezone.now()
    unit = _public_unit(unit_id)
    _showcase_of(unit)
    unit_check(unit, now=at)
    try:
        normal = normalize_phone(phone)
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}) from None
    if not normal:
        raise ValidationError({"phone": _("Give your phone.")})
    recent = PhoneCode.objects.filter(phone=normal, created_at__gt=at - timedelta(hours=1))
    if recent.count() >= CODES_PER_PHONE_HOUR:
        raise CodeRefused(
            _("Too many codes were sent to this phone: try again in an hour or call us.")
        )
    code = f"{secrets.randbelow(10**6):06d}"
    sent = PhoneCode.objects.create(
        visitor=visitor,
        unit=unit,
        phone=normal,
        code_hash=_code_hash(code, normal),
        created_at=at,
        expires_at=at + CODE_LIFE,
    )
    # The unit as the showcase names it ("№ 22"), never its internal code ("1.4.4").
    sms_backend().send(
        phone=normal,
        text=_("Kvartal: your code %(code)s to book %(unit)s")
        % {"code": code, "unit": f"№ {unit.number}"},
    )
    return sent


def sms_backend():
    return import_string(settings.SHOWCASE_SMS_BACKEND)()


def _refuse_code(sent: PhoneCode | None, code: str, at) -> None:
    wrong = _("The code is wrong or no longer valid: ask for a new one.")
    if sent is None or sent.used_at is not None or sent.expires_at <= at:
        raise CodeRefused(wrong)
    if sent.attempts >= CODE_ATTEMPTS:
        raise CodeRefused(_("Too many wrong codes: ask for a new one."))
    if not hmac.compare_digest(sent.code_hash, _code_hash(code, sent.phone)):
        raise CodeRefused(wrong)


def code_check(*, visitor: Visitor, unit_id, code: str, at=None) -> PhoneCode:
    """The visitor's latest code for this unit, if ``code`` matches it. A wrong code counts
    an attempt (in its own transaction, so a refusal keeps the count and nothing else)."""
    at = at or timezone.now()
    sent = PhoneCode.objects.filter(visitor=visitor, unit_id=unit_id).order_by("-pk").first()
    try:
        _refuse_code(sent, code, at)
    except CodeRefused:
        if sent is not None and sent.used_at is None:
            PhoneCode.objects.filter(pk=sent.pk).update(attempts=F("attempts") + 1)
        raise
    return sent


@transaction.atomic
@audit.service
def online_booking_create(
    *,
    visitor: Visitor,
    unit_id,
    code: str,
    name: str,
    consent: bool = True,
    variants: dict | None = None,
    at=None,
) -> OnlineBooking:
    """Book a unit online after the phone's one-time code: a lead (the lead service) lands
    on a manager, and a hold of kind "online" for the marketer's term is made by the hold
    service for that lead's client — the same lock and the same one-winner rule as in the
    office. The code is spent only when the booking is made.

    Raises ``CodeRefused``, ``UnknownUnit``, ``BookingRefused`` (off, or no manager),
    ``UnitNotAvailable`` (someone was first).
    """
    at = at or timezone.now()
    unit = _public_unit(unit_id)
    showcase = _showcase_of(unit)
    sent = (
        PhoneCode.objects.select_for_update()
        .filter(visitor=visitor, unit_id=unit.pk)
        .order_by("-pk")
        .first()
    )
    _refuse_code(sent, code, at)
    unit_check(unit, now=at)  # before a lead is made; the hold service checks again locked
    request = request_create(
        visitor=visitor,
        kind=RequestKind.BOOKING,
        name=name,
        phone=sent.phone,
        unit_id=unit.pk,
        consent=consent,
        variants=variants,
        at=at,
    )
    lead = request.lead
    manager = lead.manager
    if manager is None:
        raise BookingRefused(
            _("Online booking is not available right now: leave a request and we will call you.")
        )
    term = _booking_term(showcase, manager)
    hold = hold_create(
        unit=unit,
        client=lead.client,
        new_client=None if lead.client else _new_client(name, sent.phone),
        manager=manager,
        by=None,
        kind=HoldKind.ONLINE,
        comment=_("Booked online by the buyer (phone confirmed by a code)"),
        expires_at=at + term,
        at=at,
    )
    lead_convert(lead=lead, by=None, client=hold.client, at=at)
    sent.used_at = at
    sent.save(update_fields=["used_at"])
    booking = OnlineBooking.objects.create(visitor=visitor, hold=hold, lead=lead, created_at=at)
    notice_send(
        user=manager,
        message=gettext_noop("Online booking of %(unit)s by %(client)s: call them back."),
        args={"unit": str(unit), "client": str(hold.client)},
        url=lead_url(lead),
    )
    return booking


def _new_client(name: str, phone: str) -> dict:
    parts = (name or "").split()
    fields = {"phone": phone}
    if len(parts) >= 2:
        fields.update(last_name=parts[0], first_name=" ".join(parts[1:]))
    else:
        fields["first_name"] = (name or "").strip() or _("Buyer")
    return fields


# --- clients erased (``clients.extensions``; registered in apps.py) ----------------------


def erase_client_visitors(
    clients, names, label: str, phones=frozenset(), tasks=frozenset()
) -> dict[str, int]:
    """The showcase's side of erasing a client's personal data: the visitors whose request
    or online booking became the client's (or the records merged into it) lead, and those
    who asked for a code to one of the client's numbers, are removed with what they looked
    at, saved and compared, their searches, their codes and their experiment exposures
    (their requests and bookings stay, without a visitor: the lead, the hold and the
    consent's record are the clients' and the sales' business). Any other code sent to the
    client's numbers goes too."""
    from django.db.models import Q

    ids = [c.pk for c in clients]
    numbers = {p for p in phones if p}
    visitors = Visitor.objects.filter(
        Q(requests__lead__client_id__in=ids)
        | Q(bookings__lead__client_id__in=ids)
        | Q(pk__in=PhoneCode.objects.filter(phone__in=numbers).values("visitor_id"))
    )
    visitor_ids = set(visitors.values_list("pk", flat=True))
    codes = PhoneCode.objects.filter(phone__in=numbers).delete()[0]
    _total, removed = Visitor.objects.filter(pk__in=visitor_ids).delete()
    return {
        "showcase_visitors": removed.get(Visitor._meta.label, 0),
        "showcase_codes": codes + removed.get(PhoneCode._meta.label, 0),
    }
