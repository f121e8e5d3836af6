"""The clients pages: create and edit clients, their contacts, consent, export and erasure,
merges; leads; the reception desk; tasks. The client list and card live in the sales app
(they show deals).

Views are thin: a scoped lookup (another manager's row is a 404), a form, one service.
"""

import json
from contextlib import suppress

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    CLIENTS_EDIT,
    CLIENTS_ERASE,
    CLIENTS_EXPORT,
    CLIENTS_VIEW,
    require,
)
from kvartal.core.errors import DomainError

from . import services
from .forms import (
    ClientForm,
    ConsentForm,
    ContactForm,
    ContactPersonForm,
    EraseForm,
    InteractionForm,
    LeadAssignForm,
    LeadForm,
    LeadImportForm,
    LeadStatusForm,
    MergeForm,
    NeedForm,
    ReassignForm,
    TaskForm,
    VisitForm,
)
from .models import (
    CONVERTIBLE,
    Channel,
    Client,
    ClientKind,
    Consent,
    Lead,
    LeadStatus,
    Need,
    Task,
    Visit,
)
from .normalize import normalize_phone
from .selectors import day_bounds, my_tasks


def client_url(client) -> str:
    try:
        return reverse("sales:client-detail", args=[client.pk])
    except NoReverseMatch:
        return reverse("clients:client-update", args=[client.pk])


def _clients_root():
    try:
        return reverse("sales:client-list")
    except NoReverseMatch:
        return None


def _crumbs(*tail, client=None):
    crumbs = [(_clients_root(), _("Clients"))]
    if client is not None:
        crumbs.append((client_url(client), client.display_name))
    return [*crumbs, *tail]


def _apply(form, error) -> None:
    """Put a service's refusal on the form."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    elif isinstance(error, ValidationError):
        form.add_error(None, error.messages)
    else:
        field = getattr(error, "field", None)
        form.add_error(field if field in form.fields else None, str(error))


def _form_page(request, form, *, title, crumbs, submit=None, nav="clients", extra=None, **kw):
    context = {
        "form": form,
        "title": title,
        "crumbs": crumbs,
        "submit": submit or _("Save"),
        "cancel_url": next((url for url, _label in reversed(crumbs[:-1]) if url), None)
        or reverse("clients:lead-list"),
        "nav": nav,
        **(extra or {}),
    }
    template = kw.get("template", "clients/form_page.html")
    return render(request, template, context, status=400 if form.errors else 200)


def _data(request):
    """The POST data on a POST (even an empty one), else ``None`` (an unbound form)."""
    return request.POST if request.method == "POST" else None


def _sees(request, client) -> bool:
    """The user may see ``client`` (so its name and link may be shown)."""
    return client is not None and services.may_use(client, request.user)


def _safe_next(request, default: str) -> str:
    """A ``next`` on this site (never elsewhere: an open redirect), else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # a path on this site only ("foo" is no URL and no view name: it would be a 500)
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _visible_client(request, pk):
    return get_object_or_404(
        Client.objects.visible_to(request.user).select_related("manager"), pk=pk
    )


# --- clients ----------------------------------------------------------------------------


@require(CLIENTS_EDIT)
def client_create(request):
    kind = request.POST.get("kind") or request.GET.get("kind") or ClientKind.PERSON
    if kind not in ClientKind.values:
        kind = ClientKind.PERSON
    duplicate = None
    form = ClientForm(_data(request), user=request.user, kind=kind, duplicate=bool(request.POST))
    if request.method == "POST" and form.is_valid():
        try:
            client = services.client_create(
                by=request.user,
                allow_duplicate=form.cleaned_data.get("allow_duplicate", False),
                **form.service_fields(),
            )
        except services.DuplicateClient as error:
            duplicate = error.client
            form.add_error(error.field, str(error))
        except (ValidationError, DomainError) as error:
            _apply(form, error)
        else:
            messages.success(request, _("Client created."))
            return redirect(client_url(client))
    if not duplicate and "allow_duplicate" in form.fields and not form.data.get("allow_duplicate"):
        del form.fields["allow_duplicate"]
    title = _("New company") if kind == ClientKind.COMPANY else _("New client")
    return _form_page(
        request,
        form,
        title=title,
        crumbs=_crumbs((None, title)),
        template="clients/client_form.html",
        extra={
            "duplicate": duplicate,
            "duplicate_url": client_url(duplicate) if duplicate else "",
            "duplicate_visible": _sees(request, duplicate),
            "kind": kind,
        },
    )


