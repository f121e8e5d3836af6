"""The client pages: create and edit, contacts, consent, reassign, merge, export, erasure, needs,
interactions.
"""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kvartal.accounts.permissions import (
    CLIENTS_EDIT,
    CLIENTS_ERASE,
    CLIENTS_EXPORT,
    CLIENTS_VIEW,
    SALES_DEAL,
    SALES_HOLD,
    has_capability,
    require,
)
from kvartal.core.errors import DomainError
from kvartal.core.ids import parse_id
from kvartal.core.pages import refuse

from .. import services
from ..forms import (
    ClientForm,
    ConsentForm,
    ContactForm,
    ContactPersonForm,
    EraseForm,
    InteractionForm,
    MergeForm,
    NeedForm,
    ReassignForm,
)
from ..models import (
    Client,
    ClientKind,
    Consent,
    Need,
)
from ..picker import find_clients, search_pressed
from ..picker import label as picker_label
from ..selectors import pickable
from .common import (
    _clients_root,
    _crumbs,
    _data,
    _form_page,
    _sees,
    _visible_client,
    client_url,
)

# --- clients ----------------------------------------------------------------------------


def _client_page(request, form, *, save, done: str, title: str, client=None, **context):
    """The client form, new or edit: on a valid POST ``save(allow_duplicate=…, **fields)``
    (the service), then to the card. A live client with the same phone, e-mail or INN is
    named with a link (when the user may see it) and a box to save anyway; any other refusal
    goes on the form."""
    duplicate = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(
                allow_duplicate=form.cleaned_data.get("allow_duplicate", False),
                **form.service_fields(),
            )
        except services.DuplicateClient as error:
            duplicate = error.client
            form.add_error(error.field, str(error))
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            messages.success(request, done)
            return redirect(client_url(saved))
    if not duplicate and "allow_duplicate" in form.fields and not form.data.get("allow_duplicate"):
        del form.fields["allow_duplicate"]
    if client is not None:
        client.refresh_from_db()  # the card's name, not the refused input
    return _form_page(
        request,
        form,
        title=title,
        crumbs=_crumbs((None, title if client is None else _("Editing")), client=client),
        template="clients/client_form.html",
        duplicate=duplicate,
        duplicate_url=client_url(duplicate) if duplicate else "",
        duplicate_visible=_sees(request, duplicate),
        **context,
    )


@require(CLIENTS_EDIT)
def client_create(request):
    kind = request.POST.get("kind") or request.GET.get("kind") or ClientKind.PERSON
    if kind not in ClientKind.values:
        kind = ClientKind.PERSON
    form = ClientForm(_data(request), user=request.user, kind=kind, duplicate=bool(request.POST))
    return _client_page(
        request,
        form,
        save=lambda **fields: services.client_create(by=request.user, **fields),
        done=_("Client created."),
        title=_("New company") if kind == ClientKind.COMPANY else _("New client"),
        kind=kind,
    )


@require(CLIENTS_EDIT)
def client_update(request, pk):
    client = _visible_client(request, pk)
    if client.erased_at:
        messages.error(request, _("This client's data was erased; it cannot be edited."))
        return redirect(client_url(client))
    form = ClientForm(
        _data(request), instance=client, user=request.user, duplicate=bool(request.POST)
    )
    return _client_page(
        request,
        form,
        save=lambda **fields: services.client_update(client=client, by=request.user, **fields),
        done=_("Client saved."),
        title=_("Edit client"),
        client=client,
    )


def _client_form(request, client, form, *, act, done: str, title: str):
    """A small form on a client (a contact, a contact person, a consent): on a valid POST
    call ``act(**cleaned_data)`` (a service), then back to the card; a refusal goes on the
    form."""
    if request.method == "POST" and form.is_valid():
        try:
            act(**form.cleaned_data)
        except (ValidationError, DomainError) as error:
            refuse(form, error)
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
        Consent.objects.filter(client__in=Client.objects.for_user(request.user)), pk=pk
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
                "date": formats.date_format(timezone.localtime(consent.given_at), _("d.m.Y")),
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
            refuse(form, error)
        else:
            messages.success(
                request, _("Client handed to %(m)s.") % {"m": form.cleaned_data["manager"]}
            )
            if Client.objects.for_user(request.user).filter(pk=client.pk).exists():
                return redirect(client_url(client))
            return redirect(_clients_root())
    title = _("Hand to another manager")
    return _form_page(request, form, title=title, crumbs=_crumbs((None, title), client=client))


@require(CLIENTS_EDIT)
def client_merge(request, pk):
    client = _visible_client(request, pk)
    candidates = (
        Client.objects.for_user(request.user)
        .filter(kind=client.kind, erased_at__isnull=True)
        .exclude(pk=client.pk)
    )
    suggested = list(_likely_duplicates(client, candidates))
    form = MergeForm(
        _data(request),
        queryset=candidates,
        initial={"duplicate": suggested[0].pk if suggested else None},
    )
    if request.method == "POST" and not search_pressed(form) and form.is_valid():
        try:
            services.client_merge(
                source=form.cleaned_data["duplicate"], target=client, by=request.user
            )
        except DomainError as error:
            refuse(form, error)
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
        suggested=suggested,
        client=client,
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
            refuse(form, error)
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
        client=client,
    )


@require(CLIENTS_EDIT)
def need_update(request, pk):
    """One of the client's needs (``?need=<id>``), the newest current one, or a new one
    (``?new=1``)."""
    client = _visible_client(request, pk)
    new = request.GET.get("new") == "1"
    need = None
    need_id = parse_id(request.GET.get("need"))
    if need_id is not None:
        need = get_object_or_404(Need.objects.for_user(request.user), pk=need_id, client=client)
    elif not new:
        need = (
            Need.objects.for_user(request.user)
            .filter(client=client, status="active")
            .order_by("-created_at")
            .first()
        )
    form = NeedForm(_data(request), instance=need or Need(client=client))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        projects = data.pop("projects")
        try:
            services.need_save(
                client=client,
                by=request.user,
                need=need,
                new=need is None,
                projects=projects,
                **data,
            )
        except (ValidationError, DomainError) as error:
            refuse(form, error)
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
            refuse(form, error)
        else:
            messages.success(request, _("Added to the timeline."))
            return redirect(client_url(client))
    title = _("Call, meeting, message or note")
    return _form_page(request, form, title=title, crumbs=_crumbs((None, title), client=client))


@require(CLIENTS_VIEW)
def client_pick(request):
    """The client picker's search: clients the user may pick (``selectors.pickable``) by name
    or phone, ``LIMIT`` at most, as JSON — one query whatever the number of clients."""
    if not any(has_capability(request.user, c) for c in (CLIENTS_VIEW, SALES_HOLD, SALES_DEAL)):
        raise PermissionDenied
    query = (request.GET.get("q") or "").strip()[:100]
    found, more = find_clients(pickable(request.user), query)
    if not query:
        status = _("Type a name or a phone and press Find.")
    elif not found:
        status = _("No client found: check the spelling or type a new client below.")
    else:
        status = ngettext(
            "%(counter)s client found: choose in the list.",
            "%(counter)s clients found: choose in the list.",
            len(found),
        ) % {"counter": len(found)}
        if more:
            status += " " + _("Type more to narrow the search.")
    return JsonResponse(
        {
            "results": [{"id": c.pk, "label": picker_label(c)} for c in found],
            "more": more,
            "status": status,
        }
    )
