"""Reads of sales for pages: scoped querysets and what sales adds to inventory's pages.

Holds first (this part); deals, payments and promotions append theirs below.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import (
    DecimalField,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Replace
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import SALES_HOLD, SALES_VIEW, has_capability, visible_managers
from kvartal.inventory.extensions import CellMark, Panel
from kvartal.inventory.models import (
    BuildingKind,
    Unit,
    UnitKind,
    UnitStatus,
    effective_status_q,
)

from .models import (
    Deal,
    DealBuyer,
    DealEvent,
    Hold,
    HoldEvent,
    HoldEventKind,
    HoldState,
    Payment,
    PaymentLine,
    Promotion,
    QueueEntry,
    QueueState,
    SalesSettings,
)
from .promotions_rules import promotion_rule

# --- holds ----------------------------------------------------------------------------------


def holds_visible_to(user) -> QuerySet[Hold]:
    """Row scoping: a manager's own holds, a sales head's team's, everyone's for ``rows.all``."""
    holds = Hold.objects.all()
    managers = visible_managers(user)
    return holds if managers is None else holds.filter(manager_id__in=managers)


def queue_visible_to(user) -> QuerySet[QueueEntry]:
    entries = QueueEntry.objects.all()
    managers = visible_managers(user)
    return entries if managers is None else entries.filter(manager_id__in=managers)


def live_holds(now: datetime | None = None) -> QuerySet[Hold]:
    """Active holds whose end has not passed (an overdue one reads as ended already)."""
    return Hold.objects.filter(state=HoldState.ACTIVE, expires_at__gt=now or timezone.now())


def holds_list(user, *, show: str = "", mine: bool = False, now=None) -> QuerySet[Hold]:
    """The holds page: live ones (soonest end first), ``ending`` within the warning window,
    or ``ended`` (newest first)."""
    now = now or timezone.now()
    holds = holds_visible_to(user).select_related("unit__building__project", "client", "manager")
    if mine:
        holds = holds.filter(manager=user)
    if show == "ended":
        ended = holds.exclude(state=HoldState.ACTIVE) | holds.filter(
            state=HoldState.ACTIVE, expires_at__lte=now
        )
        return ended.order_by("-expires_at", "-pk")
    holds = holds.filter(state=HoldState.ACTIVE, expires_at__gt=now)
    if show == "ending":
        hours = SalesSettings.current().expiry_warning_hours
        holds = holds.filter(expires_at__lte=now + timedelta(hours=hours))
    return holds.order_by("expires_at", "pk")


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def expiring_marks(unit_ids, now: datetime) -> dict[int, list[CellMark]]:
    """Chessboard marks: ``expiring`` on units whose live hold ends within
    ``SalesSettings.expiry_warning_hours``. Two queries whatever the number of units."""
    ids = list(unit_ids)
    if not ids:
        return {}
    hours = SalesSettings.current().expiry_warning_hours
    rows = (
        live_holds(now)
        .filter(unit_id__in=ids, expires_at__lte=now + timedelta(hours=hours))
        .values_list("unit_id", "expires_at")
    )
    title = _("Hold ends %(when)s")
    return {
        unit_id: [CellMark("expiring", title % {"when": _when(until)})] for unit_id, until in rows
    }


def deal_url_for(hold: Hold) -> str | None:
    """The deals helper's "open a deal from this hold" page, when it exists."""
    try:
        return f"{reverse('sales:deal-create')}?hold={hold.pk}"
    except NoReverseMatch:
        return None