@require(CLIENTS_EDIT)
def client_update(request, pk):
    client = _visible_client(request, pk)
    if client.erased_at:
        messages.error(request, _("This client's data was erased; it cannot be edited."))
        return redirect(client_url(client))
    duplicate = None
    form = ClientForm(
        _data(request), instance=client, user=request.user, duplicate=bool(request.POST)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(
                client=client,
                by=request.user,
                allow_duplicate=form.cleaned_data.get("allow_duplicate", False),
                **form.service_fields(),
            )
        except services.DuplicateClient as error:
            duplicate = error.client
            form.add_error(error.field, str(error))
        except (ValidationError, DomainError) as error:
            _apply(form, error)
        else:
            messages.success(request, _("Client saved."))
            return redirect(client_url(client))
    if not duplicate and "allow_duplicate" in form.fields and not form.data.get("allow_duplicate"):
        del form.fields["allow_duplicate"]
    client.refresh_from_db()
    return _form_page(
        request,
        form,
        title=_("Edit client"),
        crumbs=_crumbs((None, _("Editing")), client=client),
        template="clients/client_form.html",
        extra={
            "duplicate": duplicate,
            "duplicate_url": client_url(duplicate) if duplicate else "",
            "duplicate_visible": _sees(request, duplicate),
        },
    )


def _client_form(request, client, form, *, act, done: str, title: str):
    """A small form on a client (a contact, a contact person, a consent): on a valid POST
    call ``act(**cleaned_data)`` (a service), then back to the card; a refusal goes on the
    form."""
    if request.method == "POST" and form.is_valid():
        try:
            act(**form.cleaned_data)
        except (ValidationError, DomainError) as error:
            _apply(form, error)
        else:
            messages.success(request, done)
            return redirect(client_url(client))
    return _form_page(request, form, title=title, crumbs=_crumbs((None, title), client=client))


@require(CLIENTS_EDIT)
def contact_add(request, pk):
    client = _visible_client(request, pk)
    return _client_form(
        request,
        client,
        ContactForm(_data(request)),
        act=lambda **data: services.contact_add(client=client, by=request.user, **data),
        done=_("Contact added."),
        title=_("Add a phone or e-mail"),
    )


@require(CLIENTS_EDIT)
def person_add(request, pk):
    client = _visible_client(request, pk)
    if not client.is_company:
        raise Http404  # contact people belong to companies
    return _client_form(
        request,
        client,
        ContactPersonForm(_data(request)),
        act=lambda **data: services.contact_person_add(company=client, by=request.user, **data),
        done=_("Contact person added."),
        title=_("Add a contact person"),
    )


@require(CLIENTS_EDIT)
def consent_create(request, pk):
    client = _visible_client(request, pk)
    return _client_form(
        request,
        client,
        ConsentForm(_data(request)),
        act=lambda **data: services.consent_record(client=client, by=request.user, **data),
        done=_("Consent recorded."),
        title=_("Record consent to personal-data processing"),
    )


@require(CLIENTS_EDIT)
def consent_withdraw(request, pk):
    consent = get_object_or_404(
        Consent.objects.filter(client__in=Client.objects.visible_to(request.user)), pk=pk
    )
    if request.method == "POST":
        try:
            services.consent_withdraw(consent=consent, by=request.user)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Consent withdrawn."))
        return redirect(client_url(consent.client))
    title = _("Withdraw consent")
    return render(
        request,
        "clients/confirm.html",
        {
            "title": title,
            "crumbs": _crumbs((None, title), client=consent.client),
            "text": _("The client withdraws the consent of %(date)s (version %(version)s).")
            % {
                "date": timezone.localtime(consent.given_at).strftime("%d.%m.%Y"),
                "version": consent.text_version,
            },
            "submit": title,
            "cancel_url": client_url(consent.client),
            "nav": "clients",
        },
    )


@require(CLIENTS_EDIT)
def client_reassign(request, pk):
    client = _visible_client(request, pk)
    form = ReassignForm(_data(request), user=request.user, initial={"manager": client.manager_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.client_reassign(
                client=client, manager=form.cleaned_data["manager"], by=request.user
            )
        except DomainError as error:
            _apply(form, error)
        else:
            messages.success(
                request, _("Client handed to %(m)s.") % {"m": form.cleaned_data["manager"]}
            )
            if Client.objects.visible_to(request.user).filter(pk=client.pk).exists():
                return redirect(client_url(client))
            return redirect(_clients_root() or "clients:lead-list")
    title = _("Hand to another manager")
    return _form_page(request, form, title=title, crumbs=_crumbs((None, title), client=client))


@require(CLIENTS_EDIT)
def client_merge(request, pk):
    client = _visible_client(request, pk)
    candidates = (
        Client.objects.visible_to(request.user)
        .filter(kind=client.kind, erased_at__isnull=True)
        .exclude(pk=client.pk)
    )
    suggested = list(_likely_duplicates(client, candidates))
    form = MergeForm(
        _data(request),
        queryset=candidates,
        initial={"duplicate": suggested[0].pk if suggested else None},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.client_merge(
                source=form.cleaned_data["duplicate"], target=client, by=request.user
            )
        except DomainError as error:
            _apply(form, error)
        else:
            messages.success(request, _("Duplicate merged into this client."))
            return redirect(client_url(client))
    title = _("Merge a duplicate into this client")
    return _form_page(
        request,
        form,
        title=title,
        crumbs=_crumbs((None, title), client=client),
        submit=_("Merge"),
        template="clients/client_merge.html",
        extra={"suggested": suggested, "client": client},
    )


def _likely_duplicates(client, candidates):
    q = Q(pk__in=[])
    if client.phone_normalized:
        q |= Q(phone_normalized=client.phone_normalized)
        q |= Q(contacts__normalized=client.phone_normalized)
    if client.email_normalized:
        q |= Q(email_normalized=client.email_normalized)
        q |= Q(contacts__normalized=client.email_normalized)
    if client.is_company and client.inn:
        q |= Q(inn=client.inn)
    if not client.is_company and client.last_name and client.first_name:
        q |= Q(last_name__iexact=client.last_name, first_name__iexact=client.first_name)
    return candidates.filter(q).select_related("manager").distinct()[:10]


@require(CLIENTS_EXPORT)
def client_export(request, pk):
    client = _visible_client(request, pk)
    data = services.client_export(client=client, by=request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="client-{client.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


@require(CLIENTS_ERASE)
def client_erase(request, pk):
    client = _visible_client(request, pk)
    form = EraseForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.client_erase(client=client, by=request.user)
        except DomainError as error:
            _apply(form, error)
        else:
            messages.success(request, _("The client's personal data was erased."))
            return redirect(client_url(client))
    title = _("Erase personal data")
    return _form_page(
        request,
        form,
        title=title,
        crumbs=_crumbs((None, title), client=client),
        submit=_("Erase"),
        template="clients/client_erase.html",
        extra={"client": client},
    )


@require(CLIENTS_EDIT)
def need_update(request, pk):
    client = _visible_client(request, pk)
    need = Need.objects.filter(client=client).first()
    form = NeedForm(_data(request), instance=need or Need(client=client))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        projects = data.pop("projects")
        try:
            services.need_save(client=client, by=request.user, projects=projects, **data)
        except (ValidationError, DomainError) as error:
            _apply(form, error)
        else:
            messages.success(request, _("Needs saved."))
            return redirect(client_url(client))
    title = _("What the client is looking for")
    return _form_page(request, form, title=title, crumbs=_crumbs((None, title), client=client))


@require(CLIENTS_EDIT)
def interaction_create(request, pk):
    client = _visible_client(request, pk)
    form = InteractionForm(_data(request), initial={"kind": request.GET.get("kind", "call")})
    if request.method == "POST" and form.is_valid():
        try:
            services.interaction_add(client=client, by=request.user, **form.cleaned_data)
        except (ValidationError, DomainError) as error:
            _apply(form, error)
        else:
            messages.success(request, _("Added to the timeline."))
            return redirect(client_url(client))
    title = _("Call, meeting, message or note")
    return _form_page(request, form, title=title, crumbs=_crumbs((None, title), client=client))


# --- tasks ------------------------------------------------------------------------------


@require(CLIENTS_VIEW)
def task_list(request):
    """My tasks: overdue (highlighted), today, upcoming, done today."""
    now = timezone.now()
    return render(
        request,
        "clients/task_list.html",
        {
            **my_tasks(request.user, now),
            "now": now,
            "nav": "tasks",
            "crumbs": [(None, _("My tasks"))],
        },
    )


@require(CLIENTS_EDIT)
def task_create(request):
    clients = Client.objects.visible_to(request.user)
    client = lead = None
    if client_id := (request.POST.get("client") or request.GET.get("client")):
        client = get_object_or_404(clients, pk=client_id if str(client_id).isdigit() else 0)
    if lead_id := (request.POST.get("lead") or request.GET.get("lead")):
        lead = get_object_or_404(
            Lead.objects.visible_to(request.user), pk=lead_id if str(lead_id).isdigit() else 0
        )
    form = TaskForm(_data(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.task_create(by=request.user, client=client, lead=lead, **form.cleaned_data)
        except (ValidationError, DomainError) as error:
            _apply(form, error)
        else:
            messages.success(request, _("Task created."))
            if client is not None:
                return redirect(client_url(client))
            if lead is not None:
                return redirect("clients:lead-detail", pk=lead.pk)
            return redirect("clients:my-tasks")
    title = _("New task")
    crumbs = (
        _crumbs((None, title), client=client)
        if client
        else [(reverse("clients:my-tasks"), _("My tasks")), (None, title)]
    )
    return _form_page(
        request,
        form,
        title=title,
        crumbs=crumbs,
        nav="tasks",
        extra={
            "hidden": {"client": client.pk if client else "", "lead": lead.pk if lead else ""},
            "subject": client or lead,
        },
    )


@require(CLIENTS_EDIT)
def task_done(request, pk):
    task = get_object_or_404(Task.objects.visible_to(request.user), pk=pk)
    if request.method == "POST":
        try:
            services.task_complete(task=task, by=request.user)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Task done."))
        return redirect(_safe_next(request, reverse("clients:my-tasks")))
    title = _("Mark the task done")
    return render(
        request,
        "clients/confirm.html",
        {
            "title": title,
            "crumbs": [(reverse("clients:my-tasks"), _("My tasks")), (None, title)],
            "text": task.title,
            "submit": _("Done"),
            "cancel_url": reverse("clients:my-tasks"),
            "nav": "tasks",
        },
    )


# --- reception desk ---------------------------------------------------------------------


@require(CLIENTS_EDIT)
def reception(request):
    """Register a visit quickly: an existing client or a new one, who received them, what
    they asked about, which units they were shown. Today's visits below."""
    clients = Client.objects.visible_to(request.user).filter(erased_at__isnull=True)
    form = VisitForm(
        _data(request),
        user=request.user,
        clients=clients,
        initial={"client": request.GET.get("client")},
    )
    duplicate = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            visit = _register_visit(request, data)
        except services.DuplicateClient as error:
            duplicate = error.client
            form.add_error("phone", str(error))
        except (ValidationError, DomainError) as error:
            _apply(form, error)
        else:
            if _sees(request, visit.client):
                text = _("Visit of %(name)s registered.") % {"name": visit.client.display_name}
            else:
                manager = visit.client.manager
                text = _("Visit of a client of %(manager)s registered; their manager was told.") % {
                    "manager": manager.short_name if manager else "—"
                }
            messages.success(request, text)
            return redirect("clients:reception")
    start, end = day_bounds()
    today = (
        Visit.objects.filter(client__in=clients, at__gte=start, at__lt=end)
        .select_related("client", "received_by")
        .prefetch_related("units_shown")
    )
    return render(
        request,
        "clients/reception.html",
        {
            "form": form,
            "today": today,
            "duplicate": duplicate,
            "duplicate_visible": duplicate is not None and _sees(request, duplicate),
            "nav": "reception",
            "crumbs": [(None, _("Reception desk"))],
        },
        status=400 if form.errors else 200,
    )


def _register_visit(request, data):
    """The chosen client, else ANY client with this exact phone (a walk-in of another
    manager's client is theirs: the visit goes to that client and its manager is told;
    the page names it only as "a client of <manager>"), else a new client."""
    from django.db import transaction

    with transaction.atomic():
        client = data["client"]
        if client is None and data["phone"]:
            try:
                phone = normalize_phone(data["phone"])
            except ValidationError as error:
                raise ValidationError({"phone": error.messages}) from None
            client = services.find_duplicates(phone=phone).first()
        if client is None:
            client = services.client_create(
                by=request.user,
                manager=data["received_by"],
                last_name=data["last_name"],
                first_name=data["first_name"],
                phone=data["phone"],
            )
        return services.visit_register(
            by=request.user,
            client=client,
            received_by=data["received_by"],
            at=data["at"],
            asked_about=data["asked_about"],
            units=data["unit_objects"],
        )


# --- leads ------------------------------------------------------------------------------


@require(CLIENTS_VIEW)
def lead_list(request):
    leads = Lead.objects.visible_to(request.user).select_related(
        "channel", "manager", "client", "unit"
    )
    status = request.GET.get("status", "")
    if status in LeadStatus.values:
        leads = leads.filter(status=status)
    elif status == "open":
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
    page = Paginator(leads, 50).get_page(request.GET.get("page"))
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
            _apply(form, error)
        else:
            if lead.is_repeat:
                messages.info(request, _("A repeat request: attached to the known client."))
            messages.success(request, _("Lead registered."))
            if Lead.objects.visible_to(request.user).filter(pk=lead.pk).exists():
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
        Lead.objects.visible_to(request.user).select_related(
            "channel", "manager", "client", "unit", "source"
        ),
        pk=pk,
    )


def _hold_and_deal_urls(lead) -> dict:
    """Links to open a hold or a deal for the lead's client: on the lead's unit, else from
    the catalogue (choose a unit there), when the sales pages exist."""
    urls = {}
    if not lead.unit_id:
        with suppress(NoReverseMatch):
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
            with suppress(NoReverseMatch):
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
            _apply(form, error)
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
            _apply(form, error)
        else:
            messages.success(request, _("Lead handed over."))
            if Lead.objects.visible_to(request.user).filter(pk=lead.pk).exists():
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
