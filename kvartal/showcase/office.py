"""The showcase in the back office: the marketer's settings (what each project shows and at
which price, mortgage programmes, instalment plans, experiments and their report), the
calculator on the unit card, and the visitor's footprint on the client card."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    CLIENTS_VIEW,
    INVENTORY_VIEW,
    SHOWCASE_MANAGE,
    has_capability,
    require,
)
from kvartal.inventory.extensions import Panel
from kvartal.inventory.models import Project, Unit

from . import experiments, views
from .forms import ExperimentForm, InstalmentPlanForm, MortgageProgrammeForm, ProjectShowcaseForm
from .models import (
    Compared,
    Experiment,
    Favourite,
    InstalmentPlan,
    MortgageProgramme,
    OnlineBooking,
    ProjectShowcase,
    SavedSearch,
    Viewed,
    Visitor,
    VisitorRequest,
)


@require(SHOWCASE_MANAGE)
def settings_home(request):
    projects = list(Project.objects.order_by("name"))
    showcases = {s.project_id: s for s in ProjectShowcase.objects.all()}
    for project in projects:
        project.showcase_row = showcases.get(project.pk)
    running = list(Experiment.objects.all()[:20])
    return render(
        request,
        "showcase/office/home.html",
        {
            "nav": "showcase",
            "projects": projects,
            "programmes": MortgageProgramme.objects.prefetch_related("projects"),
            "plans": InstalmentPlan.objects.prefetch_related("projects"),
            "experiments": [(e, experiments.report(e)) for e in running],
        },
    )


def _edit(request, form, *, title: str, back: str, multipart=False):
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
        messages.success(request, _("Saved."))
        return redirect(back)
    return render(
        request,
        "showcase/office/form.html",
        {
            "nav": "showcase",
            "form": form,
            "title": title,
            "cancel_url": back,
            "multipart": multipart,
        },
        status=400 if request.method == "POST" else 200,
    )


@require(SHOWCASE_MANAGE)
def project_edit(request, project_id: int):
    project = get_object_or_404(Project, pk=project_id)
    showcase = ProjectShowcase.objects.filter(project=project).first() or ProjectShowcase(
        project=project
    )
    form = ProjectShowcaseForm(request.POST or None, request.FILES or None, instance=showcase)
    return _edit(
        request,
        form,
        title=_("%(project)s on the showcase") % {"project": project},
        back=reverse("showcase-office:home"),
        multipart=True,
    )


@require(SHOWCASE_MANAGE)
def programme_edit(request, pk: int | None = None):
    instance = get_object_or_404(MortgageProgramme, pk=pk) if pk else None
    form = MortgageProgrammeForm(request.POST or None, instance=instance)
    return _edit(request, form, title=_("Mortgage programme"), back=reverse("showcase-office:home"))


@require(SHOWCASE_MANAGE)
def plan_edit(request, pk: int | None = None):
    instance = get_object_or_404(InstalmentPlan, pk=pk) if pk else None
    form = InstalmentPlanForm(request.POST or None, instance=instance)
    return _edit(request, form, title=_("Instalment plan"), back=reverse("showcase-office:home"))


class _ExperimentForm(ExperimentForm):
    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_active") and cleaned.get("kind"):
            clash = Experiment.objects.filter(kind=cleaned["kind"], is_active=True)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error(
                    "kind", _("An experiment of this kind is already running: stop it first.")
                )
        return cleaned


@require(SHOWCASE_MANAGE)
def experiment_edit(request, pk: int | None = None):
    instance = get_object_or_404(Experiment, pk=pk) if pk else None
    form = _ExperimentForm(request.POST or None, instance=instance)
    return _edit(request, form, title=_("Experiment"), back=reverse("showcase-office:home"))


# --- the manager's calculator -------------------------------------------------------------


def _unit(unit_id: int) -> Unit:
    return get_object_or_404(
        Unit.objects.select_related("building__project", "section", "floor"), pk=unit_id
    )


@require(INVENTORY_VIEW)
def unit_terms(request, unit_id: int):
    """The buyer's calculator for a manager in front of a client (any unit, not only
    published ones)."""
    unit = _unit(unit_id)
    context = views.unit_context(request, unit)
    context["nav"] = "catalogue"
    return render(
        request,
        "showcase/office/terms.html",
        context,
        status=400 if context["calc"].is_bound and not context["calc"].is_valid() else 200,
    )


@require(INVENTORY_VIEW)
def unit_offer(request, unit_id: int):
    """The offer PDF with the signed-in manager's contacts."""
    return views.offer_response(request, _unit(unit_id), contact=request.user)


def unit_panels(request, unit) -> list[Panel]:
    """The unit card's block: the ways to pay at the default terms, and the calculator."""
    if not has_capability(request.user, INVENTORY_VIEW) or not unit.price:
        return []
    return [Panel("showcase/office/unit_panel.html", {"unit": unit}, order=40)]


# --- the footprint on the client card -----------------------------------------------------


def client_panels(request, client) -> list[Panel]:
    """What the client looked at, saved and compared on the showcase before (and since)
    their requests: every visitor id whose request became this client's lead."""
    if not has_capability(request.user, CLIENTS_VIEW):
        return []
    visitors = list(
        Visitor.objects.filter(requests__lead__client=client)
        .distinct()
        .values_list("pk", flat=True)
    )
    if not visitors:
        return []
    related = ("unit__building__project",)
    viewed = list(
        Viewed.objects.filter(visitor__in=visitors).select_related(*related).order_by("-count")[:20]
    )
    context = {
        "viewed": viewed,
        "views_total": sum(v.count for v in viewed),
        "favourites": list(Favourite.objects.filter(visitor__in=visitors).select_related(*related)),
        "compared": list(Compared.objects.filter(visitor__in=visitors).select_related(*related)),
        "searches": list(SavedSearch.objects.filter(visitor__in=visitors)[:10]),
        "requests": list(
            VisitorRequest.objects.filter(visitor__in=visitors).select_related("lead")[:10]
        ),
        "bookings": list(
            OnlineBooking.objects.filter(visitor__in=visitors).select_related("hold__unit")[:10]
        ),
    }
    return [Panel("showcase/office/client_panel.html", context, order=45)]
