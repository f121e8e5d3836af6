"""Writers of holds and their queue.

Every function is keyword-only and atomic, takes the unit's row lock first
(``kvartal.inventory.services.unit_lock``), re-checks its rule under that lock, appends a
``HoldEvent`` in the same transaction and moves the unit only through inventory's
``unit_set_sales_state``. When it raises (a ``DomainError`` subclass below, or
``ValidationError``), nothing was changed.

A hold whose ``expires_at`` has passed reads as ended at once; it is finalised (state
``expired``, the unit back on sale, the queue moved on) by ``holds_expire`` — the periodic
``sales_tick`` command — or lazily by the next action on that unit.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kvartal import audit
from kvartal.accounts.notices import arg_datetime
from kvartal.accounts.permissions import SALES_APPROVE, has_capability
from kvartal.accounts.services import notice_send
from kvartal.clients.services import client_create
from kvartal.core.errors import DomainError
from kvartal.inventory.models import Unit, UnitStatus
from kvartal.inventory.services import SALES_FIELDS, unit_lock, unit_set_sales_state

from ..availability import UnitNotAvailable, unit_check, unit_facts
from ..models import (
    Hold,
    HoldEvent,
    HoldEventKind,
    HoldKind,
    HoldState,
    QueueEntry,
    QueueState,
    SalesSettings,
)

# --- refusals -------------------------------------------------------------------------------


class HoldRefused(DomainError):
    """A hold rule refused the action."""


class HoldNotLive(HoldRefused):
    """The hold has already ended (cancelled, expired or turned into a deal)."""


class HoldTermRefused(HoldRefused):
    """The hold would end in the past or later than the role may set."""

    field = "expires_at"


class ExtensionRefused(HoldRefused):
    """No more extensions for this role, or the new end is not later / too late."""

    field = "expires_at"


class ReasonRequired(HoldRefused):
    field = "reason"


class PaymentRequired(HoldRefused):
    """A paid reservation needs the amount paid and the receipt number."""

    field = "amount"


class QueueRefused(HoldRefused):
    """The client cannot join (or leave) this unit's queue."""


# --- rules as data --------------------------------------------------------------------------


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def max_hold_days(user, settings: SalesSettings | None = None) -> int:
    """The longest hold ``user`` may set: a sales head's (or admin's) limit, else a manager's."""
    settings = settings or SalesSettings.current()
    if has_capability(user, SALES_APPROVE):
        return settings.head_max_hold_days
    return settings.manager_max_hold_days


def max_extensions(user, settings: SalesSettings | None = None) -> int | None:
    """How many times ``user`` may extend one hold (``None``: no count limit)."""
    settings = settings or SalesSettings.current()
    if has_capability(user, SALES_APPROVE):
        return None
    return settings.manager_max_extensions


def _until(moment: datetime) -> str:
    # The date's shape is translatable: 05.12.2026 18:00 in Russian, 2026-12-05 18:00 in Chinese.
    return formats.date_format(timezone.localtime(moment), _("d.m.Y H:i"))


def _unit_url(unit_id: int) -> str:
    return reverse("inventory:unit-detail", args=[unit_id])


def _event(hold: Hold, kind: str, *, by, when, old=None, new=None, reason: str = "") -> HoldEvent:
    return HoldEvent.objects.create(
        hold=hold,
        at=when,
        actor=by,
        kind=kind,
        old_expires_at=old,
        new_expires_at=new,
        reason=reason[:300],
    )


def _holds():
    """Holds with what ending one needs: its people, and ``waiting`` (anyone in the unit's
    queue; read with the hold, one query instead of two)."""
    return Hold.objects.select_related("client", "manager").annotate(
        waiting=Exists(
            QueueEntry.objects.filter(unit_id=OuterRef("unit_id"), state=QueueState.WAITING)
        )
    )


def _locked_hold(hold: Hold) -> tuple[Unit, Hold]:
    """The hold's unit under its row lock, then the hold re-read (the lock guards both)."""
    unit = unit_lock(unit_id=hold.unit_id, fields=SALES_FIELDS)
    return unit, _holds().get(pk=hold.pk)


def _active_hold(unit: Unit) -> Hold | None:
    return _holds().filter(unit_id=unit.pk, state=HoldState.ACTIVE).first()


