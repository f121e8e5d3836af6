"""The lead pages: list, create, detail, status, assign, convert, the import."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    CLIENTS_EDIT,
    CLIENTS_VIEW,
    require,
)
from kvartal.core.errors import DomainError
from kvartal.core.pages import paginate, refuse

from .. import services
from ..forms import (
    LeadAssignForm,
    LeadForm,
    LeadImportForm,
    LeadStatusForm,
)
from ..models import (
    CONVERTIBLE,
    Channel,
    Lead,
    LeadStatus,
)
from .common import _data, _form_page, _sees, client_url

# --- leads ------------------------------------------------------------------------------


@require(CLIENTS_VIEW)
def lead_list(request):
    leads = Lead.objects.for_user(request.user).select_related(
        "channel", "manager", "client", "unit"
    )
    # The leads still to work on unless another status (or "all") is asked for: most leads
    # end converted or lost, and a manager opens the list to call the rest.
    status = request.GET.get("status") or "open"
    if status in LeadStatus.values:
        leads = leads.filter(status=status)
    elif status != "all":
        status = "open"
        leads = leads.exclude(status__in=[LeadStatus.CONVERTED, LeadStatus.LOST])
    channel = request.GET.get("channel", "")
    if channel:
        leads = leads.filter(channel__code=channel)
    if q := request.GET.get("q", "").strip():
        leads = leads.filter(
            Q(name__icontains=q)
            | Q(phone_normalized__contains="".join(c for c in q if c.isdigit()) or q)
            | Q(email_normalized__icontains=q.lower())
        )
    page = paginate(request, leads)
    return render(
        request,
        "clients/lead_list.html",
        {
            "page": page,
            "statuses": LeadStatus.choices,
            "status": status,
            "channels": Channel.objects.all(),
            "channel": channel,
            "q": q,
            "nav": "leads",
            "crumbs": [(None, _("Leads"))],
        },
    )


@require(CLIENTS_EDIT)
def lead_create(request):
    form = LeadForm(
        _data(request),
        user=request.user,
        initial={
            "unit": request.GET.get("unit"),
            "channel": Channel.objects.filter(code="call").first(),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(by=request.user, **form.cleaned_data)
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            if lead.is_repeat:
                messages.info(request, _("A repeat request: attached to the known client."))
            messages.success(request, _("Lead registered."))
            if Lead.objects.for_user(request.user).filter(pk=lead.pk).exists():
                return redirect("clients:lead-detail", pk=lead.pk)
            return redirect("clients:lead-list")
    title = _("New lead")
    return _form_page(
        request,
        form,
        title=title,
        crumbs=[(reverse("clients:lead-list"), _("Leads")), (None, title)],
        nav="leads",
    )


def _visible_lead(request, pk):
    return get_object_or_404(
        Lead.objects.for_user(request.user).select_related(
            "channel", "manager", "client", "unit", "source"
        ),
        pk=pk,
    )


def _hold_and_deal_urls(lead) -> dict:
    """Links to open a hold or a deal for the lead's client: on the lead's unit, else from
    the catalogue (choose a unit there)."""
    urls = {}
    if not lead.unit_id:
        urls["catalogue_url"] = reverse("inventory:unit-list") + f"?client={lead.client_id}"
    else:
        for key, name, kwargs, query in (
            ("hold_url", "sales:hold-create", {"pk": lead.unit_id}, f"?client={lead.client_id}"),
            (
                "deal_url",
                "sales:deal-create",
                None,
                f"?unit={lead.unit_id}&client={lead.client_id}",
            ),
        ):
            urls[key] = reverse(name, kwargs=kwargs) + query
    return urls


@require(CLIENTS_VIEW)
def lead_detail(request, pk):
    lead = _visible_lead(request, pk)
    client_visible = lead.client_id is not None and _sees(request, lead.client)
    context = {
        "lead": lead,
        "events": lead.events.select_related("actor"),
        "tasks": lead.tasks.select_related("assignee"),
        "convertible": lead.status in CONVERTIBLE,
        "client_visible": client_visible,
        "client_url": client_url(lead.client) if client_visible else "",
        "nav": "leads",
        "crumbs": [(reverse("clients:lead-list"), _("Leads")), (None, str(lead))],
    }
    if client_visible:
        context.update(_hold_and_deal_urls(lead))
    return render(request, "clients/lead_detail.html", context)


@require(CLIENTS_EDIT)
def lead_status(request, pk):
    lead = _visible_lead(request, pk)
    form = LeadStatusForm(_data(request), lead=lead, initial={"status": request.GET.get("status")})
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_set_status(lead=lead, by=request.user, **form.cleaned_data)
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("Lead status changed."))
            return redirect("clients:lead-detail", pk=lead.pk)
    title = _("Change the status")
    return _form_page(
        request,
        form,
        title=title,
        nav="leads",
        crumbs=_lead_crumbs(lead, title),
    )


def _lead_crumbs(lead, title) -> list:
    return [
        (reverse("clients:lead-list"), _("Leads")),
        (reverse("clients:lead-detail", args=[lead.pk]), str(lead)),
        (None, title),
    ]


@require(CLIENTS_EDIT)
def lead_assign(request, pk):
    lead = _visible_lead(request, pk)
    form = LeadAssignForm(_data(request), user=request.user, initial={"manager": lead.manager_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_assign(lead=lead, manager=form.cleaned_data["manager"], by=request.user)
        except DomainError as error:
            refuse(form, error)
        else:
            messages.success(request, _("Lead handed over."))
            if Lead.objects.for_user(request.user).filter(pk=lead.pk).exists():
                return redirect("clients:lead-detail", pk=lead.pk)
            return redirect("clients:lead-list")
    title = _("Hand to another manager")
    return _form_page(
        request,
        form,
        title=title,
        nav="leads",
        crumbs=_lead_crumbs(lead, title),
    )


@require(CLIENTS_EDIT)
def lead_convert(request, pk):
    lead = _visible_lead(request, pk)
    if request.method == "POST":
        try:
            client = services.lead_convert(lead=lead, by=request.user)
        except (ValidationError, DomainError) as error:
            message = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            messages.error(request, message)
        else:
            messages.success(
                request, _("Lead converted: client %(name)s.") % {"name": client.display_name}
            )
        return redirect("clients:lead-detail", pk=lead.pk)
    title = _("Convert the lead into a client")
    known = services.find_duplicates(phone=lead.phone_normalized, email=lead.email_normalized)
    existing = lead.client or known.first()
    submit = _("Convert")
    if existing is None:
        text = _("A new client will be created from the lead's name, phone and e-mail.")
    elif _sees(request, existing):
        text = _("The lead will be linked to the existing client %(name)s.") % {
            "name": existing.display_name
        }
    else:  # neither the name nor a link: the client is another manager's
        submit = None
        text = _(
            "This phone or e-mail belongs to a client of %(manager)s. Ask them or a sales "
            "head to hand the client to you, then convert the lead."
        ) % {"manager": existing.manager.short_name if existing.manager else "—"}
    return render(
        request,
        "clients/confirm.html",
        {
            "title": title,
            "text": text,
            "submit": submit,
            "nav": "leads",
            "cancel_url": reverse("clients:lead-detail", args=[lead.pk]),
            "crumbs": [
                (reverse("clients:lead-list"), _("Leads")),
                (reverse("clients:lead-detail", args=[lead.pk]), str(lead)),
                (None, title),
            ],
        },
    )


@require(CLIENTS_EDIT)
def lead_import(request):
    form = LeadImportForm(_data(request), request.FILES if request.method == "POST" else None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = services.leads_import_csv(
            text=form.cleaned_data["file"], by=request.user, channel=form.cleaned_data["channel"]
        )
        if not report.errors:
            messages.success(
                request,
                _("Imported: %(created)s new leads, %(attached)s repeat requests attached.")
                % {"created": report.created, "attached": report.attached},
            )
    title = _("Import leads from CSV")
    return render(
        request,
        "clients/lead_import.html",
        {
            "form": form,
            "report": report,
            "title": title,
            "nav": "leads",
            "crumbs": [(reverse("clients:lead-list"), _("Leads")), (None, title)],
        },
        status=400 if form.errors or (report and report.errors) else 200,
    )
