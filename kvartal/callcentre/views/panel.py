"""The operator's panel: the call in hand, the caller's whole context, one-click actions, the
callback queue. Every action is one service call; the caller's block is re-rendered after it
(an htmx swap), with the refusal's message when a rule refused it (HTTP 409 / 400)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kvartal.accounts.permissions import (
    CALLS_PANEL,
    CLIENTS_EDIT,
    SALES_HOLD,
    has_capability,
    require,
)
from kvartal.clients.models import Client, Lead
from kvartal.clients.selectors import search_clients
from kvartal.core.errors import DomainError
from kvartal.inventory.models import Unit
from kvartal.sales.views.clients import client_panels

from .. import scripts, selectors, services
from ..forms import AnswerForm, NoteForm, OutcomeForm, TaskForm, TransferForm, VisitBookForm
from ..models import Call


def _subject(request, kind: str, pk: int) -> tuple[Client | None, Lead | None]:
    """The caller a URL names (``client`` or ``lead``), through the user's row scope."""
    if kind == "client":
        client = get_object_or_404(
            Client.objects.for_user(request.user).select_related("manager"), pk=pk
        )
        return client, None
    if kind == "lead":
        lead = get_object_or_404(Lead.objects.for_user(request.user), pk=pk)
        if lead.client_id and Client.objects.for_user(request.user).filter(pk=lead.client_id):
            return lead.client, lead
        return None, lead
    raise Http404


def _calls(user):
    """The calls ``user`` may open: those of the callers in their row scope (an operator:
    every call), and a call with nobody linked (a withheld number) that rang for them."""
    return Call.objects.filter(
        Q(pk__in=Call.objects.for_user(user).values("pk"))
        | Q(operator=user, client__isnull=True, lead__isnull=True)
    ).select_related("client", "lead")


def _scoped_call(request, pk) -> Call:
    """The call ``pk`` through the user's scope; 404 outside it."""
    return get_object_or_404(_calls(request.user), pk=pk)


def _belongs(call: Call, client: Client | None, lead: Lead | None) -> bool:
    """Is ``call`` the call of the caller the URL names (or of nobody yet)?"""
    if call.client_id is None and call.lead_id is None:
        return True
    if client is not None and client.pk in (call.client_id, call.lead and call.lead.client_id):
        return True
    return lead is not None and call.lead_id == lead.pk


def _call(request, client: Client | None, lead: Lead | None) -> Call | None:
    """The call in hand (``call`` in the request), in the user's scope and the call of the
    caller the URL names; any other call is refused (404), nothing is done."""
    pk = request.POST.get("call") or request.GET.get("call")
    if not pk or not str(pk).isdigit():
        return None
    call = _scoped_call(request, pk)
    if not _belongs(call, client, lead):
        raise Http404
    return call


def _caller_url(client, lead) -> str:
    if client is not None:
        return reverse("callcentre:subject", args=["client", client.pk])
    if lead is not None:
        return reverse("callcentre:subject", args=["lead", lead.pk])
    return ""  # a withheld number: find the caller first


def _render_caller(request, *, client, lead, call, status=200, message="", error=""):
    context = selectors.caller_context(client=client, lead=lead, call=call)
    # Four small forms on one panel: each names its own ids (two have a "manager").
    task_form = TaskForm(user=request.user, auto_id="task_%s")
    task_form.fields["title"].widget.attrs["placeholder"] = task_form.fields["title"].label
    context.update(
        subject_url=_caller_url(client, lead),
        message=message,
        error=error,
        can_hold=bool(client or lead) and has_capability(request.user, SALES_HOLD),
        can_edit=bool(client or lead) and has_capability(request.user, CLIENTS_EDIT),
        script=scripts.walk(call) if call is not None else None,
        note_form=NoteForm(),
        task_form=task_form,
        visit_form=VisitBookForm(client=client, auto_id="visit_%s"),
        transfer_form=TransferForm(client=client, auto_id="transfer_%s"),
        outcome_form=OutcomeForm(auto_id="outcome_%s"),
        panels=client_panels(request, client) if client is not None else [],
    )
    template = "callcentre/_caller.html"
    if not request.htmx:
        template = "callcentre/caller_page.html"
        context.update(nav="calls", crumbs=[(reverse("callcentre:panel"), _("Call centre"))])
    return render(request, template, context, status=status)


