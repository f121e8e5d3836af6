"""The agency cabinet (agents) and the partner desk (the sales office): thin views over
``services``; every row through ``for_user``."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import AGENCIES_MANAGE, AGENCY_CABINET, require
from kvartal.core.errors import DomainError
from kvartal.core.ids import parse_id
from kvartal.core.pages import form_page, paginate, refuse
from kvartal.inventory.models import Project
from kvartal.sales.models import Deal, Hold

from . import commissions, selectors, services
from .forms import DecisionForm, DisputeForm, ExtendForm, FixationForm, HoldRequestForm
from .models import Dispute, DisputeState, Fixation, PartnerProject


def _open_projects():
    return Project.objects.filter(partner_terms__is_open=True).order_by("name")


def _cabinet_crumbs():
    return [(reverse("agencies:cabinet"), _("Agency cabinet"))]


@require(AGENCY_CABINET)
def cabinet(request):
    user = request.user
    now = timezone.now()
    fixations = Fixation.objects.for_user(user).select_related("project")
    context = {
        "nav": "cabinet",
        "fixations": fixations[:200],
        "holds": Hold.objects.for_user(user).select_related("unit", "client")[:100],
        "deals": Deal.objects.for_user(user).select_related("unit", "stage")[:100],
        "disputes": Dispute.objects.for_user(user).select_related("project")[:50],
        "agency_id": services.agency_of(user),
        "now": now,
        "form": FixationForm(projects=_open_projects()),
    }
    agency = context["agency_id"]
    context["commission"] = commissions.agency_summary(agency) if agency else None
    return render(request, "agencies/cabinet.html", context)


@require(AGENCY_CABINET)
def inventory(request):
    """The units on sale in the projects opened to partners, at the prices partners see."""
    terms = {t.project_id: t for t in PartnerProject.objects.filter(is_open=True)}
    units = selectors.partner_units_on_sale()
    project = request.GET.get("project")
    if (project_id := parse_id(project)) is not None:
        units = units.filter(building__project_id=project_id)
    page = paginate(request, units)
    for unit in page:
        unit.partner_price = terms[unit.building.project_id].partner_price(unit.price)
    return render(
        request,
        "agencies/inventory.html",
        {"nav": "cabinet", "page": page, "projects": _open_projects(), "project": project},
    )


@require(AGENCY_CABINET)
def fixation_create(request):
    form = FixationForm(request.POST or None, projects=_open_projects())
    if request.method == "POST" and form.is_valid():
        try:
            fixation = services.fixation_create(agent=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(
                request,
                _("The client is fixed until %(until)s.")
                % {"until": services._day(fixation.expires_at)},
            )
            return redirect("agencies:fixation-detail", pk=fixation.pk)
    return form_page(
        request,
        form,
        title=_("Fix a client"),
        crumbs=[*_cabinet_crumbs(), (None, _("Fix a client"))],
        nav="cabinet",
        submit=_("Fix"),
    )


@require(AGENCY_CABINET)
def fixation_detail(request, pk):
    fixation = get_object_or_404(
        Fixation.objects.for_user(request.user).select_related("project", "client"), pk=pk
    )
    form = HoldRequestForm(
        request.POST or None,
        units=selectors.partner_units(),
        offered=selectors.hold_offer(fixation),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.agent_hold_request(agent=request.user, fixation=fixation, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("The unit is held for your client."))
            return redirect("agencies:fixation-detail", pk=fixation.pk)
    status = (409 if getattr(form, "refused", False) else 400) if form.errors else 200
    return render(
        request,
        "agencies/fixation_detail.html",
        {
            "nav": "cabinet",
            "fixation": fixation,
            "form": form,
            "events": fixation.events.all(),
            "live": fixation.is_live(),
        },
        status=status,
    )


@require(AGENCY_CABINET)
def dispute_create(request):
    form = DisputeForm(request.POST or None, projects=_open_projects())
    if request.method == "POST" and form.is_valid():
        try:
            services.dispute_raise(agent=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("Your dispute is sent to the sales head."))
            return redirect("agencies:cabinet")
    return form_page(
        request,
        form,
        title=_("Raise a dispute"),
        crumbs=[*_cabinet_crumbs(), (None, _("Raise a dispute"))],
        nav="cabinet",
        submit=_("Send"),
    )


# --- the sales office -----------------------------------------------------------------------


@require(AGENCIES_MANAGE)
def desk(request):
    user = request.user
    fixations = (
        Fixation.objects.for_user(user)
        .select_related("agency", "project", "agent")
        .order_by("-created_at")
    )
    return render(
        request,
        "agencies/desk.html",
        {
            "nav": "partners",
            "page": paginate(request, fixations),
            "disputes": Dispute.objects.for_user(user)
            .filter(state=DisputeState.OPEN)
            .select_related("claimant", "project", "fixation__agency"),
            "now": timezone.now(),
        },
    )


@require(AGENCIES_MANAGE)
def dispute_decide(request, pk):
    dispute = get_object_or_404(
        Dispute.objects.for_user(request.user).select_related("claimant", "fixation"), pk=pk
    )
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.dispute_decide(dispute=dispute, by=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("The dispute is decided."))
            return redirect("agencies:desk")
    return form_page(
        request,
        form,
        title=_("Decide the dispute"),
        crumbs=[(reverse("agencies:desk"), _("Partners")), (None, _("Decide the dispute"))],
        nav="partners",
        submit=_("Decide"),
        subject=f"{dispute} — {dispute.evidence}",
    )


@require(AGENCIES_MANAGE)
def fixation_extend(request, pk):
    """A visit or a showing of a fixed client extends its window."""
    fixation = get_object_or_404(
        Fixation.objects.for_user(request.user).select_related("project", "agency"), pk=pk
    )
    form = ExtendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.fixation_extend(fixation=fixation, by=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("The window is extended."))
            return redirect("agencies:desk")
    return form_page(
        request,
        form,
        title=_("Extend the protection window"),
        crumbs=[(reverse("agencies:desk"), _("Partners")), (None, _("Extend"))],
        nav="partners",
        submit=_("Extend"),
        subject=f"{fixation} · {fixation.agency}",
    )
