"""Holds and the queue: hold a unit, extend, cancel, queue a client, the holds list, notices.

Each view gets its rows through a scoped queryset (another manager's hold by URL is a 404),
validates a form, calls one service and redirects; a refused action re-renders the form
with the reason (status 409) and changes nothing.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kvartal.accounts.models import Notice
from kvartal.accounts.permissions import SALES_HOLD, SALES_VIEW, require
from kvartal.accounts.services import notices_mark_read
from kvartal.clients.picker import search_pressed
from kvartal.core.errors import DomainError
from kvartal.core.ids import parse_id
from kvartal.core.pages import form_page, paginate, refuse
from kvartal.inventory.models import Unit

from .. import selectors
from ..availability import unit_blocker
from ..forms.holds import CancelForm, ExtendForm, HoldForm, HoldListFilter, QueueForm
from ..models import Hold, QueueEntry, with_shown_states
from ..services import holds as services


def _next(request, default: str) -> str:
    """Where to go after the action: a safe ``next`` (the chessboard the card was opened
    over), else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _unit_crumbs(unit: Unit, *tail):
    building = unit.building
    return [
        (reverse("inventory:project-detail", args=[building.project_id]), building.project),
        (reverse("inventory:building-chessboard", args=[building.pk]), building.name),
        (reverse("inventory:unit-detail", args=[unit.pk]), str(unit)),
        *tail,
    ]


def preset_client(request, form) -> None:
    """``?client=<id>`` (from a client's page): that client chosen up front, when the user may
    pick them (the form's queryset: clients the user sees, in use); otherwise ignored."""
    pk = parse_id(request.GET.get("client"))
    if (
        request.method == "GET"
        and pk is not None
        and form.fields["client"].queryset.filter(pk=pk).exists()
    ):
        form.fields["client"].initial = pk


def _page(request, template: str, context: dict, form) -> object:
    return form_page(request, form, nav="holds", template=template, **context)


# --- holding --------------------------------------------------------------------------------


@require(SALES_HOLD)
def hold_create(request, pk: int):
    """A sent form goes straight to the service, which reads the unit once, under its lock
    (a unit that does not exist: 404); the unit is read for the page only to show it."""
    form = HoldForm(request.POST or None, user=request.user)
    preset_client(request, form)
    done = _next(request, reverse("inventory:unit-detail", args=[pk]))
    if request.method == "POST" and not search_pressed(form) and form.is_valid():
        try:
            hold = services.hold_create(unit=Unit(pk=pk), by=request.user, **form.hold_kwargs())
        except Unit.DoesNotExist:
            raise Http404 from None
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            until = timezone.localtime(hold.expires_at)
            messages.success(
                request,
                _("%(unit)s is held for %(client)s until %(until)s.")
                % {"unit": hold.unit, "client": hold.client, "until": f"{until:%d.%m.%Y %H:%M}"},
            )
            return redirect(done)
    unit = get_object_or_404(Unit.objects.with_place(), pk=pk)
    context = {
        "unit": unit,
        "blocker": unit_blocker(unit),
        "limits": services.limits_for(request.user),
        "next": done,
        "title": _("Hold %(unit)s") % {"unit": unit},
        "crumbs": _unit_crumbs(unit, (None, _("Hold"))),
    }
    return _page(request, "sales/hold_form.html", context, form)


@require(SALES_HOLD)
def hold_extend(request, pk: int):
    hold = get_object_or_404(
        Hold.objects.for_user(request.user).select_related(
            "unit__building__project", "client", "manager"
        ),
        pk=pk,
    )
    unit = hold.unit
    form = ExtendForm(request.POST or None, hold=hold)
    done = _next(request, reverse("inventory:unit-detail", args=[unit.pk]))
    if request.method == "POST" and form.is_valid():
        try:
            hold = services.hold_extend(hold=hold, by=request.user, **form.extend_kwargs())
        except DomainError as error:
            refuse(form, error)
        else:
            until = timezone.localtime(hold.expires_at)
            messages.success(
                request,
                _("The hold of %(unit)s now ends %(until)s.")
                % {"unit": unit, "until": f"{until:%d.%m.%Y %H:%M}"},
            )
            return redirect(done)
    context = {
        "unit": unit,
        "hold": hold,
        "refusal": services.extend_refusal(hold, request.user),  # said before the form
        "limits": services.limits_for(request.user),
        "next": done,
        "title": _("Extend the hold of %(unit)s") % {"unit": unit},
        "crumbs": _unit_crumbs(unit, (None, _("Extend the hold"))),
    }
    return _page(request, "sales/hold_extend.html", context, form)