def unit_hold_panels(request, unit: Unit) -> list[Panel]:
    """The hold block of the unit card: the live hold and its actions, or a Hold button;
    the queue. A constant number of queries; nothing for users without ``sales.view``."""
    user = request.user
    if not has_capability(user, SALES_VIEW):
        return []
    now = timezone.now()
    settings = SalesSettings.current()
    hold = live_holds(now).filter(unit_id=unit.pk).select_related("client", "manager").first()
    managers = visible_managers(user)

    def sees(manager_id: int) -> bool:
        return managers is None or manager_id in managers

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
        "can_hold": may_hold
        and hold is None
        and unit.effective_status(now) == UnitStatus.AVAILABLE,
        "expiring": hold is not None
        and hold.expires_at <= now + timedelta(hours=settings.expiry_warning_hours),
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
    managers = visible_managers(user) if user is not None else frozenset()
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
        sees = managers is None or hold.manager_id in managers
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


# --- deals ----------------------------------------------------------------------------------
# (The deals helper's section: the deal list and card reads, and the unit card providers.)


def deals_visible_to(user):
    """Row scoping: a manager's own deals, a sales head's team's, everyone's for ``rows.all``."""
    from .models import Deal

    deals = Deal.objects.all()
    managers = visible_managers(user)
    return deals if managers is None else deals.filter(manager_id__in=managers)


def _deal_buyers_prefetch():
    from django.db.models import Prefetch

    from .models import DealBuyer

    return Prefetch("buyers", queryset=DealBuyer.objects.select_related("client"))


def deal_list(user, filters: dict | None = None):
    """The deal list: deals ``user`` may see, filtered (scope ``mine``, state open / closed /
    all, stage, project, manager, number or buyer's last name), newest first. The query count
    is the same for any number of rows (buyers are prefetched in one query)."""
    from django.db.models import Exists, OuterRef, Q

    from .models import DealBuyer

    filters = filters or {}
    deals = deals_visible_to(user)
    if filters.get("scope") == "mine":
        deals = deals.filter(manager=user)
    state = filters.get("state") or "active"
    if state == "active":
        deals = deals.filter(is_active=True)
    elif state == "closed":
        deals = deals.filter(is_active=False)
    if filters.get("stage"):
        deals = deals.filter(stage=filters["stage"])
    if filters.get("project"):
        deals = deals.filter(unit__building__project=filters["project"])
    if filters.get("manager"):
        deals = deals.filter(manager=filters["manager"])
    query = (filters.get("q") or "").strip()
    if query:
        # SQLite folds only ASCII case: try the usual spellings of a Cyrillic surname too.
        variants = {query, query.lower(), query.capitalize(), query.upper()}
        surname = Q()
        number = Q()
        for v in variants:
            surname |= Q(client__last_name__icontains=v) | Q(client__company_name__icontains=v)
            number |= Q(number__icontains=v)
        buyers = DealBuyer.objects.filter(surname, deal_id=OuterRef("pk"))
        deals = deals.filter(number | Q(Exists(buyers)))
    return (
        deals.select_related("unit__building__project", "stage", "manager")
        .prefetch_related(_deal_buyers_prefetch())
        .order_by("-created_at", "-pk")
    )


def deal_card(user, pk: int):
    """One deal ``user`` may see, with what its card shows (``Deal.DoesNotExist`` otherwise)."""
    return (
        deals_visible_to(user)
        .select_related(
            "unit__building__project",
            "unit__section",
            "unit__floor",
            "stage",
            "scheme",
            "manager",
            "agency",
            "promotion",
            "discount_approved_by",
            "hold__client",
            "created_by",
        )
        .prefetch_related(_deal_buyers_prefetch())
        .get(pk=pk)
    )


def deal_history(deal) -> list:
    """The deal's events, oldest first, with actors, stages and units (one query)."""
    events = list(
        deal.events.select_related("actor", "from_stage", "to_stage", "unit").order_by("at", "pk")
    )
    for event in events:
        event.deal = deal
    return events