@require(CALLS_PANEL)
def panel(request):
    call = selectors.current_call(request.user)
    context = {
        "call": call,
        "recent": selectors.recent_calls(request.user),
        "queue": list(services.callback_queue(request.user)[:20]),
        "extensions": list(request.user.extensions.filter(is_active=True)),
        "now": timezone.now(),
        "nav": "calls",
    }
    if call is not None:
        context["caller_url"] = reverse("callcentre:call", args=[call.pk])
    return render(request, "callcentre/panel.html", context)


def _render_elsewhere(request, call: Call):
    """A call that rang for ``request.user`` from a caller outside their row scope (another
    manager's client or lead): who looks after the caller and how to reach them, nothing of
    the caller's context."""
    owner = call.client.manager if call.client_id else call.lead.manager
    context = {
        "call": call,
        "owner": owner,
        "owner_extensions": list(owner.extensions.filter(is_active=True)) if owner else [],
    }
    template = "callcentre/_caller_elsewhere.html"
    if not request.htmx:
        template = "callcentre/caller_page.html"
        context.update(
            body="callcentre/_caller_elsewhere.html",
            nav="calls",
            crumbs=[(reverse("callcentre:panel"), _("Call centre"))],
        )
    return render(request, template, context)


@require(CALLS_PANEL)
def call_detail(request, pk: int):
    call = _calls(request.user).filter(pk=pk).first()
    if call is None:
        rung = get_object_or_404(
            Call.objects.select_related("client__manager", "lead__manager"),
            pk=pk,
            operator=request.user,
        )
        return _render_elsewhere(request, rung)
    return _render_caller(request, client=call.client, lead=call.lead, call=call)


@require(CALLS_PANEL)
def subject(request, kind: str, pk: int):
    client, lead = _subject(request, kind, pk)
    return _render_caller(request, client=client, lead=lead, call=_call(request, client, lead))


@require(CALLS_PANEL)
def find(request):
    """Find a caller by phone or name (a call from a number the PBX did not pass)."""
    q = request.GET.get("q", "").strip()
    found = []
    if len(q) >= 2:
        found = list(search_clients(Client.objects.for_user(request.user), q)[:20])
    return render(request, "callcentre/_found.html", {"found": found, "q": q})


def _act(request, kind: str, pk: int, action, *, capability: str, form_name: str = ""):
    """Run ``action(client, lead, call)`` in one transaction; re-render the caller with its
    message, or with the refusal (nothing changed)."""
    if not has_capability(request.user, capability):
        raise PermissionDenied
    client, lead = _subject(request, kind, pk)
    call = _call(request, client, lead)
    try:
        with transaction.atomic():
            message = action(client, lead, call)
    except ValidationError as error:
        return _render_caller(
            request,
            client=client,
            lead=lead,
            call=call,
            status=400,
            error=" ".join(error.messages),
        )
    except DomainError as error:
        return _render_caller(
            request, client=client, lead=lead, call=call, status=409, error=str(error)
        )
    if client is None and lead is not None:
        lead.refresh_from_db()
        if lead.client_id:  # converted by the action (a hold, a visit)
            client = lead.client
    if call is not None:
        call.refresh_from_db()
    return _render_caller(request, client=client, lead=lead, call=call, message=message)


def _form_error(form) -> ValidationError:
    return ValidationError([m for errors in form.errors.values() for m in errors])


