"""Reads of deals: the deal list and card, their history, the unit card providers."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from kvartal.accounts.permissions import SALES_VIEW, has_capability
from kvartal.accounts.scoping import row_scope
from kvartal.inventory.extensions import Panel
from kvartal.inventory.models import (
    UnitStatus,
)

from ..availability import unit_is_available
from ..models import (
    Deal,
)

# --- deals ----------------------------------------------------------------------------------
# (The deals helper's section: the deal list and card reads, and the unit card providers.)


def _deal_buyers_prefetch():
    from django.db.models import Prefetch

    from ..models import DealBuyer

    return Prefetch("buyers", queryset=DealBuyer.objects.select_related("client"))


def deal_list(user, filters: dict | None = None):
    """The deal list: deals ``user`` may see, filtered (scope ``mine``, state open / closed /
    all, stage, project, manager, number or buyer's last name), newest first. The query count
    is the same for any number of rows (buyers are prefetched in one query)."""
    from django.db.models import Exists, OuterRef, Q

    from ..models import DealBuyer

    filters = filters or {}
    deals = Deal.objects.for_user(user)
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
        Deal.objects.for_user(user)
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


@dataclass(frozen=True)
class TrackStep:
    """One stage on a deal's stage track: ``passed`` (the deal was there), ``current`` (it is
    there: for a closed deal its termination) or ``ahead``."""

    stage: object
    state: str


def stage_track(deal, stages, events) -> list[TrackStep]:
    """The deal's stage track from its stage history (``events``, ``deal_history``), no query.

    A stage is passed when the deal was at it: the first stage, and every stage a move left
    or reached. The flow's order does not say it: a deal terminated at its first stage passed
    none of the later ones. A termination shows only as a closed deal's end, after the stages
    it passed; the stages it never reached are left out.
    """
    reached = {s.pk for s in stages if s.is_initial}
    for event in events:
        reached.update(pk for pk in (event.from_stage_id, event.to_stage_id) if pk is not None)
    track = []
    for stage in stages:
        if stage.pk == deal.stage_id:
            state = "current"
        elif stage.is_termination:
            continue
        elif stage.pk in reached:
            state = "passed"
        elif not deal.is_active:
            continue
        else:
            state = "ahead"
        track.append(TrackStep(stage, state))
    # The end of a closed deal comes last whatever its order in the flow.
    return sorted(track, key=lambda step: step.state == "current" and not deal.is_active)


def deal_event_text(event, *, with_number: bool = True) -> str:
    """One line saying what a deal event did, in the reader's language; ``with_number``
    names the deal (the unit's history mixes deals, the deal's own history does not)."""
    from kvartal.core.templatetags.kvartal import money

    from ..models import DealEventKind

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
    from ..models import DealEvent

    scope = row_scope(user)
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
            "reason": e.reason if scope.sees_owner(e.deal.manager_id) else "",
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

    from ..models import Deal

    user = request.user
    if not has_capability(user, SALES_VIEW):
        return []
    scope = row_scope(user)
    deal = (
        Deal.objects.filter(deal_units__unit_id=unit.pk, deal_units__is_active=True)
        .select_related("stage", "manager")
        .first()
    )
    context = {"unit": unit, "deal": deal, "visible": False, "can_open": False, "hold": None}
    if deal is not None:
        context["visible"] = scope.sees_owner(deal.manager_id)
        if context["visible"]:
            context["buyers"] = [b.client for b in deal.buyers.select_related("client")]
    elif has_capability(user, SALES_DEAL):
        # A held unit's deal button is on the hold block (``unit_hold_panels``).
        context["can_open"] = unit_is_available(unit)
    if deal is None and not context["can_open"]:
        return []
    return [Panel(template="sales/deal_unit_panel.html", context=context, order=20)]
