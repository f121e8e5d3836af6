"""Batches: the approval queue, one batch with its lines, approve / schedule / reject / roll
back."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import PRICING_APPROVE, PRICING_VIEW, require
from kvartal.core.errors import DomainError
from kvartal.inventory.models import Unit
from kvartal.inventory.services import SKIP_REASONS

from .. import services
from ..forms import ApproveForm, RejectForm
from ..models import Batch, BatchStatus
from .common import crumbs, error_text

LINES_SHOWN = 500


@require(PRICING_VIEW)
def index(request):
    batches = Batch.objects.select_related("created_by", "decided_by").annotate(n=Count("lines"))
    open_ = (BatchStatus.PENDING, BatchStatus.SCHEDULED)
    pending = list(batches.filter(status__in=open_))
    done = list(batches.exclude(status__in=open_)[:50])  # the latest decisions
    return render(
        request,
        "pricing/index.html",
        {
            "pending": pending,
            "done": done,
            "may_approve": services.may_approve(request.user),
            "crumbs": crumbs(),
            "nav": "prices",
        },
    )


def _skipped_units(skipped: dict) -> list[tuple[Unit, str]]:
    units = Unit.objects.filter(pk__in=[int(k) for k in skipped]).select_related("building")
    return [(u, str(SKIP_REASONS.get(skipped[str(u.pk)], skipped[str(u.pk)]))) for u in units]


@require(PRICING_VIEW)
def batch_detail(request, pk):
    batch = get_object_or_404(Batch.objects.select_related("created_by", "decided_by"), pk=pk)
    lines = batch.lines.select_related("unit__building", "unit__floor").order_by(
        "unit__building_id", "unit__section__number", "unit__floor__index", "unit__position"
    )
    totals = lines.aggregate(old=Sum("old_price"), new=Sum("new_price"), n=Count("id"))
    context = {
        "batch": batch,
        "lines": lines[:LINES_SHOWN],
        "totals": totals,
        "change": (totals["new"] or 0) - (totals["old"] or 0),
        "skipped": _skipped_units(batch.skipped),
        "rollback_skipped": _skipped_units(batch.rollback_skipped),
        "may_approve": services.may_approve(request.user),
        "approve_form": ApproveForm(),
        "reject_form": RejectForm(),
        "crumbs": crumbs((None, batch.title)),
        "nav": "prices",
    }
    return render(request, "pricing/batch_detail.html", context)


@require(PRICING_APPROVE)
def batch_decide(request, pk):
    """POST approve / reject / rollback: one service each; a refusal changes nothing."""
    batch = get_object_or_404(Batch, pk=pk)
    if request.method != "POST":
        return redirect("pricing:batch-detail", pk=pk)
    action = request.POST.get("action")
    try:
        if action == "approve":
            form = ApproveForm(request.POST)
            if not form.is_valid():
                raise ValidationError([e for errors in form.errors.values() for e in errors])
            services.batch_approve(
                batch=batch, by=request.user, effective_at=form.cleaned_data["effective_at"]
            )
            messages.success(request, _("Batch approved."))
        elif action == "reject":
            form = RejectForm(request.POST)
            form.is_valid()
            services.batch_reject(
                batch=batch, by=request.user, note=form.cleaned_data.get("note", "")
            )
            messages.success(request, _("Batch rejected."))
        elif action == "rollback":
            services.batch_rollback(batch=batch, by=request.user)
            messages.success(request, _("Batch rolled back."))
        else:
            messages.error(request, _("Unknown action."))
    except (ValidationError, DomainError) as exc:
        messages.error(request, error_text(exc))
    return redirect("pricing:batch-detail", pk=pk)
