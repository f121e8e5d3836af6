"""Reads of the call centre: the caller's whole context for the panel, the operator's calls."""

from django.utils import timezone

from kvartal.clients.models import (
    Client,
    ContactPerson,
    Lead,
    Need,
    NeedStatus,
)
from kvartal.clients.selectors import matching_units
from kvartal.sales.models import Hold, HoldState, Payment
from kvartal.sales.selectors.clients import client_deals

from .models import Call, CallState

MATCHES = 12
MATCHED_NEEDS = 3  # the newest current needs get their units listed (a query each)


def needs_of(client: Client | None) -> list[Need]:
    if client is None:
        return []
    return list(
        Need.objects.filter(client=client)
        .prefetch_related("projects")
        .order_by("status", "-created_at", "-pk")
    )


def matches_for(needs: list[Need], *, now=None) -> list:
    """Units on sale now matching the client's newest current needs (each need's cheapest
    first), without repeats; at most ``MATCHES``."""
    seen, out = set(), []
    current = [n for n in needs if n.status == NeedStatus.ACTIVE][:MATCHED_NEEDS]
    for need in current:
        for unit in matching_units(need, now=now, limit=MATCHES):
            if unit.pk not in seen:
                seen.add(unit.pk)
                out.append(unit)
    return out[:MATCHES]


def caller_context(*, client: Client | None, lead: Lead | None, call: Call | None) -> dict:
    """Everything the panel shows about a caller: who they are (tags, companies they act for,
    their manager), needs and matching units, leads, visits, holds, deals, payments, tasks, the
    last notes and calls. A constant number of queries."""
    now = timezone.now()
    needs = needs_of(client)
    context = {
        "client": client,
        "lead": lead,
        "call": call,
        "now": now,
        "needs": needs,
        "matches": matches_for(needs, now=now),
    }
    if client is None:
        context.update(
            leads=[lead] if lead else [],
            calls=list(Call.objects.filter(lead=lead).select_related("operator")[:10])
            if lead
            else [],
            tasks=list(lead.tasks.open().select_related("assignee")) if lead else [],
        )
        return context
    deals = list(client_deals(client))
    context.update(
        summary=summary_of(client),
        tags=list(client.tags.all()),
        acts_for=list(ContactPerson.objects.filter(person=client).select_related("company")),
        leads=list(client.leads.select_related("channel", "manager").order_by("-created_at")[:10]),
        visits=list(client.visits.select_related("received_by")[:5]),
        holds=list(
            Hold.objects.filter(client=client, state=HoldState.ACTIVE).select_related(
                "unit__building", "manager"
            )
        ),
        deals=deals,
        payments=list(
            Payment.objects.filter(deal__in=[d.pk for d in deals])
            .select_related("deal")
            .order_by("-received_on")[:10]
        ),
        tasks=list(client.tasks.open().select_related("assignee")),
        notes=list(client.interactions.select_related("by")[:8]),
        calls=list(
            Call.objects.filter(client=client)
            .select_related("operator")
            .order_by("-started_at")[:10]
        ),
    )
    return context


def summary_of(client: Client | None) -> dict | None:
    """The client's summary in the reader's language: the one the job saved, else computed
    now (built-in only, not saved: a page never waits for the model)."""
    from . import summary
    from .models import HistorySummary

    if client is None:
        return None
    row = HistorySummary.objects.filter(client=client).first() or summary.compute(client)
    return summary.as_text(row)


def current_call(user) -> Call | None:
    """The call the operator is on (or being rung for) now, if any."""
    return (
        Call.objects.filter(operator=user, state__in=[CallState.RINGING, CallState.ANSWERED])
        .select_related("client", "lead")
        .order_by("-started_at", "-pk")
        .first()
    )


def recent_calls(user, limit: int = 10):
    return (
        Call.objects.filter(operator=user)
        .select_related("client", "lead")
        .order_by("-started_at", "-pk")[:limit]
    )