@require_POST
@require(CALLS_PANEL)
def hold(request, kind: str, pk: int):
    def action(client, lead, call):
        unit_id = request.POST.get("unit", "")
        unit = Unit.objects.filter(pk=unit_id).first() if unit_id.isdigit() else None
        if unit is None:
            raise ValidationError(_("Choose a unit."))
        services.panel_oral_hold(unit=unit, by=request.user, client=client, lead=lead, call=call)
        return _("%(unit)s is held orally for one day.") % {"unit": unit}

    return _act(request, kind, pk, action, capability=SALES_HOLD)


@require_POST
@require(CALLS_PANEL)
def note(request, kind: str, pk: int):
    def action(client, lead, call):
        form = NoteForm(request.POST)
        if not form.is_valid():
            raise _form_error(form)
        services.panel_note(
            by=request.user, text=form.cleaned_data["text"], client=client, lead=lead, call=call
        )
        return _("Note saved.")

    return _act(request, kind, pk, action, capability=CLIENTS_EDIT)


@require_POST
@require(CALLS_PANEL)
def task(request, kind: str, pk: int):
    def action(client, lead, call):
        form = TaskForm(request.POST, user=request.user)
        if not form.is_valid():
            raise _form_error(form)
        services.panel_task(by=request.user, client=client, lead=lead, **form.cleaned_data)
        return _("Task created.")

    return _act(request, kind, pk, action, capability=CLIENTS_EDIT)


@require_POST
@require(CALLS_PANEL)
def visit(request, kind: str, pk: int):
    def action(client, lead, call):
        form = VisitBookForm(request.POST, client=client)
        if not form.is_valid():
            raise _form_error(form)
        services.panel_visit(
            by=request.user, client=client, lead=lead, call=call, **form.cleaned_data
        )
        return _("Visit booked.")

    return _act(request, kind, pk, action, capability=CLIENTS_EDIT)


@require_POST
@require(CALLS_PANEL)
def transfer(request, kind: str, pk: int):
    def action(client, lead, call):
        form = TransferForm(request.POST, client=client)
        if not form.is_valid():
            raise _form_error(form)
        services.panel_transfer(
            by=request.user, client=client, lead=lead, call=call, **form.cleaned_data
        )
        return _("Handed to %(manager)s.") % {"manager": form.cleaned_data["manager"].short_name}

    return _act(request, kind, pk, action, capability=CLIENTS_EDIT)


@require_POST
@require(CALLS_PANEL)
def outcome(request, pk: int):
    call = _scoped_call(request, pk)
    form = OutcomeForm(request.POST)
    error, status = "", 200
    if form.is_valid():
        try:
            services.call_set_outcome(call=call, by=request.user, **form.cleaned_data)
        except ValidationError as e:
            error, status = " ".join(e.messages), 400
    else:
        error, status = " ".join(_form_error(form).messages), 400
    call.refresh_from_db()
    return _render_caller(
        request,
        client=call.client,
        lead=call.lead,
        call=call,
        status=status,
        error=error,
        message="" if error else _("Outcome recorded."),
    )


@require_POST
@require(CALLS_PANEL)
def answer(request, pk: int):
    call = _scoped_call(request, pk)
    form = AnswerForm(request.POST)
    error, status = "", 200
    if form.is_valid():
        try:
            scripts.answer_save(call=call, by=request.user, **form.cleaned_data)
        except (ValidationError, DomainError) as e:
            error, status = " ".join(getattr(e, "messages", [str(e)])), 400
    else:
        error, status = " ".join(_form_error(form).messages), 400
    return _render_caller(
        request, client=call.client, lead=call.lead, call=call, status=status, error=error
    )


@require_POST
@require(CALLS_PANEL)
def callback_done(request, pk: int):
    call = _scoped_call(request, pk)
    try:
        services.call_callback_done(call=call, by=request.user)
    except DomainError as error:
        from django.contrib import messages

        messages.error(request, str(error))
    return redirect("callcentre:panel")
