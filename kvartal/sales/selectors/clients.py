"""Per-client sales figures: what each client bought, has in work and refused.

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

from ..models import (
    Deal,
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
    """Annotate a client queryset with their sales figures (one GROUP BY over their deals)."""
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
    """The sales figures of one client, with the time they are as of."""
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


def client_deals(client):
    """The client's deals (as buyer), newest first, with what a card row shows."""
    return (
        Deal.objects.filter(buyers__client=client)
        .select_related("unit__building", "stage", "manager")
        .order_by("-created_at", "-pk")
    )
