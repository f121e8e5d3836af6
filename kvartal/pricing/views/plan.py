"""The sales plan: a year of months for a project (building, unit type), edited as a grid."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.accounts.permissions import PRICING_CONFIGURE, PRICING_VIEW, has_capability, require
from kvartal.analytics.access import report_for
from kvartal.analytics.periods import local_today
from kvartal.core.errors import DomainError
from kvartal.inventory.models import Building, Project

from .. import services
from ..models import SalesPlan
from ..segments import UNIT_TYPE_CHOICES
from .common import crumbs, error_text


class PlanScopeForm(forms.Form):
    project = forms.ModelChoiceField(Project.objects.all(), label=gettext_lazy("Project"))
    building = forms.ModelChoiceField(
        Building.objects.select_related("project"),
        label=gettext_lazy("Building"),
        required=False,
    )
    unit_type = forms.ChoiceField(
        label=gettext_lazy("Unit type"),
        choices=[("", gettext_lazy("All types")), *UNIT_TYPE_CHOICES],
        required=False,
    )
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2000, max_value=2100)

    def clean(self):
        cleaned = super().clean()
        project, building = cleaned.get("project"), cleaned.get("building")
        if project and building and building.project_id != project.pk:
            self.add_error("building", gettext_lazy("This building is not in the chosen project."))
        return cleaned


def _number(raw: str, kind):
    raw = (raw or "").replace(" ", "").replace("\xa0", "").replace(",", ".")
    if not raw:
        return kind(0)
    try:
        value = Decimal(raw)
    except InvalidOperation as error:
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw}) from error
    if kind is int:
        if value != value.to_integral_value():
            raise ValidationError(_("Units are whole numbers: “%(value)s”.") % {"value": raw})
        return int(value)
    return value


@require(PRICING_VIEW)
def plan_edit(request):
    data = request.GET.copy()
    data.setdefault("year", str(local_today().year))
    scope = PlanScopeForm(data)
    months, errors = [], []
    chosen = "project" in request.GET and scope.is_valid()
    if chosen:
        s = scope.cleaned_data
        year = s["year"]
        existing = {
            p.month: p
            for p in SalesPlan.objects.filter(
                project=s["project"],
                building=s["building"],
                unit_type=s["unit_type"] or "",
                month__year=year,
            )
        }
        months = [date(year, m, 1) for m in range(1, 13)]
        if request.method == "POST":
            if not has_capability(request.user, PRICING_CONFIGURE):
                return redirect(request.get_full_path())
            entered = []
            for month in months:
                key = month.strftime("%m")
                try:
                    entered.append(
                        services.PlanMonth(
                            month=month,
                            units=_number(request.POST.get(f"units-{key}"), int),
                            area=_number(request.POST.get(f"area-{key}"), Decimal),
                            revenue=_number(request.POST.get(f"revenue-{key}"), Decimal),
                        )
                    )
                except ValidationError as error:
                    errors.append(f"{date_format(month, 'YEAR_MONTH_FORMAT')}: {error_text(error)}")
            if not errors:
                try:
                    services.plan_save(
                        project=s["project"],
                        building=s["building"],
                        unit_type=s["unit_type"] or "",
                        months=entered,
                        by=request.user,
                    )
                except (ValidationError, DomainError) as error:
                    errors.append(error_text(error))
                else:
                    messages.success(request, _("Plan saved."))
                    return redirect(request.get_full_path())
        rows = []
        for m in months:
            key, plan = m.strftime("%m"), existing.get(m)
            values = {
                name: (
                    request.POST.get(f"{name}-{key}", "")
                    if request.method == "POST"
                    else ("" if plan is None else str(getattr(plan, name)))
                )
                for name in ("units", "area", "revenue")
            }
            rows.append(
                {"key": key, "label": date_format(m, "YEAR_MONTH_FORMAT"), "plan": plan, **values}
            )
    else:
        rows = []
    # The link to the report only for those who may open it (a keeper sees the plan only).
    report_url = (
        reverse("analytics:report", args=["plan-fact"])
        if report_for(request.user, "plan-fact")
        else ""
    )
    return render(
        request,
        "pricing/plan.html",
        {
            "scope": scope,
            "rows": rows,
            "errors": errors,
            "may_edit": has_capability(request.user, PRICING_CONFIGURE),
            "report_url": report_url,
            "crumbs": crumbs((None, _("Sales plan"))),
            "nav": "prices",
        },
        status=400 if errors else 200,
    )
