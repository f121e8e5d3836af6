"""Per-client sales figures (C5) and the sales side of the clients' operations.

The figures are computed by one query from the deals, never stored, so they cannot go stale;
"as of" is the time of the query. Which stages count as bought, in work or refused is
``Stage.outcome``, set by an administrator.

Rules (decided here):
- a deal counts **whole** for each of its buyers (a couple buying a flat together have each
  "bought one flat for its price"); totals over several clients may therefore count a
  co-owned deal twice, and the company's own totals come from the deals, not from here;
- the sum is the deal price (``Deal.price``, after discounts, before the BTI recalculation);
- bought and in work count active deals only (a deal replaced by a unit swap counts through
  its replacement); refused counts deals at a refused stage (terminated);
- average check = bought sum / bought count, empty when nothing was bought.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.core.errors import DomainError
from kvartal.inventory.models import StatusChange

from .models import (
    Deal,
    DealBuyer,
    DealEvent,
    Hold,
    HoldEvent,
    Payment,
    QueueEntry,
    QueueState,
    StageOutcome,
)

MONEY = DecimalField(max_digits=16, decimal_places=2)
_D = "deal_parts__deal"

BOUGHT = Q(**{f"{_D}__stage__outcome": StageOutcome.BOUGHT, f"{_D}__is_active": True})
IN_WORK = Q(**{f"{_D}__stage__outcome": StageOutcome.IN_WORK, f"{_D}__is_active": True})
REFUSED = Q(**{f"{_D}__stage__outcome": StageOutcome.REFUSED})

FIGURES = (
    "bought_count",
    "bought_sum",
    "avg_check",
    "in_work_count",
    "in_work_sum",
    "refused_count",
    "refused_sum",
)


def _sum(condition):
    return Coalesce(Sum(f"{_D}__price", filter=condition), Value(Decimal(0)), output_field=MONEY)


def with_figures(clients):
    """Annotate a client queryset with the C5 figures (one GROUP BY over their deals)."""
    return clients.annotate(
        bought_count=Count("deal_parts", filter=BOUGHT),
        bought_sum=_sum(BOUGHT),
        in_work_count=Count("deal_parts", filter=IN_WORK),
        in_work_sum=_sum(IN_WORK),
        refused_count=Count("deal_parts", filter=REFUSED),
        refused_sum=_sum(REFUSED),
    ).annotate(
        avg_check=Case(
            When(
                bought_count__gt=0,
                # A float here so that SQLite does not divide as integers; it serves sorting
                # and filtering, the exact value is ``exact_average`` below.
                then=ExpressionWrapper(
                    Cast("bought_sum", FloatField()) / Cast("bought_count", FloatField()),
                    output_field=FloatField(),
                ),
            ),
            default=None,
            output_field=FloatField(),
        )
    )


def exact_average(bought_sum, bought_count) -> Decimal | None:
    """The average check in kopecks, computed in Decimal from the exact sums."""
    if not bought_count:
        return None
    return (Decimal(bought_sum) / bought_count).quantize(Decimal("0.01"), ROUND_HALF_UP)


def figures_of(client) -> dict:
    """The C5 figures of one client, with the time they are as of."""
    from kvartal.clients.models import Client

    row = with_figures(Client.objects.filter(pk=client.pk)).values(*FIGURES).get()
    row["avg_check"] = exact_average(row["bought_sum"], row["bought_count"])
    row["as_of"] = timezone.now()
    return row


# Sort keys of the client list → order_by fields (the figures sort empty values last).
SORTS = {
    "name": ("sort_name", "pk"),
    "created": ("created_at", "pk"),
    **{key: (key, "pk") for key in FIGURES},
}


def ordered(clients, sort: str):
    """Order an annotated client queryset by ``sort`` (``-`` first for descending)."""
    key = sort.lstrip("-")
    if key not in SORTS:
        key, sort = "name", "name"
    if key == "name":  # a person by last and first name, a company by its name
        clients = clients.annotate(
            sort_name=Concat("last_name", "company_name", Value(" "), "first_name")
        )
    desc = sort.startswith("-")
    fields = []
    for name in SORTS[key]:
        if name == "pk":
            fields.append(F("pk").desc() if desc else F("pk").asc())
        else:
            expr = F(name)
            fields.append(expr.desc(nulls_last=True) if desc else expr.asc(nulls_last=True))
    return clients.order_by(*fields), sort


# --- the sales side of merging and exporting clients (registered in apps.py) ------------


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
    return {
        "deals": DealBuyer.objects.filter(client=source).update(client=target),
        "holds": Hold.objects.filter(client=source).update(client=target),
        "queue": QueueEntry.objects.filter(client=source).update(client=target),
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


def erase_client_sales(clients, names, label: str) -> dict[str, int]:
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
        "hold_comments": holds.exclude(comment="", end_reason="").update(comment="", end_reason=""),
        "hold_events": HoldEvent.objects.filter(hold_id__in=hold_ids)
        .exclude(reason="")
        .update(reason=""),
        "queue_comments": queue.exclude(comment="").update(comment=""),
        "deal_events": redacted,
        "status_changes": redact_status_reasons(unit_ids=unit_ids, names=names, label=label),
    }


def client_deals(client):
    """The client's deals (as buyer), newest first, with what a card row shows."""
    return (
        Deal.objects.filter(buyers__client=client)
        .select_related("unit__building", "stage", "manager")
        .order_by("-created_at", "-pk")
    )