@require(SALES_HOLD)
def hold_cancel(request, pk: int):
    hold = get_object_or_404(
        Hold.objects.for_user(request.user).select_related(
            "unit__building__project", "client", "manager"
        ),
        pk=pk,
    )
    unit = hold.unit
    form = CancelForm(request.POST or None)
    done = _next(request, reverse("inventory:unit-detail", args=[unit.pk]))
    if request.method == "POST" and form.is_valid():
        try:
            services.hold_cancel(hold=hold, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as error:
            refuse(form, error)
        else:
            messages.success(request, _("The hold of %(unit)s is cancelled.") % {"unit": unit})
            return redirect(done)
    context = {
        "unit": unit,
        "hold": hold,
        "refusal": services.cancel_refusal(hold),
        "next": done,
        "title": _("Cancel the hold of %(unit)s") % {"unit": unit},
        "crumbs": _unit_crumbs(unit, (None, _("Cancel the hold"))),
    }
    return _page(request, "sales/hold_cancel.html", context, form)


# --- the queue ------------------------------------------------------------------------------


@require(SALES_HOLD)
def queue_join(request, pk: int):
    unit = get_object_or_404(Unit.objects.with_place(), pk=pk)
    form = QueueForm(request.POST or None, user=request.user)
    preset_client(request, form)
    done = _next(request, reverse("inventory:unit-detail", args=[unit.pk]))
    if request.method == "POST" and not search_pressed(form) and form.is_valid():
        data = form.cleaned_data
        try:
            entry = services.queue_join(
                unit=unit,
                client=data.get("client"),
                new_client=form.new_client(),
                manager=data["manager"],
                comment=data.get("comment", ""),
                by=request.user,
            )
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(
                request,
                _("%(client)s is in the queue for %(unit)s.")
                % {"client": entry.client, "unit": unit},
            )
            return redirect(done)
    context = {
        "unit": unit,
        "next": done,
        "title": _("Queue for %(unit)s") % {"unit": unit},
        "crumbs": _unit_crumbs(unit, (None, _("Queue"))),
    }
    return _page(request, "sales/hold_queue.html", context, form)


@require(SALES_HOLD)
def queue_withdraw(request, pk: int):
    entry = get_object_or_404(
        QueueEntry.objects.for_user(request.user).select_related(
            "unit__building__project", "client"
        ),
        pk=pk,
    )
    unit = entry.unit
    done = _next(request, reverse("inventory:unit-detail", args=[unit.pk]))
    error = None
    if request.method == "POST":
        try:
            services.queue_withdraw(entry=entry, by=request.user)
        except DomainError as refused:
            error = str(refused)
        else:
            messages.success(request, _("%(client)s left the queue.") % {"client": entry.client})
            return redirect(done)
    context = {
        "unit": unit,
        "entry": entry,
        "error": error,
        "next": done,
        "nav": "holds",
        "title": _("Take %(client)s out of the queue") % {"client": entry.client},
        "crumbs": _unit_crumbs(unit, (None, _("Queue"))),
    }
    return render(request, "sales/hold_withdraw.html", context, status=409 if error else 200)


# --- lists ----------------------------------------------------------------------------------


@require(SALES_VIEW)
def hold_list(request):
    form = HoldListFilter(request.GET or None)
    show, mine = "", False
    if form.is_valid():
        show, mine = form.cleaned_data["show"], form.cleaned_data["mine"]
    holds = selectors.holds_list(request.user, show=show, mine=mine)
    page = paginate(request, holds)
    page.object_list = with_shown_states(page.object_list)
    context = {
        "form": form,
        "page": page,
        "show": show,
        "nav": "holds",
        "crumbs": [(None, _("Holds"))],
    }
    return render(request, "sales/hold_list.html", context)


@require(SALES_VIEW)
@require_GET
def notices(request):
    """The user's own notices, newest first."""
    mine = Notice.objects.filter(user=request.user)
    context = {
        "notices": list(mine[:100]),
        "unread": mine.filter(read_at__isnull=True).count(),
        "nav": "notices",
        "crumbs": [(None, _("Notices"))],
    }
    return render(request, "sales/hold_notices.html", context)


@require(SALES_VIEW)
@require_POST
def notices_read(request):
    notices_mark_read(user=request.user)
    return redirect("sales:notices")
