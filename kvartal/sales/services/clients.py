"""The sales side of merging, exporting and erasing a client (registered in apps.py as
handlers of the clients app's operations)."""

from django.db.models import (
    Q,
)
from django.utils.translation import gettext as _

from kvartal import audit
from kvartal.core.errors import DomainError
from kvartal.inventory.models import StatusChange

from ..models import (
    DealBuyer,
    DealEvent,
    Hold,
    HoldEvent,
    Payment,
    QueueEntry,
    QueueState,
)


def merge_client_sales(source, target) -> dict[str, int]:
    """Move the duplicate's deals (as buyer), holds and queue places to ``target``.
    Refused when both are buyers on one deal or wait in the same queue."""
    both = DealBuyer.objects.filter(client=source, deal__buyers__client=target)
    if both.exists():
        raise DomainError(
            _("Both clients are buyers on deal %(n)s; change its buyers first.")
            % {"n": both.select_related("deal").first().deal.number}
        )
    waiting = QueueEntry.objects.filter(state=QueueState.WAITING)
    source_units = waiting.filter(client=source).values("unit_id")
    if waiting.filter(client=target, unit_id__in=source_units).exists():
        raise DomainError(_("Both clients wait in the queue for the same unit."))
    was = {"client": source.pk}
    return {
        "deals": audit.update(DealBuyer.objects.filter(client=source), where=was, client=target),
        "holds": audit.update(Hold.objects.filter(client=source), where=was, client=target),
        "queue": audit.update(QueueEntry.objects.filter(client=source), where=was, client=target),
    }


def export_client_sales(client) -> dict:
    """The client's holds, deals and payments for the personal-data export."""
    parts = DealBuyer.objects.filter(client=client).select_related("deal__unit", "deal__stage")
    deal_ids = [p.deal_id for p in parts]
    return {
        "holds": [
            {
                "unit": h.unit.code,
                "from": h.starts_at.isoformat(),
                "until": h.expires_at.isoformat(),
                "state": h.state,
                "price": str(h.price),
            }
            for h in Hold.objects.filter(client=client).select_related("unit")
        ],
        "deals": [
            {
                "number": p.deal.number,
                "unit": p.deal.unit.code,
                "stage": p.deal.stage.code,
                "price": str(p.deal.price),
                "share": f"{p.share_numerator}/{p.share_denominator}",
                "signed_on": p.deal.signed_on.isoformat() if p.deal.signed_on else None,
            }
            for p in parts
        ],
        "payments": [
            {
                "deal": pay.deal.number,
                "received_on": pay.received_on.isoformat(),
                "amount": str(pay.amount),
            }
            for pay in Payment.objects.filter(deal_id__in=deal_ids).select_related("deal")
        ],
    }


def redact_status_reasons(*, unit_ids, names, label: str) -> int:
    """Put ``label`` in place of ``names`` in the status history of these units (the holds
    service writes "Held for <client>" there).

    The inventory history is append-only; this is its one exception: a data subject's
    erasure request (152-ФЗ) outranks it, and only the name in the text changes — the row,
    its time, its statuses and its price stay."""
    names = sorted((n for n in names if n), key=len, reverse=True)  # full names first
    if not names or not unit_ids:
        return 0
    q = Q(pk__in=[])
    for name in names:
        q |= Q(reason__contains=name)
    count = 0
    for pk, reason in (
        StatusChange.objects.filter(unit_id__in=unit_ids).filter(q).values_list("pk", "reason")
    ):
        for name in names:
            reason = reason.replace(name, label)
        count += StatusChange.objects.filter(pk=pk).update(reason=reason[:300])
    return count


def _redact_buyers(data, ids: set, label: str) -> bool:
    """Replace the names of these clients in a deal event's buyer lists (``buyers`` of an
    opened deal, ``old``/``new`` of a change of buyers)."""
    changed = False
    for key in ("buyers", "old", "new"):
        rows = data.get(key) if isinstance(data, dict) else None
        if not isinstance(rows, list):
            continue
        for row in rows:
            if isinstance(row, dict) and row.get("client") in ids and row.get("name") != label:
                row["name"] = label
                changed = True
    return changed


def erase_client_sales(
    clients, names, label: str, phones=frozenset(), tasks=frozenset()
) -> dict[str, int]:
    """The sales side of erasing a client's personal data: hold and queue comments and hold
    event reasons go (with their copies in the units' status history), the client's name
    (``names``: full names and surnames) in the deals' history and in the units' status
    history becomes ``label``. Figures (prices, payments, dates) stay."""
    ids = {c.pk for c in clients}
    names = sorted((n for n in names if n), key=len, reverse=True)  # full names first
    holds = Hold.objects.filter(client_id__in=ids)
    queue = QueueEntry.objects.filter(client_id__in=ids)
    unit_ids = set(holds.values_list("unit_id", flat=True)) | set(
        queue.values_list("unit_id", flat=True)
    )
    hold_ids = list(holds.values_list("pk", flat=True))
    deal_ids = set(DealBuyer.objects.filter(client_id__in=ids).values_list("deal_id", flat=True))
    # a buyer removed from a deal is still named in its history: find the events by id
    mentions = Q(pk__in=[])
    for pk in ids:
        mentions |= Q(data__icontains=f'"client": {pk}')
    events = DealEvent.objects.filter(Q(deal_id__in=deal_ids) | mentions)
    redacted = 0
    for event in events.only("pk", "data", "reason"):
        changed = _redact_buyers(event.data, ids, label)
        reason = event.reason
        for name in names:
            reason = reason.replace(name, label)
        if changed or reason != event.reason:
            DealEvent.objects.filter(pk=event.pk).update(data=event.data, reason=reason[:300])
            redacted += 1
    # The holds service copies a cancel or extension reason (free text) into the unit's
    # status history at the same moment: those copies go with the hold events' reasons.
    copies = 0
    for unit_id, at, reason in (
        HoldEvent.objects.filter(hold_id__in=hold_ids)
        .exclude(reason="")
        .values_list("hold__unit_id", "at", "reason")
    ):
        copies += StatusChange.objects.filter(unit_id=unit_id, at=at, reason=reason.strip()).update(
            reason="—"
        )
    return {
        "status_reason_copies": copies,
        "hold_comments": audit.update(
            holds.exclude(comment="", end_reason=""),
            where={"client": sorted(ids)},
            comment="",
            end_reason="",
        ),
        "hold_events": audit.update(
            HoldEvent.objects.filter(hold_id__in=hold_ids).exclude(reason=""),
            where={"hold": hold_ids},
            reason="",
        ),
        "queue_comments": audit.update(
            queue.exclude(comment=""), where={"client": sorted(ids)}, comment=""
        ),
        "deal_events": redacted,
        "status_changes": redact_status_reasons(unit_ids=unit_ids, names=names, label=label),
    }
