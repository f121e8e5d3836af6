"""The client list (with per-client sales figures) and the client card (contacts, needs and
matching units, consent, and one timeline of visits, interactions, tasks, holds, deals and
payments). They live in sales because they show deals; the writes are clients' pages."""

from datetime import datetime, time

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import CLIENTS_PERSONAL, CLIENTS_VIEW, has_capability, require
from kvartal.clients import extensions
from kvartal.clients.forms import ClientFilterForm
from kvartal.clients.models import Client, ClientEventKind, Need, NeedChange
from kvartal.clients.normalize import format_phone
from kvartal.clients.selectors import matching_units, search_clients
from kvartal.core.pages import paginate

from ..models import Deal, Hold, Payment, with_shown_states
from ..selectors.clients import (
    FIGURES,
    client_deals,
    exact_average,
    figures_of,
    ordered,
    with_figures,
)

SORTABLE = ("name", *FIGURES, "created")


def _sort_links(request, current: str) -> dict:
    """For each sortable column: the next sort value, the arrow and aria-sort."""
    links = {}
    key, desc = current.lstrip("-"), current.startswith("-")
    for name in SORTABLE:
        active = name == key
        # Figures sort largest first on the first click; names A→Z.
        first = name if name == "name" else f"-{name}"
        nxt = (name if desc else f"-{name}") if active else first
        links[name] = {
            "next": nxt,
            "arrow": ("↓" if desc else "↑") if active else "",
            "aria": ("descending" if desc else "ascending") if active else "none",
        }
    return links


@require(CLIENTS_VIEW)
def client_list(request):
    """Clients and companies with bought / in work / refused / average check, sortable and
    filterable by them (who bought the most, the largest average check, the fewest …)."""
    form = ClientFilterForm(request.GET or None, user=request.user)
    clients = Client.objects.for_user(request.user).select_related("manager")
    if form.is_valid():
        data = form.cleaned_data
        clients = search_clients(clients, data["q"])
        if data["kind"]:
            clients = clients.filter(kind=data["kind"])
        if data["manager"]:
            clients = clients.filter(manager=data["manager"])
        if data["tag"]:
            clients = clients.filter(tags=data["tag"])
    clients = with_figures(clients)
    if form.is_valid():
        data = form.cleaned_data
        if data["bought_min"] is not None:
            clients = clients.filter(bought_count__gte=data["bought_min"])
        if data["bought_max"] is not None:
            clients = clients.filter(bought_count__lte=data["bought_max"])
        if data["avg_min"] is not None:
            clients = clients.filter(avg_check__gte=data["avg_min"])
        if data["avg_max"] is not None:
            clients = clients.filter(avg_check__lte=data["avg_max"])
        if data["in_work"]:
            clients = clients.filter(in_work_count__gt=0)
        if data["refused"]:
            clients = clients.filter(refused_count__gt=0)
    clients, sort = ordered(clients, request.GET.get("sort", "name"))
    page = paginate(request, clients.prefetch_related("tags"))
    for row in page.object_list:
        row.avg_check = exact_average(row.bought_sum, row.bought_count)
    filtered = any(
        v not in (None, "", False)
        for k, v in (form.cleaned_data.items() if form.is_valid() else [])
        if k != "sort"
    )
    return render(
        request,
        "sales/client_list.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "sorts": _sort_links(request, sort),
            "as_of": timezone.now(),
            "filtered": filtered,
            "nav": "clients",
            "crumbs": [(None, _("Clients"))],
        },
    )


