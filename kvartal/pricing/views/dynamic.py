"""Dynamic pricing pages: the rules (the sales head's data), the recommendations and the
backtest."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    PRICING_CONFIGURE,
    PRICING_PROPOSE,
    PRICING_VIEW,
    require,
)
from kvartal.analytics.periods import local_today
from kvartal.core.errors import DomainError
from kvartal.core.pages import form_page, refuse

from .. import services
from ..dynamic import backtest
from ..forms import RuleForm
from ..models import Recommendation, RecommendationStatus, Rule
from ..segments import UNIT_TYPE_LABELS
from .common import crumbs, error_text


@require(PRICING_VIEW)
def rule_list(request):
    return render(
        request,
        "pricing/rule_list.html",
        {
            "rules": Rule.objects.select_related("project"),
            "labels": UNIT_TYPE_LABELS,
            "crumbs": crumbs((None, _("Pricing rules"))),
            "nav": "prices",
        },
    )


@require(PRICING_CONFIGURE)
def rule_edit(request, pk=None):
    rule = get_object_or_404(Rule, pk=pk) if pk else Rule()
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_save(rule=form.instance, by=request.user)
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("pricing:rule-list")
    title = rule.name if pk else _("New rule")
    return form_page(
        request,
        form,
        title=title,
        crumbs=crumbs((reverse("pricing:rule-list"), _("Pricing rules")), (None, title)),
        nav="prices",
    )


@require(PRICING_VIEW)
def recommendation_list(request):
    if request.method == "POST":
        return _act(request)
    recos = Recommendation.objects.select_related("rule", "project", "batch").order_by(
        "-day", "project__name", "unit_type"
    )[:300]
    return render(
        request,
        "pricing/recommendation_list.html",
        {
            "recommendations": recos,
            "labels": UNIT_TYPE_LABELS,
            "open": RecommendationStatus.OPEN,
            "crumbs": crumbs((None, _("Recommendations"))),
            "nav": "prices",
        },
    )


@require(PRICING_PROPOSE)
def _act(request):
    action = request.POST.get("action")
    try:
        if action == "compute":
            n = services.recommendations_compute()
            messages.success(request, _("Recommendations computed: %(n)s.") % {"n": n})
        else:
            reco = get_object_or_404(Recommendation, pk=request.POST.get("id") or 0)
            if action == "propose":
                batch = services.recommendation_propose(recommendation=reco, by=request.user)
                messages.success(request, _("Sent for approval."))
                return redirect("pricing:batch-detail", pk=batch.pk)
            if action == "dismiss":
                services.recommendation_dismiss(recommendation=reco, by=request.user)
                messages.success(request, _("Recommendation dismissed."))
    except (ValidationError, DomainError) as error:
        messages.error(request, error_text(error))
    return redirect("pricing:recommendation-list")


@require(PRICING_VIEW)
def backtest_view(request):
    rules = list(Rule.objects.filter(active=True))
    chosen = next((r for r in rules if str(r.pk) == request.GET.get("rule")), None)
    chosen = chosen or (rules[0] if rules else None)
    try:
        months = max(1, min(int(request.GET.get("months", 12)), 36))
    except ValueError:
        months = 12
    rows = backtest(chosen, months=months, today=local_today()) if chosen else []
    return render(
        request,
        "pricing/backtest.html",
        {
            "rules": rules,
            "rule": chosen,
            "months": months,
            "rows": rows,
            "crumbs": crumbs((None, _("Backtest"))),
            "nav": "prices",
        },
    )
