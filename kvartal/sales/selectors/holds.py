"""Reads of holds: the lists, the chessboard marks of holds running out, the unit card panel and
timeline.
"""

from datetime import datetime, timedelta

from django.db.models import (
    QuerySet,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import SALES_HOLD, SALES_VIEW, has_capability
from kvartal.accounts.scoping import row_scope
from kvartal.inventory.extensions import CellMark, Panel
from kvartal.inventory.models import (
    Unit,
    UnitStatus,
)

from ..availability import unit_is_available
from ..models import (
    Hold,
    HoldEvent,
    HoldEventKind,
    QueueEntry,
    QueueState,
    SalesSettings,
    ShownHoldState,
)
from .board import board_units, held_units

# --- holds ----------------------------------------------------------------------------------


def live_holds(now: datetime | None = None) -> QuerySet[Hold]:
    """Active holds whose end has not passed (``HoldQuerySet.live``)."""
    return Hold.objects.live(now)


def holds_list(user, *, show: str = "", mine: bool = False, now=None) -> QuerySet[Hold]:
    """The holds page: live ones (soonest end first), ``ending`` within the warning window,
    or ``ended`` (newest first)."""
    now = now or timezone.now()
    holds = Hold.objects.for_user(user).select_related(
        "unit__building__project", "client", "manager"
    )
    if mine:
        holds = holds.filter(manager=user)
    if show == "ended":
        return holds.ended(now).order_by("-expires_at", "-pk")
    holds = holds.ending(now) if show == "ending" else holds.live(now)
    return holds.order_by("expires_at", "pk")


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def expiring_marks(units, now: datetime) -> dict[int, list[CellMark]]:
    """Chessboard marks: ``expiring`` on units whose live hold ends within
    ``SalesSettings.expiry_warning_hours``. The end is the unit's own ``hold_until`` (the hold
    services keep it), so a board costs no query here but the settings (remembered)."""
    live = [(u.pk, u.hold_until) for u in held_units(board_units(units, now))]
    live = [(pk, until) for pk, until in live if until > now]
    if not live:
        return {}
    limit = now + timedelta(hours=SalesSettings.current().expiry_warning_hours)
    title = _("Hold ends %(when)s")
    return {
        pk: [CellMark("expiring", title % {"when": _when(until)})]
        for pk, until in live
        if until <= limit
    }


def deal_url_for(hold: Hold) -> str | None:
    """The page opening a deal from this hold."""
    return f"{reverse('sales:deal-create')}?hold={hold.pk}"


def unit_hold_panels(request, unit: Unit) -> list[Panel]:
    """The hold block of the unit card: the live hold and its actions, or a Hold button;
    the queue. A constant number of queries; nothing for users without ``sales.view``."""
    user = request.user
    if not has_capability(user, SALES_VIEW):
        return []
    now = timezone.now()
    settings = SalesSettings.current()
    hold = live_holds(now).filter(unit_id=unit.pk).select_related("client", "manager").first()
    sees = row_scope(user).sees_owner

    may_hold = has_capability(user, SALES_HOLD)
    queue = list(
        QueueEntry.objects.filter(unit_id=unit.pk, state=QueueState.WAITING)
        .select_related("client", "manager")
        .order_by("created_at", "pk")
    )
    context = {
        "unit": unit,
        "hold": hold,
        "sees_hold": hold is not None and sees(hold.manager_id),
        "may_hold": may_hold,
        "can_hold": may_hold and hold is None and unit_is_available(unit, now=now),
        "expiring": hold is not None
        and hold.shown_state(now, warning_hours=settings.expiry_warning_hours).key
        == ShownHoldState.ENDING,
        "deal_url": deal_url_for(hold) if hold is not None and may_hold else None,
        "queue": [(entry, sees(entry.manager_id)) for entry in queue],
        "next": reverse("inventory:building-chessboard", args=[unit.building_id])
        if request.headers.get("HX-Request")
        else reverse("inventory:unit-detail", args=[unit.pk]),
    }
    return [Panel(template="sales/unit_hold_panel.html", context=context, order=10)]


def unit_hold_timeline(unit: Unit, user=None) -> list[dict]:
    """The unit's hold events for its timeline: who held, from when to when, on what basis;
    extensions, cancellations, expiry. One query.

    The client and the comments (the hold's, an extension's or a cancellation's reason) are
    shown only to ``user`` when they may see that hold (its manager, their sales head,
    ``rows.all``); anyone else who opens the unit reads "held by <manager> until …". Without
    a ``user`` nothing private is shown."""
    events = (
        HoldEvent.objects.filter(hold__unit_id=unit.pk)
        .select_related("actor", "hold", "hold__manager", "hold__client")
        .order_by("at", "pk")
    )
    scope = row_scope(user)
    texts = {
        HoldEventKind.CREATED: _(
            "Held for %(client)s (%(kind)s, %(basis)s) by %(manager)s: %(start)s → %(end)s"
        ),
        HoldEventKind.EXTENDED: _("Hold extended: %(old)s → %(end)s"),
        HoldEventKind.CANCELLED: _("Hold cancelled"),
        HoldEventKind.EXPIRED: _("Hold expired at %(old)s"),
        HoldEventKind.CONVERTED: _("Hold turned into a deal"),
    }
    closed = {
        HoldEventKind.CREATED: _("Held by %(manager)s until %(end)s"),
        HoldEventKind.EXTENDED: _("Hold by %(manager)s extended until %(end)s"),
        HoldEventKind.CANCELLED: _("Hold by %(manager)s cancelled"),
        HoldEventKind.EXPIRED: _("Hold by %(manager)s expired at %(old)s"),
        HoldEventKind.CONVERTED: _("Hold by %(manager)s turned into a deal"),
    }
    rows = []
    for event in events:
        hold = event.hold
        sees = scope.sees_owner(hold.manager_id)
        values = {
            "client": hold.client,
            "kind": hold.get_kind_display(),
            "basis": hold.get_basis_display(),
            "manager": hold.manager.short_name,
            "start": _when(hold.starts_at),
            "end": _when(event.new_expires_at or hold.expires_at),
            "old": _when(event.old_expires_at or hold.expires_at),
        }
        rows.append(
            {
                "at": event.at,
                "pk": event.pk,
                "kind": "hold",
                "actor": event.actor.short_name if event.actor else _("system"),
                "text": (texts if sees else closed)[event.kind] % values,
                "reason": event.reason if sees else "",
                "status": UnitStatus.RESERVED if event.kind != HoldEventKind.EXPIRED else "",
            }
        )
    return rows
