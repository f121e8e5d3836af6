"""A sales manager's start page: what to do today (issue 12 §6)."""

from datetime import datetime, time, timedelta

from django.shortcuts import render
from django.utils import timezone

from kvartal.accounts.permissions import SALES_DEAL, require
from kvartal.clients.models import Lead, LeadStatus, Task
from kvartal.sales.models import Deal, Hold

SHOWN = 15
STALE_DAYS = 7  # a deal that has not moved for a week waits for its next step


@require(SALES_DEAL)
def my_day(request):
    """Leads to call, today's and overdue tasks, holds ending, deals waiting for a step — each
    scoped by ``for_user`` (a manager's own rows, a head's team's)."""
    user = request.user
    now = timezone.now()
    end_of_day = timezone.make_aware(
        datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min)
    )
    leads = (
        Lead.objects.for_user(user)
        .filter(status__in=[LeadStatus.NEW, LeadStatus.IN_WORK])
        .select_related("channel", "manager")
        .order_by("created_at", "pk")
    )
    tasks = (
        Task.objects.for_user(user)
        .filter(done_at=None, due_at__lt=end_of_day)
        .select_related("client", "lead")
        .order_by("due_at", "pk")
    )
    holds = (
        Hold.objects.for_user(user)
        .ending(now)
        .select_related("unit__floor__section__building", "client")
        .order_by("expires_at", "pk")
    )
    deals = (
        Deal.objects.for_user(user)
        .waiting_for_a_step(now, stale_days=STALE_DAYS)
        .select_related("stage", "unit")
        .order_by("moved_at", "pk")
    )
    context = {
        "leads": leads[:SHOWN],
        "leads_count": leads.count(),
        "tasks": tasks[:SHOWN],
        "tasks_count": tasks.count(),
        "holds": holds[:SHOWN],
        "holds_count": holds.count(),
        "deals": deals[:SHOWN],
        "deals_count": deals.count(),
        "now": now,
        "stale_days": STALE_DAYS,
        "nav": "my-day",
    }
    return render(request, "sales/my_day.html", context)