def _release_unit(unit: Unit, *, by, when, reason: str) -> Unit:
    """A hold ended without a deal: the unit goes back on sale (a price set meanwhile
    applies there, in inventory). ``unit``: the row under this transaction's lock."""
    if unit.status == UnitStatus.RESERVED:
        return unit_set_sales_state(
            unit=unit, status=UnitStatus.AVAILABLE, by=by, reason=reason, at=when
        )
    return unit


def _settle(unit: Unit, *, by, when: datetime) -> Unit:
    """Under the unit's lock: finalise its hold if it has run out (and move the queue)."""
    hold = _active_hold(unit)
    if hold is not None and hold.expires_at <= when:
        unit = _expire(unit, hold, when=when)
    return unit


def _expire(unit: Unit, hold: Hold, *, when: datetime) -> Unit:
    """Finalise a run-out hold. Its history (the hold's event, the unit's status row) is
    dated at the moment it ran out, ``hold.expires_at``, not when the job got to it: the
    board of a past day and the status-change search read these dates. The queue is served
    now (``when``)."""
    ended = min(hold.expires_at, when)
    hold.state, hold.ended_at, hold.ended_by = HoldState.EXPIRED, ended, None
    hold.save(update_fields=["state", "ended_at", "ended_by"])
    _event(hold, HoldEventKind.EXPIRED, by=None, when=ended, old=hold.expires_at)
    unit = _release_unit(unit, by=None, when=ended, reason=_("The hold expired"))
    notice_send(
        user=hold.manager,
        message=gettext_noop("The hold of %(unit)s for %(client)s has expired."),
        args={"unit": str(unit), "client": str(hold.client)},
        url=_unit_url(unit.pk),
        at=when,
    )
    return _grant_next(unit, when=when, waiting=getattr(hold, "waiting", None))


def _grant_next(unit: Unit, *, when: datetime, waiting: bool | None = None) -> Unit:
    """The unit is back on sale: the first waiting client of its queue gets it on hold.

    ``waiting``: whether anyone waits, when the caller has read it under this lock
    (``_holds``); ``False`` spares the queue's query."""
    if unit.status != UnitStatus.AVAILABLE or waiting is False:
        return unit
    entry = (
        QueueEntry.objects.select_related("client", "manager")
        .filter(unit_id=unit.pk, state=QueueState.WAITING)
        .order_by("created_at", "pk")
        .first()
    )
    if entry is None:
        return unit
    days = SalesSettings.current().queue_hold_days
    hold = Hold.objects.create(
        unit=unit,
        client=entry.client,
        manager=entry.manager,
        kind=HoldKind.ORAL,
        comment=_("Given from the queue"),
        price=unit.price,
        starts_at=when,
        expires_at=when + timedelta(days=days),
        created_by=None,
    )
    _event(
        hold,
        HoldEventKind.CREATED,
        by=None,
        when=when,
        new=hold.expires_at,
        reason=_("First in the queue"),
    )
    entry.state, entry.hold = QueueState.GRANTED, hold
    entry.save(update_fields=["state", "hold"])
    unit = unit_set_sales_state(
        unit=unit,
        status=UnitStatus.RESERVED,
        hold_until=hold.expires_at,
        by=None,
        reason=_("Hold for the first in the queue"),
        at=when,
    )
    notice_send(
        user=entry.manager,
        message=gettext_noop(
            "%(client)s was first in the queue: %(unit)s is held for them until %(until)s."
        ),
        args={
            "client": str(entry.client),
            "unit": str(unit),
            "until": arg_datetime(hold.expires_at),
        },
        url=_unit_url(unit.pk),
    )
    return unit


def _check_term(*, by, starts_at: datetime, expires_at: datetime) -> None:
    if expires_at <= starts_at:
        raise HoldTermRefused(_("The hold must end later than it starts."))
    days = max_hold_days(by)
    if expires_at > starts_at + timedelta(days=days):
        raise HoldTermRefused(
            _("A hold may last at most %(days)s days for your role.") % {"days": days}
        )


def _end_of(*, starts_at: datetime, days: int | None, expires_at: datetime | None) -> datetime:
    if expires_at is not None:
        return expires_at
    if days is None:
        raise HoldTermRefused(_("Choose a term or an end date."))
    return starts_at + timedelta(days=days)


# --- holds ----------------------------------------------------------------------------------