def deal_event_text(event, *, with_number: bool = True) -> str:
    """One line saying what a deal event did, in the reader's language; ``with_number``
    names the deal (the unit's history mixes deals, the deal's own history does not)."""
    from kvartal.core.templatetags.kvartal import money

    from .models import DealEventKind

    data = event.data or {}
    number = data.get("number") or event.deal.number
    text = ""
    if event.kind == DealEventKind.CREATED:
        price = money(data.get("price") or event.deal.price)
        text = _("opened at %(price)s ₽") % {"price": price}
    elif event.kind in (DealEventKind.STAGE, DealEventKind.TERMINATED):
        old = event.from_stage.label if event.from_stage else "—"
        new = event.to_stage.label if event.to_stage else "—"
        text = f"{old} → {new}"
        if data.get("registration_number"):
            text += " · " + _("registration %(number)s of %(date)s") % {
                "number": data["registration_number"],
                "date": data.get("registration_date", ""),
            }
        if data.get("act_date"):
            text += " · " + _("act of %(date)s") % {"date": data["act_date"]}
    elif event.kind == DealEventKind.BUYERS:
        text = _("buyers changed")
        if not with_number:  # the deal's own page may name them
            text += ": " + ", ".join(f"{b['name']} {b['share']}" for b in data.get("new", []))
    elif event.kind == DealEventKind.UNIT_SWAP:
        text = _("moved from %(old)s to %(new)s, price %(price)s ₽") % {
            "old": data.get("old", {}).get("unit_name", "—"),
            "new": data.get("new", {}).get("unit_name", "—"),
            "price": money(data.get("new", {}).get("price")),
        }
    elif event.kind == DealEventKind.BTI:
        adjustment = data.get("adjustment") or "0"
        text = _("BTI area %(bti)s m² (contract %(contract)s m²), recalculation %(money)s ₽") % {
            "bti": data.get("bti_area", ""),
            "contract": data.get("contract_area", ""),
            "money": money(adjustment),
        }
    else:
        text = str(event.get_kind_display())
    if with_number:
        return _("Deal %(number)s: %(what)s") % {"number": number, "what": text}
    return text


def deal_unit_timeline(unit, user=None) -> list[dict]:
    """The unit card's history lines from deals on this unit: opened, stages, buyers changed,
    swaps, BTI, terminations (one query). Buyers' names stay out of it; the reasons typed
    (a termination's, a change of buyers') only for a ``user`` who may see the deal."""
    from .models import DealEvent

    managers = visible_managers(user) if user is not None else frozenset()
    rows = (
        DealEvent.objects.filter(unit_id=unit.pk)
        .select_related("actor", "deal", "from_stage", "to_stage")
        .order_by("at", "pk")
    )
    return [
        {
            "at": e.at,
            "pk": e.pk,
            "kind": "deal",
            "actor": e.actor.short_name if e.actor else _("system"),
            "text": deal_event_text(e),
            "reason": e.reason if managers is None or e.deal.manager_id in managers else "",
            "status": (
                UnitStatus.AVAILABLE
                if e.to_stage and e.to_stage.is_termination
                else (e.to_stage.unit_status if e.to_stage else "")
            ),
        }
        for e in rows
    ]


def deal_unit_panels(request, unit) -> list:
    """The unit card's deal block: the active deal (number, stage, buyers, price, link) for
    those who may see it, or a button to open one on a unit on sale. Two queries at most."""
    from kvartal.accounts.permissions import SALES_DEAL

    from .models import Deal

    user = request.user
    if not has_capability(user, SALES_VIEW):
        return []
    managers = visible_managers(user)
    deal = (
        Deal.objects.filter(unit_id=unit.pk, is_active=True)
        .select_related("stage", "manager")
        .first()
    )
    context = {"unit": unit, "deal": deal, "visible": False, "can_open": False, "hold": None}
    if deal is not None:
        context["visible"] = managers is None or deal.manager_id in managers
        if context["visible"]:
            context["buyers"] = [b.client for b in deal.buyers.select_related("client")]
    elif has_capability(user, SALES_DEAL):
        # A held unit's deal button is on the hold block (``unit_hold_panels``).
        context["can_open"] = unit.effective_status() == UnitStatus.AVAILABLE
    if deal is None and not context["can_open"]:
        return []
    return [Panel(template="sales/deal_unit_panel.html", context=context, order=20)]


