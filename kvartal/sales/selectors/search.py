"""The searches: units by their sale and the global search box."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import (
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Replace
from django.utils import timezone

from kvartal.inventory.models import (
    Unit,
    UnitStatus,
)
from kvartal.inventory.search import number_or_code_q

from ..models import (
    Deal,
    DealBuyer,
    DealEvent,
)

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
        deals = Deal.objects.for_user(user)
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
            for d in Deal.objects.for_user(user)
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
        .filter(number_or_code_q(query))
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
            Client.objects.for_user(user)
            .annotate(phone_digits=phone_digits())
            .filter(match)
            .order_by("last_name", "first_name", "pk")[:GLOBAL_LIMIT]
        )
    results.deals = list(
        Deal.objects.for_user(user)
        .filter(number__icontains=query)
        .select_related("unit__building", "stage")
        .prefetch_related("buyers__client")
        .order_by("-created_at", "-pk")[:GLOBAL_LIMIT]
    )
    return results