@require(CLIENTS_VIEW)
def client_detail(request, pk):
    merged = Client.objects.filter(pk=pk, merged_into__isnull=False).first()
    if merged is not None:
        # A merged-away duplicate opens its kept client (when that one is visible).
        target = get_object_or_404(Client.objects.for_user(request.user), pk=merged.merged_into_id)
        messages.info(request, _("This record was merged into another client."))
        return redirect("sales:client-detail", pk=target.pk)
    client = get_object_or_404(
        Client.objects.for_user(request.user).select_related("manager"), pk=pk
    )
    needs = list(
        Need.objects.filter(client=client)
        .prefetch_related("projects")
        .order_by("status", "-created_at", "-pk")
    )
    need = needs[0] if needs else None  # the newest current one (statuses sort "active" first)
    need_changes = list(
        NeedChange.objects.filter(need__client=client).select_related("actor", "need")[:30]
    )
    now = timezone.now()
    deals = list(client_deals(client))
    # A deal's number links to its page for the ones the reader may open (another manager's
    # deal of a shared client is listed, not opened).
    readable = (
        set(
            Deal.objects.for_user(request.user)
            .filter(pk__in=[d.pk for d in deals])
            .values_list("pk", flat=True)
        )
        if deals
        else set()
    )
    holds = list(Hold.objects.filter(client=client).select_related("unit__building", "manager"))
    payments = list(Payment.objects.filter(deal__in=[d.pk for d in deals]).select_related("deal"))
    open_tasks = list(client.tasks.open().select_related("assignee"))
    return render(
        request,
        "sales/client_detail.html",
        {
            "client": client,
            "phone_display": format_phone(client.phone_normalized) or client.phone,
            "figures": figures_of(client),
            "contacts": client.contacts.all(),
            "people": client.people.all(),
            "acts_for": client.acts_for.select_related("company"),
            "consents": client.consents.select_related("recorded_by"),
            "need": need,
            "needs": needs,
            "need_changes": need_changes,
            "matches": list(matching_units(need, now=now)) if need else [],
            "deals": deals,
            "readable_deals": readable,
            "open_tasks": open_tasks,
            "timeline": _timeline(client, deals=deals, holds=holds, payments=payments),
            "panels": client_panels(request, client),
            "show_passport": has_capability(request.user, CLIENTS_PERSONAL),
            "now": now,
            "nav": "clients",
            "crumbs": [(reverse("sales:client-list"), _("Clients")), (None, client.display_name)],
        },
    )


def client_panels(request, client) -> list[str]:
    """The blocks higher apps add to the client card (``clients.extensions.client_panels``),
    rendered in their order."""
    panels = sorted(
        (panel for provider in extensions.client_panels for panel in provider(request, client)),
        key=lambda panel: panel.order,
    )
    return [render_to_string(p.template, p.context, request=request) for p in panels]


def _timeline(client, *, deals, holds, payments) -> list[dict]:
    """Visits, interactions, tasks, holds, deals, payments and history, newest first."""
    rows = []
    for v in client.visits.select_related("received_by").prefetch_related("units_shown"):
        rows.append(
            {
                "at": v.at,
                "css": "ev-visit",
                "kind": _("Visit"),
                "who": v.received_by,
                "text": v.asked_about,
                "units": list(v.units_shown.all()),
            }
        )
    for i in client.interactions.select_related("by"):
        rows.append(
            {
                "at": i.at,
                "css": f"ev-{i.kind}",
                "kind": i.get_kind_display(),
                "who": i.by,
                "text": i.text,
            }
        )
    for t in client.tasks.select_related("assignee"):
        rows.append(
            {
                "at": t.created_at,
                "css": "ev-task",
                "kind": _("Task"),
                "who": t.assignee,
                "text": t.title,
                "due": t.due_at,
                "all_day": t.all_day,
                "done": t.done_at,
                "overdue": t.is_overdue(),
            }
        )
    for h in with_shown_states(holds):
        rows.append(
            {
                "at": h.starts_at,
                "css": "ev-hold",
                "kind": h.get_kind_display(),
                "who": h.manager,
                "text": f"{h.unit} · {h.shown}",
                "until": None if h.shown.ended else h.expires_at,
                "url": reverse("inventory:unit-detail", args=[h.unit_id]),
            }
        )
    for d in deals:
        rows.append(
            {
                "at": d.created_at,
                "css": "ev-deal",
                "kind": str(d),
                "who": d.manager,
                "text": f"{d.unit} · {d.stage}",
                "amount": d.price,
                "url": _deal_url(d),
            }
        )
    for p in payments:
        at = timezone.make_aware(datetime.combine(p.received_on, time(12)))
        rows.append(
            {
                "at": at,
                "css": "ev-payment",
                "kind": _("Payment"),
                "who": None,
                "text": str(p.deal),
                "amount": p.amount,
                "date_only": True,
            }
        )
    for e in client.events.select_related("actor").exclude(kind=ClientEventKind.UPDATED):
        text = ""
        if e.kind == ClientEventKind.REASSIGNED:
            text = f"{e.data.get('old_name') or '—'} → {e.data.get('new_name')}"
        rows.append(
            {
                "at": e.at,
                "css": "ev-data",
                "kind": e.get_kind_display(),
                "who": e.actor,
                "text": text,
            }
        )
    rows.sort(key=lambda r: r["at"], reverse=True)
    return rows


def _deal_url(deal) -> str:
    try:
        return reverse("sales:deal-detail", args=[deal.pk])
    except Exception:  # noqa: BLE001 - the deal pages may not be installed
        return ""