# --- payments and promotions ------------------------------------------------------------
# Planned against received per deal and line (computed, never stored), the cashier's list,
# the chessboard marks of money and promotions, the promotion offers of a unit, the search.


ZERO = Decimal(0)


def money_text(value) -> str:
    """An amount to the kopeck as the current language writes it (grouped)."""
    return number_format(Decimal(value).quantize(Decimal("0.01")), 2, force_grouping=True)


def visible_deals(user):
    """Deals whose rows ``user`` may see: their own, their team's, or all (row scoping)."""
    managers = visible_managers(user)
    deals = Deal.objects.all()
    return deals if managers is None else deals.filter(manager_id__in=managers)


@dataclass
class LineState:
    """A planned payment with what has been allocated to it."""

    line: PaymentLine
    paid: Decimal
    overdue: bool = False

    @property
    def remaining(self) -> Decimal:
        return max(self.line.amount - self.paid, ZERO)

    @property
    def state(self) -> str:
        """``paid``, ``overdue``, ``part`` (partly paid) or ``planned``."""
        if self.remaining == 0:
            return "paid"
        if self.overdue:
            return "overdue"
        return "part" if self.paid > 0 else "planned"


@dataclass
class PaymentState:
    """Planned against received for one deal, computed from its lines and payments."""

    total_due: Decimal
    received: Decimal = ZERO
    lines: list[LineState] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)

    @property
    def planned(self) -> Decimal:
        return sum((s.line.amount for s in self.lines), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return self.total_due - self.received

    @property
    def overdue(self) -> Decimal:
        return sum((s.remaining for s in self.lines if s.overdue), ZERO)

    @property
    def overdue_since(self) -> date | None:
        return min((s.line.due_date for s in self.lines if s.overdue), default=None)

    @property
    def is_overdue(self) -> bool:
        return self.overdue > 0

    @property
    def paid_in_full(self) -> bool:
        return self.received >= self.total_due

    @property
    def unplanned(self) -> Decimal:
        """What the schedule misses (or, negative, plans beyond) the total due."""
        return self.total_due - self.planned

    @property
    def next_line(self) -> LineState | None:
        return next((s for s in self.lines if s.remaining > 0), None)


def allocate(lines: list[PaymentLine], tied: dict, loose: Decimal) -> dict[int, Decimal]:
    """How much of each line (in schedule order) is paid.

    A payment tied to a line goes to that line up to its amount; the excess and the payments
    tied to no line cover the earliest lines in order. A negative line (a refund planned after
    a BTI measurement) counts as settled.
    """
    paid: dict[int, Decimal] = {}
    pool = loose
    for line in lines:
        to_line = tied.get(line.pk, ZERO)
        paid[line.pk] = min(to_line, line.amount) if line.amount > 0 else line.amount
        pool += to_line - max(paid[line.pk], ZERO)
    for line in lines:
        if pool <= 0:
            break
        gap = line.amount - paid[line.pk]
        if gap > 0:
            add = min(gap, pool)
            paid[line.pk] += add
            pool -= add
    return paid


def payment_states(totals: dict[int, Decimal], today: date | None = None) -> dict:
    """``{deal id: PaymentState}`` for the deals in ``totals`` (deal id → total due), in two
    queries however many deals: their lines, and their payments summed per line."""
    today = today or timezone.localdate()
    ids = list(totals)
    states = {pk: PaymentState(total_due=total) for pk, total in totals.items()}
    if not ids:
        return states
    lines_by_deal: dict[int, list[PaymentLine]] = defaultdict(list)
    for line in PaymentLine.objects.filter(deal_id__in=ids).order_by("due_date", "pk"):
        lines_by_deal[line.deal_id].append(line)
    tied: dict[int, dict] = defaultdict(dict)
    for deal_id, line_id, amount in (
        Payment.objects.filter(deal_id__in=ids)
        .values_list("deal_id", "line_id")
        .annotate(s=Sum("amount"))
        .order_by()
    ):
        tied[deal_id][line_id] = tied[deal_id].get(line_id, ZERO) + amount
    for pk, state in states.items():
        lines = lines_by_deal.get(pk, [])
        money = tied.get(pk, {})
        state.received = sum(money.values(), ZERO)
        known = {line.pk for line in lines}
        loose = sum((v for k, v in money.items() if k not in known), ZERO)
        paid = allocate(lines, money, loose)
        state.lines = [
            LineState(
                line=line,
                paid=paid[line.pk],
                overdue=line.due_date < today and paid[line.pk] < line.amount,
            )
            for line in lines
        ]
    return states


def deal_payment_state(deal: Deal, today: date | None = None) -> PaymentState:
    """One deal's schedule, payments and totals (three queries)."""
    state = payment_states({deal.pk: deal.total_due}, today)[deal.pk]
    state.payments = list(deal.payments.select_related("recorded_by", "line"))
    return state


def _money_sum(queryset, name: str):
    return Coalesce(
        Subquery(queryset.values("deal_id").annotate(s=Sum(name)).values("s")[:1]),
        Value(ZERO),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def deals_with_money_due(user, *, query: str = "", today: date | None = None):
    """The cashier's list: active deals ``user`` may see with money still due, overdue first.

    Annotates ``planned``, ``received``, ``total``, ``due_to_date`` (planned up to
    yesterday) and ``overdue_amount`` (what of that is not received). ``query`` matches the
    deal number, a buyer's last name or the unit's number or code.
    """
    today = today or timezone.localdate()
    lines = PaymentLine.objects.filter(deal_id=OuterRef("pk"))
    deals = (
        visible_deals(user)
        .filter(is_active=True)
        .annotate(
            planned=_money_sum(lines, "amount"),
            received=_money_sum(Payment.objects.filter(deal_id=OuterRef("pk")), "amount"),
            due_to_date=_money_sum(lines.filter(due_date__lt=today), "amount"),
            total=F("price") + F("bti_adjustment"),
        )
        .annotate(overdue_amount=Greatest(F("due_to_date") - F("received"), Value(ZERO)))
        .filter(received__lt=F("total"))
    )
    query = query.strip()
    if query:
        deals = deals.filter(
            pk__in=Deal.objects.filter(
                Q(number__icontains=query)
                | text_q("buyers__client__last_name", query)
                | text_q("buyers__client__company_name", query)
                | Q(unit__number=query)
                | Q(unit__code=query)
            ).values("pk")
        )
    return deals.select_related("unit__building__project", "stage", "manager").order_by(
        F("overdue_amount").desc(), "number"
    )


def cashier_totals(deals) -> dict:
    """Planned, received, outstanding and overdue over a ``deals_with_money_due`` selection."""
    rows = list(deals.values_list("planned", "received", "total", "overdue_amount"))
    return {
        "count": len(rows),
        "planned": sum((r[0] for r in rows), ZERO),
        "received": sum((r[1] for r in rows), ZERO),
        "outstanding": sum((r[2] - r[1] for r in rows), ZERO),
        "overdue": sum((r[3] for r in rows), ZERO),
        "overdue_count": sum(1 for r in rows if r[3] > 0),
    }


# Chessboard marks. Both providers cost a constant number of queries for any number of units.


def payment_marks(unit_ids: Iterable[int], now: datetime) -> dict[int, list[CellMark]]:
    """``overdue`` on units whose deal has a planned payment past due and not covered; on a
    parking space (in a parking structure or in any building) also ``paid`` (paid in full)
    and ``part-paid``.

    One query sums every active deal's money in SQL; only the deals that still owe money
    for past dates (few) are allocated line by line (``payment_states``, two more queries).
    """
    ids = list(unit_ids)
    if not ids:
        return {}
    today = timezone.localdate(now)
    lines = PaymentLine.objects.filter(deal_id=OuterRef("pk"))
    deals = list(
        Deal.objects.filter(unit_id__in=ids, is_active=True)
        .annotate(
            received=_money_sum(Payment.objects.filter(deal_id=OuterRef("pk")), "amount"),
            past_due=_money_sum(lines.filter(due_date__lt=today), "amount"),
            total=F("price") + F("bti_adjustment"),
        )
        .values_list(
            "pk", "unit_id", "total", "received", "past_due", "unit__building__kind", "unit__kind"
        )
    )
    owing = {
        pk: total for pk, _u, total, received, past, *_k in deals if received < min(past, total)
    }
    states = payment_states(owing, today)
    marks: dict[int, list[CellMark]] = {}
    for pk, unit_id, total, received, _past, kind, unit_kind in deals:
        found = []
        state = states.get(pk)
        if state is not None and state.is_overdue:
            found.append(
                CellMark(
                    "overdue",
                    _("Payment overdue: %(amount)s ₽ since %(date)s")
                    % {
                        "amount": money_text(state.overdue),
                        "date": date_format(state.overdue_since, "SHORT_DATE_FORMAT"),
                    },
                )
            )
        parking = kind == BuildingKind.PARKING or unit_kind == UnitKind.PARKING
        if parking and received > 0:
            if received >= total:
                found.append(CellMark("paid", _("Paid in full")))
            else:
                found.append(
                    CellMark(
                        "part-paid",
                        _("Paid %(received)s of %(total)s ₽")
                        % {"received": money_text(received), "total": money_text(total)},
                    )
                )
        if found:
            marks[unit_id] = found
    return marks


def running_promotions(on_date: date):
    return Promotion.objects.filter(is_active=True, starts_on__lte=on_date, ends_on__gte=on_date)


def promotions_for_units(
    unit_ids: Iterable[int], on_date: date | None = None, *, on_sale_only: bool = False
) -> dict[int, list[Promotion]]:
    """``{unit id: [running promotions that cover it]}`` in at most five queries: the
    running promotions with their three lists, and the units. ``on_sale_only`` leaves out
    units a client cannot take now (held, in a deal, sold, not for sale)."""
    ids = list(unit_ids)
    on_date = on_date or timezone.localdate()
    if not ids:
        return {}
    promotions = list(
        running_promotions(on_date)
        .prefetch_related("projects", "buildings", "units")
        .order_by("name", "pk")
    )
    if not promotions:
        return {}
    units = Unit.objects.filter(pk__in=ids)
    if on_sale_only:
        units = units.filter(effective_status_q(UnitStatus.AVAILABLE))
    found: dict[int, list[Promotion]] = {}
    rules = [(p, promotion_rule(p)) for p in promotions]
    # Plain rows, not model instances: a board asks about a thousand units at once.
    for pk, rooms, building_id, project_id in units.values_list(
        "pk", "rooms", "building_id", "building__project_id"
    ):
        unit = UnitPlace(pk, rooms, building_id, SimpleNamespace(project_id=project_id))
        matching = [p for p, applies in rules if applies(unit)]
        if matching:
            found[pk] = matching
    return found


@dataclass(frozen=True)
class UnitPlace:
    """What ``promotion_applies`` reads of a unit."""

    pk: int
    rooms: int | None
    building_id: int
    building: SimpleNamespace


def promotion_marks(unit_ids: Iterable[int], now: datetime) -> dict[int, list[CellMark]]:
    """``promo`` on units on sale that a running promotion covers; the tooltip names them."""
    found = promotions_for_units(unit_ids, timezone.localdate(now), on_sale_only=True)
    return {
        unit_id: [
            CellMark(
                "promo",
                _("Promotion: %(names)s") % {"names": ", ".join(p.name for p in promotions)},
            )
        ]
        for unit_id, promotions in found.items()
    }


@dataclass
class PromotionOffer:
    promotion: Promotion
    discount: Decimal
    price_after: Decimal


def promotion_offers(unit: Unit, on_date: date | None = None) -> list[PromotionOffer]:
    """The running promotions for one unit on sale, with the discount and the price after
    each (best first)."""
    if unit.effective_status() != UnitStatus.AVAILABLE or not unit.price:
        return []
    offers = []
    for promotion in promotions_for_units([unit.pk], on_date).get(unit.pk, []):
        discount = promotion.discount_for(price=unit.price, area=unit.total_area)
        offers.append(PromotionOffer(promotion, discount, unit.price - discount))
    return sorted(offers, key=lambda o: -o.discount)


def payment_unit_panels(request, unit: Unit) -> list[Panel]:
    """The unit card's blocks: the running promotions with the price after each (a unit on
    sale), and the money of the unit's active deal for those who may see that deal."""
    panels = []
    offers = promotion_offers(unit)
    if offers:
        panels.append(
            Panel("sales/promotion_unit_panel.html", {"unit": unit, "offers": offers}, order=30)
        )
    user = request.user
    if has_capability(user, SALES_VIEW):
        deal = visible_deals(user).filter(unit=unit, is_active=True).first()
        if deal is not None:
            panels.append(
                Panel(
                    "sales/payment_unit_panel.html",
                    {"deal": deal, "state": deal_payment_state(deal)},
                    order=60,
                )
            )
    return panels


# Search.


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def phone_digits(field_name: str = "phone"):
    """A phone column with its usual separators removed, to match the digits people type."""
    expression = F(field_name)
    for ch in (" ", "-", "(", ")", "+", "."):
        expression = Replace(expression, Value(ch), Value(""))
    return expression


def text_q(field_name: str, text: str) -> Q:
    """``field icontains text`` in any usual case: SQLite folds the case of Latin letters
    only, so "смирнов" would miss "Смирнова" there without these variants."""
    variants = {text, text.lower(), text.upper(), text.capitalize(), text.title()}
    query = Q()
    for variant in sorted(variants):
        query |= Q(**{f"{field_name}__icontains": variant})
    return query


def _phone_q(text: str) -> Q | None:
    """Clients whose phone holds the typed digits (the last ten: +7 and 8 prefixes vary)."""
    digits = digits_of(text)
    if len(digits) < 4:
        return None
    return Q(phone_digits__contains=digits[-10:])


@dataclass
class UnitHit:
    """A row of the sales unit search: the unit, the deal that matched (if any) and the
    date the search was about (sale, status change or the deal's opening)."""

    unit: Unit
    deal: Deal | None
    at: datetime | date | None
    buyers: list = field(default_factory=list)


SEARCH_LIMIT = 200


def sale_dates():
    """Per deal, the first time it reached a stage at which the unit counts as sold."""
    return (
        DealEvent.objects.filter(to_stage__unit_status=UnitStatus.SOLD)
        .values("deal_id")
        .annotate(first=Min("at"))
        .order_by()
    )


def _day_bounds(start: date | None, end: date | None) -> dict:
    """Aware datetimes for a range of local days, the end day included."""
    bounds = {}
    if start:
        bounds["gte"] = timezone.make_aware(datetime.combine(start, time.min))
    if end:
        bounds["lt"] = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    return bounds


def unit_search(
    user,
    *,
    buyer: str = "",
    sold_from: date | None = None,
    sold_to: date | None = None,
    changed_from: date | None = None,
    changed_to: date | None = None,
    status: str = "",
) -> tuple[list[UnitHit], bool]:
    """Units found by buyer (surname or phone), by sale date or by status-change date; the
    filters combine. Deals are row-scoped: another manager's buyers and deals never show.
    Returns the hits (at most ``SEARCH_LIMIT``) and whether there were more."""
    from kvartal.clients.models import Client
    from kvartal.inventory.models import StatusChange

    buyer = buyer.strip()
    by_sale = bool(sold_from or sold_to)
    status_rows = None
    if changed_from or changed_to or status:
        bounds = _day_bounds(changed_from, changed_to)
        status_rows = StatusChange.objects.filter(**{f"at__{k}": v for k, v in bounds.items()})
        if status:
            status_rows = status_rows.filter(new_status=status)
    hits: list[UnitHit] = []
    if buyer or by_sale:
        deals = visible_deals(user)
        if buyer:
            match = text_q("last_name", buyer) | text_q("company_name", buyer)
            phone = _phone_q(buyer)
            if phone is not None:
                match |= phone
            clients = Client.objects.annotate(phone_digits=phone_digits()).filter(match)
            deals = deals.filter(
                pk__in=DealBuyer.objects.filter(client__in=clients).values("deal_id")
            )
        if by_sale:
            bounds = _day_bounds(sold_from, sold_to)
            firsts = sale_dates().filter(**{f"first__{k}": v for k, v in bounds.items()})
            deals = deals.filter(pk__in=firsts.values("deal_id"))
        if status_rows is not None:
            deals = deals.filter(unit_id__in=status_rows.values("unit_id"))
        deals = deals.annotate(
            sold_at=Subquery(sale_dates().filter(deal_id=OuterRef("pk")).values("first")[:1])
        )
        rows = list(
            deals.select_related("unit__building__project", "stage")
            .prefetch_related("buyers__client")
            .order_by("-created_at", "-pk")[: SEARCH_LIMIT + 1]
        )
        for deal in rows:
            when = deal.sold_at if by_sale else deal.sold_at or deal.created_at
            hits.append(UnitHit(deal.unit, deal, when, [b.client for b in deal.buyers.all()]))
    elif status_rows is not None:
        latest = list(
            status_rows.values("unit_id")
            .annotate(last=Max("at"))
            .order_by("-last")[: SEARCH_LIMIT + 1]
        )
        units = Unit.objects.with_place().in_bulk([r["unit_id"] for r in latest])
        deals = {
            d.unit_id: d
            for d in visible_deals(user)
            .filter(unit_id__in=list(units), is_active=True)
            .select_related("stage")
            .prefetch_related("buyers__client")
        }
        for row in latest:
            deal = deals.get(row["unit_id"])
            buyers = [b.client for b in deal.buyers.all()] if deal else []
            hits.append(UnitHit(units[row["unit_id"]], deal, row["last"], buyers))
    return hits[:SEARCH_LIMIT], len(hits) > SEARCH_LIMIT


@dataclass
class SearchResults:
    units: list = field(default_factory=list)
    clients: list = field(default_factory=list)
    deals: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.units or self.clients or self.deals)


GLOBAL_LIMIT = 10


def global_search(user, query: str, *, with_clients: bool = True) -> SearchResults:
    """The header's search box: units by number or code, clients by name, phone or e-mail
    (only the ones ``user`` may see), deals by number (row-scoped). Ten of each at most."""
    from kvartal.clients.models import Client

    query = query.strip()
    results = SearchResults()
    if not query:
        return results
    results.units = list(
        Unit.objects.with_place()
        .filter(Q(number__iexact=query) | Q(code=query))
        .order_by("building__project__name", "building__name", "pk")[:GLOBAL_LIMIT]
    )
    if with_clients:
        match = (
            text_q("last_name", query)
            | text_q("first_name", query)
            | text_q("company_name", query)
            | Q(email__icontains=query)
        )
        phone = _phone_q(query)
        if phone is not None:
            match |= phone
        results.clients = list(
            Client.objects.visible_to(user)
            .annotate(phone_digits=phone_digits())
            .filter(match)
            .order_by("last_name", "first_name", "pk")[:GLOBAL_LIMIT]
        )
    results.deals = list(
        visible_deals(user)
        .filter(number__icontains=query)
        .select_related("unit__building", "stage")
        .prefetch_related("buyers__client")
        .order_by("-created_at", "-pk")[:GLOBAL_LIMIT]
    )
    return results