@transaction.atomic
@audit.service
def hold_create(
    *,
    unit: Unit,
    client=None,
    manager,
    by,
    new_client: dict | None = None,
    kind: str = HoldKind.ORAL,
    basis: str = "other",
    comment: str = "",
    amount: Decimal | None = None,
    receipt_number: str = "",
    days: int | None = None,
    expires_at: datetime | None = None,
    at: datetime | None = None,
    agency=None,
) -> Hold:
    """Hold ``unit`` for ``client`` until ``expires_at`` (or for ``days``), at its current
    price, which stays frozen while the hold lives.

    Locks the unit, finalises a run-out hold on it, then re-checks: no live hold, no active
    deal, the unit available. Raises ``UnitNotAvailable`` (someone else was first, or the
    unit is sold / not on sale), ``HoldTermRefused`` (ends in the past, or beyond the role's
    limit: ``SalesSettings.manager_max_hold_days`` / ``head_max_hold_days``),
    ``PaymentRequired`` (a paid reservation without amount or receipt number).
    ``new_client`` (last_name, first_name, phone …): the client is created for ``manager``
    in the same transaction (``ValidationError`` when its data is bad). ``agency``: the agency
    whose agent asked for the hold (the agencies app's hold request).
    """
    when = _now(at)
    end = _end_of(starts_at=when, days=days, expires_at=expires_at)
    # ``by=None``: the system on a buyer's behalf (an online booking); the manager's limits
    _check_term(by=by if by is not None else manager, starts_at=when, expires_at=end)
    if kind == HoldKind.PAID:
        if amount is None or amount <= 0:
            raise PaymentRequired(_("A paid reservation needs the amount paid."))
        if not receipt_number.strip():
            raise PaymentRequired(
                _("A paid reservation needs the receipt number."), field="receipt_number"
            )
    else:
        amount, receipt_number = None, ""

    unit = unit_lock(unit_id=unit.pk, fields=SALES_FIELDS)
    facts, client_waiting = unit_facts(unit, client=client)
    if facts.hold_id is not None and not facts.live_hold(when):
        # ran out: finalise it (the queue moves on: its first client may get the unit)
        unit = _expire(unit, _active_hold(unit), when=when)
        facts, client_waiting = unit_facts(unit, client=client)
    unit_check(unit, now=when, facts=facts)
    if client is None:
        client = client_create(by=by, manager=manager, **(new_client or {}))
    try:
        # No savepoint: on an error nothing more runs in this transaction before it (or the
        # savepoint of this function, inside a caller's transaction) is rolled back.
        hold = Hold.objects.create(
            unit=unit,
            client=client,
            manager=manager,
            kind=kind,
            basis=basis,
            comment=comment,
            amount=amount,
            receipt_number=receipt_number.strip(),
            price=unit.price,
            starts_at=when,
            expires_at=end,
            created_by=by,
            agency=agency,
        )
    except IntegrityError as error:  # the database's backstop: one active hold per unit
        raise UnitNotAvailable(_("%(unit)s is already held.") % {"unit": unit}) from error
    _event(hold, HoldEventKind.CREATED, by=by, when=when, new=end, reason=comment)
    unit_set_sales_state(
        unit=unit,
        status=UnitStatus.RESERVED,
        hold_until=end,
        by=by,
        # No client's name in the unit's history: every user who opens the unit reads it.
        reason=_("Held (%(kind)s, until %(until)s)")
        % {"kind": hold.get_kind_display().lower(), "until": _until(end)},
        at=when,
    )
    if client_waiting:
        # A client who waited in the queue and now holds the unit leaves the queue.
        audit.update(
            QueueEntry.objects.filter(unit_id=unit.pk, client=client, state=QueueState.WAITING),
            where={"unit": unit.pk, "client": client.pk, "state": QueueState.WAITING},
            state=QueueState.GRANTED,
            hold=hold,
        )
    return hold


def extend_refusal(hold: Hold, by, *, now=None, settings=None) -> DomainError | None:
    """Why ``by`` may not extend ``hold`` at all now, as the error ``hold_extend`` raises
    (the page says it instead of offering the form), or ``None``."""
    if refusal := cancel_refusal(hold, now=now):
        return refusal
    allowed = max_extensions(by, settings or SalesSettings.current())
    if allowed is not None and hold.extensions >= allowed:
        return ExtensionRefused(
            _("A manager may extend a hold at most %(count)s time(s); ask a sales head.")
            % {"count": allowed}
        )
    return None


def cancel_refusal(hold: Hold, *, now=None) -> DomainError | None:
    """Why ``hold`` cannot be cancelled (nor extended) now: it has ended; or ``None``."""
    if not hold.is_live(now or timezone.now()):
        return HoldNotLive(_("This hold has already ended."))
    return None


@transaction.atomic
@audit.service
def hold_extend(
    *,
    hold: Hold,
    by,
    reason: str,
    days: int | None = None,
    expires_at: datetime | None = None,
    at: datetime | None = None,
) -> Hold:
    """Move the end of a live hold later, with a reason.

    A manager may extend one hold ``manager_max_extensions`` times and never beyond
    ``manager_max_hold_days`` from now; a sales head any number of times within
    ``head_max_hold_days`` from now. ``days`` counts from the current end. Raises
    ``ReasonRequired``, ``HoldNotLive``, ``ExtensionRefused``.
    """
    when = _now(at)
    if not (reason or "").strip():
        raise ReasonRequired(_("Give a reason for the extension."))
    unit, hold = _locked_hold(hold)
    settings = SalesSettings.current()
    if refusal := extend_refusal(hold, by, now=when, settings=settings):
        raise refusal
    end = _end_of(starts_at=hold.expires_at, days=days, expires_at=expires_at)
    if end <= hold.expires_at:
        raise ExtensionRefused(_("The new end must be later than the current one."))
    days_limit = max_hold_days(by, settings)
    if end > when + timedelta(days=days_limit):
        raise ExtensionRefused(
            _("A hold may end at most %(days)s days from now for your role.") % {"days": days_limit}
        )
    old = hold.expires_at
    hold.expires_at, hold.extensions = end, hold.extensions + 1
    hold.save(update_fields=["expires_at", "extensions"])
    _event(hold, HoldEventKind.EXTENDED, by=by, when=when, old=old, new=end, reason=reason.strip())
    unit_set_sales_state(
        unit=unit,
        status=UnitStatus.RESERVED,
        hold_until=end,
        by=by,
        reason=_("Hold extended until %(until)s") % {"until": _until(end)},
        at=when,
    )
    return hold


@transaction.atomic
@audit.service
def hold_cancel(*, hold: Hold, by, reason: str, at: datetime | None = None) -> Hold:
    """End a live hold early, with a reason: the unit goes back on sale and the first
    waiting client of its queue gets it. Raises ``ReasonRequired``, ``HoldNotLive``."""
    when = _now(at)
    if not (reason or "").strip():
        raise ReasonRequired(_("Give a reason for cancelling the hold."))
    unit, hold = _locked_hold(hold)
    if refusal := cancel_refusal(hold, now=when):
        raise refusal
    hold.state, hold.ended_at, hold.ended_by = HoldState.CANCELLED, when, by
    hold.end_reason = reason.strip()[:300]
    hold.save(update_fields=["state", "ended_at", "ended_by", "end_reason"])
    _event(hold, HoldEventKind.CANCELLED, by=by, when=when, old=hold.expires_at, reason=reason)
    unit = _release_unit(unit, by=by, when=when, reason=_("Hold cancelled"))
    _grant_next(unit, when=when, waiting=hold.waiting)
    return hold


@transaction.atomic
@audit.service
def hold_convert(*, hold: Hold, by, at: datetime | None = None) -> Hold:
    """Mark a live hold as turned into a deal (called by ``deal_open`` in its transaction).

    Locks the unit, checks the hold is live, sets it ``converted`` and appends the event.
    It leaves the unit's status to the deal service. Raises ``HoldNotLive``.
    """
    when = _now(at)
    _unit, hold = _locked_hold(hold)
    if not hold.is_live(when):
        raise HoldNotLive(_("This hold has already ended: hold the unit again first."))
    return convert_locked_hold(hold=hold, by=by, at=when)


@audit.service
def convert_locked_hold(*, hold: Hold, by, at: datetime) -> Hold:
    """``hold_convert`` for a caller that holds the unit's lock in this transaction and has
    checked under it that ``hold`` is live (``deal_open``): no second lock, no savepoint."""
    hold.state, hold.ended_at, hold.ended_by = HoldState.CONVERTED, at, by
    hold.save(update_fields=["state", "ended_at", "ended_by"])
    _event(hold, HoldEventKind.CONVERTED, by=by, when=at, old=hold.expires_at)
    if getattr(hold, "waiting", None) is not False:  # read with the hold: nobody waits
        _close_queue(hold.unit_id, at=at)
    return hold


def _close_queue(unit_id: int, *, at: datetime) -> int:
    """The unit went into a deal: nobody waiting for it will get it from this hold. Every
    waiting entry is withdrawn with the reason, and its manager told (a queue left waiting
    would grab the unit when it is later back on sale, long after the clients moved on)."""
    entries = list(
        QueueEntry.objects.select_related("client", "manager", "unit").filter(
            unit_id=unit_id, state=QueueState.WAITING
        )
    )
    if not entries:
        return 0
    reason = _("The unit went into a deal")
    ids = [e.pk for e in entries]
    audit.update(
        QueueEntry.objects.filter(pk__in=ids),
        where={"ids": ids},
        state=QueueState.WITHDRAWN,
        end_reason=reason,
        ended_at=at,
    )
    for entry in entries:
        notice_send(
            user=entry.manager,
            message=gettext_noop(
                "%(unit)s went into a deal: %(client)s is no longer in its queue."
            ),
            args={"unit": str(entry.unit), "client": str(entry.client)},
            url=_unit_url(unit_id),
        )
    return len(entries)


def holds_expire(now: datetime | None = None) -> int:
    """Finalise every hold whose end has passed (state ``expired``, an event, the unit back
    on sale, a notice to its manager, the queue moved on). Each unit in its own short
    transaction; idempotent. Returns how many holds were finalised."""
    now = now or timezone.now()
    done = 0
    due = Hold.objects.filter(state=HoldState.ACTIVE, expires_at__lte=now)
    for unit_id in due.order_by("unit_id").values_list("unit_id", flat=True):
        with transaction.atomic():
            unit = unit_lock(unit_id=unit_id, fields=SALES_FIELDS)
            hold = _active_hold(unit)
            if hold is not None and hold.expires_at <= now:
                _expire(unit, hold, when=now)
                done += 1
    return done


# --- the queue ------------------------------------------------------------------------------


@transaction.atomic
@audit.service
def queue_join(
    *,
    unit: Unit,
    client=None,
    manager,
    by,
    new_client: dict | None = None,
    comment: str = "",
    at: datetime | None = None,
) -> QueueEntry:
    """Put ``client`` (or a ``new_client`` created for ``manager``) in the queue for a held
    unit. Raises ``QueueRefused`` when the unit is not held (hold it instead), the client
    holds it already or is already waiting."""
    when = _now(at)
    unit = unit_lock(unit_id=unit.pk, fields=SALES_FIELDS)
    unit = _settle(unit, by=by, when=when)
    hold = _active_hold(unit)
    if hold is None:
        raise QueueRefused(_("%(unit)s is not held: hold it instead.") % {"unit": unit})
    if client is None:
        client = client_create(by=by, manager=manager, **(new_client or {}))
    if hold.client_id == client.pk:
        raise QueueRefused(_("%(client)s already holds this unit.") % {"client": client})
    if QueueEntry.objects.filter(unit_id=unit.pk, client=client, state=QueueState.WAITING).exists():
        raise QueueRefused(_("%(client)s is already in the queue.") % {"client": client})
    return QueueEntry.objects.create(
        unit=unit, client=client, manager=manager, created_at=when, comment=comment[:300]
    )


@transaction.atomic
@audit.service
def queue_withdraw(*, entry: QueueEntry, by, at: datetime | None = None) -> QueueEntry:
    """Take a waiting client out of the queue. Raises ``QueueRefused`` when not waiting."""
    unit_lock(unit_id=entry.unit_id, fields=("id",))
    entry = QueueEntry.objects.get(pk=entry.pk)
    if entry.state != QueueState.WAITING:
        raise QueueRefused(_("This client is no longer waiting."))
    entry.state, entry.ended_at = QueueState.WITHDRAWN, _now(at)
    entry.end_reason = _("Withdrawn by %(user)s") % {"user": by}
    entry.save(update_fields=["state", "ended_at", "end_reason"])
    return entry


@dataclass(frozen=True)
class Limits:
    """What the hold form tells the user about their role's limits."""

    max_days: int
    max_extensions: int | None


def limits_for(user) -> Limits:
    settings = SalesSettings.current()
    return Limits(max_hold_days(user, settings), max_extensions(user, settings))
