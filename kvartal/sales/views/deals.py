"""The deal pages: the list, opening a deal, the deal card and its operations.

Each view fetches its deal through the row-scoped selector (another manager's deal → 404),
validates a form, calls one service and redirects; a refused action re-renders the form with
the reason and changes nothing.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    SALES_APPROVE,
    SALES_DEAL,
    SALES_VIEW,
    has_capability,
    require,
    visible_managers,
)
from kvartal.clients.models import Client
from kvartal.clients.services import client_create
from kvartal.core.errors import DomainError
from kvartal.inventory.forms import apply_errors
from kvartal.inventory.models import Unit

from .. import selectors
from ..forms.deals import (
    BtiForm,
    DealFilterForm,
    DealTermsForm,
    DiscountForm,
    ReasonForm,
    StageMoveForm,
    SwapForm,
    buyer_formset,
)
from ..models import Deal, Hold, SalesSettings, Stage
from ..services import deals as services

PER_PAGE = 50


def _deal_or_404(request, pk: int) -> Deal:
    try:
        return selectors.deal_card(request.user, pk)
    except Deal.DoesNotExist:
        raise Http404 from None


def _refused(form, error) -> None:
    if isinstance(error, DomainError):
        form.add_error(error.field if error.field in form.fields else None, error.message)
    else:
        apply_errors(form, error)


def _crumbs(deal: Deal | None = None, *tail):
    crumbs = [(reverse("sales:deal-list"), _("Deals"))]
    if deal is not None:
        crumbs.append((reverse("sales:deal-detail", args=[deal.pk]), deal.number))
    return [*crumbs, *tail]


def _form_page(request, deal, form, *, title, submit, extra=None, template=None):
    context = {
        "deal": deal,
        "form": form,
        "title": title,
        "submit": submit,
        "crumbs": _crumbs(deal, (None, title)),
        "cancel_url": reverse("sales:deal-detail", args=[deal.pk]),
        "nav": "deals",
        **(extra or {}),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, template or "sales/deal_form_page.html", context, status=status)


@require(SALES_VIEW)
def deal_list(request):
    form = DealFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    deals = selectors.deal_list(request.user, filters)
    page = Paginator(deals, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "deals": page.object_list,
        "nav": "deals",
        "crumbs": [(None, _("Deals"))],
        "can_open": has_capability(request.user, SALES_DEAL),
    }
    return render(request, "sales/deal_list.html", context)


def _hold_for(request) -> Hold | None:
    pk = request.GET.get("hold") or request.POST.get("hold")
    if not pk or not str(pk).isdigit():
        return None
    holds = Hold.objects.select_related("unit", "client")
    managers = visible_managers(request.user)
    if managers is not None:
        holds = holds.filter(manager_id__in=managers)
    return get_object_or_404(holds, pk=pk)


def _unit_for(request) -> Unit | None:
    pk = request.GET.get("unit") or request.POST.get("unit")
    if not pk or not str(pk).isdigit():
        return None
    return get_object_or_404(Unit.objects.with_place(), pk=pk)


@require(SALES_DEAL)
def deal_create(request):
    """Open a deal on a unit (``?unit=``) or from a hold (``?hold=``)."""
    hold = _hold_for(request)
    unit = hold.unit if hold is not None else _unit_for(request)
    if unit is None:
        context = {"nav": "deals", "crumbs": _crumbs(None, (None, _("New deal")))}
        return render(request, "sales/deal_create.html", context)
    unit = Unit.objects.with_place().get(pk=unit.pk)
    data = request.POST or None
    terms = DealTermsForm(data, user=request.user, unit=unit)
    initial = [{"client": hold.client_id}] if hold is not None else None
    asked = request.GET.get("client", "")
    # From a client's page: that client as the first buyer, if the user may pick them.
    if (
        initial is None
        and request.method == "GET"
        and asked.isdigit()
        and Client.objects.visible_to(request.user).in_use().filter(pk=asked).exists()
    ):
        initial = [{"client": int(asked)}]
    buyers = buyer_formset(data, user=request.user, initial=initial)
    blocker = None
    if request.method == "POST" and terms.is_valid() and buyers.is_valid():
        t = terms.cleaned_data

        def create(**fields):
            return client_create(by=request.user, manager=t["manager"], **fields)

        try:
            with transaction.atomic():
                deal = services.deal_open(
                    by=request.user,
                    unit=unit,
                    hold=hold,
                    buyers=buyers.buyers(create=create),
                    manager=t["manager"],
                    agency=t["agency"],
                    promotion=t["promotion"],
                    manual_discount=t["manual_discount"],
                    payment_method=t["payment_method"],
                    bank=t["bank"],
                    programme=t["programme"],
                    contract_type=t["contract_type"],
                    scheme=t["scheme"],
                )
        except (DomainError, ValidationError) as error:
            if isinstance(error, DomainError) and error.field in ("unit", "hold", "buyers"):
                blocker = error.message
            else:
                _refused(terms, error)
        else:
            messages.success(request, _("Deal %(number)s opened.") % {"number": deal.number})
            return redirect("sales:deal-detail", pk=deal.pk)
    context = {
        "unit": unit,
        "hold": hold,
        "terms": terms,
        "buyers": buyers,
        "blocker": blocker,
        "threshold": SalesSettings.current().discount_approval_percent,
        "nav": "deals",
        "crumbs": _crumbs(None, (None, _("New deal"))),
    }
    return render(
        request,
        "sales/deal_create.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


def _stage_forms(request, deal: Deal) -> list[tuple]:
    """For each next stage the user may move to: (stage, its form)."""
    if not has_capability(request.user, SALES_DEAL):
        return []
    approver = has_capability(request.user, SALES_APPROVE)
    stages = services.next_stages(deal)
    return [
        (s, StageMoveForm(stages=stages, stage=s, auto_id=f"s{s.pk}-%s"))
        for s in stages
        if not s.is_termination and (approver or not s.needs_approval)
    ]


@require(SALES_VIEW)
def deal_detail(request, pk: int):
    deal = _deal_or_404(request, pk)
    events = selectors.deal_history(deal)
    for event in events:
        event.text = selectors.deal_event_text(event, with_number=False)
    can_act = deal.is_active and has_capability(request.user, SALES_DEAL)
    context = {
        "deal": deal,
        "buyers": list(deal.buyers.all()),
        "events": events,
        "stages": list(deal.scheme.stages.all()),
        "scheme_name": gettext(deal.scheme.name),
        "stage_forms": _stage_forms(request, deal) if deal.is_active else [],
        "can_act": can_act,
        "can_terminate": (
            deal.is_active
            and has_capability(request.user, SALES_APPROVE)
            and services.termination_stage(deal) is not None
        ),
        "can_discount": (
            deal.is_active and deal.stage.is_initial and has_capability(request.user, SALES_APPROVE)
        ),
        "can_swap": can_act and deal.stage.unit_status != "sold" and deal.bti_area is None,
        "can_bti": can_act and deal.bti_area is None,
        "bti_form": BtiForm(),
        "paid": services.paid_total(deal),
        "nav": "deals",
        "crumbs": _crumbs(None, (None, deal.number)),
    }
    return render(request, "sales/deal_detail.html", context)


@require(SALES_DEAL)
def deal_move(request, pk: int):
    """Move the deal to a next stage (the card posts here; GET shows the choice)."""
    deal = _deal_or_404(request, pk)
    stages = [s for s in services.next_stages(deal) if not s.is_termination]
    chosen = request.POST.get("stage") or request.GET.get("stage") or ""
    target = next((s for s in stages if str(s.pk) == chosen), None)
    form = StageMoveForm(request.POST or None, stages=stages, stage=target)
    if request.method == "POST" and target is None:
        # Not a next stage: skipped, a termination (its own page), or moved meanwhile.
        asked = Stage.objects.filter(pk=chosen if chosen.isdigit() else None).first()
        form = StageMoveForm(request.POST, stages=stages)
        form.is_valid()
        form.add_error(
            None,
            _("A deal cannot go from “%(old)s” to “%(new)s”.")
            % {"old": deal.stage.label, "new": asked.label if asked else "—"},
        )
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.deal_move(
                deal=deal,
                stage=target,
                by=request.user,
                registration_number=data.get("registration_number", ""),
                registration_date=data.get("registration_date"),
                act_date=data.get("act_date"),
                reason=data.get("reason", ""),
            )
        except (DomainError, ValidationError) as error:
            _refused(form, error)
        else:
            messages.success(
                request, _("The deal is now at “%(stage)s”.") % {"stage": target.label}
            )
            return redirect("sales:deal-detail", pk=deal.pk)
    title = _("Move to “%(stage)s”") % {"stage": target.label} if target else _("Next stage")
    return _form_page(
        request,
        deal,
        form,
        title=title,
        submit=_("Move"),
        extra={"empty": not stages and _("No further stage from here.")},
    )


@require(SALES_APPROVE)
def deal_discount(request, pk: int):
    """A sales head sets the manual discount a manager could not give (before signing)."""
    deal = _deal_or_404(request, pk)
    form = DiscountForm(request.POST or None, initial={"manual_discount": deal.manual_discount})
    if request.method == "POST" and form.is_valid():
        try:
            services.deal_set_discount(deal=deal, by=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            _refused(form, error)
        else:
            messages.success(request, _("Discount set; the schedule was laid out again."))
            return redirect("sales:deal-detail", pk=deal.pk)
    return _form_page(request, deal, form, title=_("Discount"), submit=_("Save"))


@require(SALES_APPROVE)
def deal_terminate(request, pk: int):
    deal = _deal_or_404(request, pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.deal_terminate(deal=deal, by=request.user, reason=form.cleaned_data["reason"])
        except (DomainError, ValidationError) as error:
            _refused(form, error)
        else:
            messages.success(
                request,
                _("Deal %(number)s terminated; the unit is back on sale.")
                % {"number": deal.number},
            )
            return redirect("sales:deal-detail", pk=deal.pk)
    return _form_page(
        request,
        deal,
        form,
        title=_("Terminate the deal"),
        submit=_("Terminate"),
        extra={"danger": True},
    )


@require(SALES_DEAL)
def deal_buyers(request, pk: int):
    deal = _deal_or_404(request, pk)
    data = request.POST or None
    initial = [
        {
            "client": b.client_id,
            "share_numerator": b.share_numerator,
            "share_denominator": b.share_denominator,
        }
        for b in deal.buyers.all()
    ]
    buyers = buyer_formset(data, user=request.user, initial=initial)
    form = ReasonForm(data)
    # The current buyers stay choosable even when they are another manager's clients.
    current = [b.client_id for b in deal.buyers.all()]
    for f in buyers.forms:
        qs = f.fields["client"].queryset
        f.fields["client"].queryset = (qs | qs.model.objects.filter(pk__in=current)).distinct()
    if request.method == "POST" and form.is_valid() and buyers.is_valid():

        def create(**fields):
            return client_create(by=request.user, manager=deal.manager, **fields)

        try:
            with transaction.atomic():
                services.deal_change_buyers(
                    deal=deal,
                    buyers=buyers.buyers(create=create),
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                )
        except (DomainError, ValidationError) as error:
            _refused(form, error)
        else:
            messages.success(request, _("Buyers changed."))
            return redirect("sales:deal-detail", pk=deal.pk)
    return _form_page(
        request,
        deal,
        form,
        title=_("Change buyers"),
        submit=_("Save buyers"),
        extra={"buyers": buyers},
        template="sales/deal_buyers.html",
    )


@require(SALES_DEAL)
def deal_swap(request, pk: int):
    deal = _deal_or_404(request, pk)
    form = SwapForm(request.POST or None, deal=deal)
    if request.method == "POST" and form.is_valid():
        try:
            services.deal_swap_unit(
                deal=deal,
                unit=form.cleaned_data["unit"],
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except (DomainError, ValidationError) as error:
            _refused(form, error)
        else:
            messages.success(request, _("The deal moved to another unit."))
            return redirect("sales:deal-detail", pk=deal.pk)
    return _form_page(request, deal, form, title=_("Swap the unit"), submit=_("Move the deal"))


@require(SALES_DEAL)
def deal_bti(request, pk: int):
    deal = _deal_or_404(request, pk)
    form = BtiForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deal = services.deal_record_bti(
                deal=deal, bti_area=form.cleaned_data["bti_area"], by=request.user
            )
        except (DomainError, ValidationError) as error:
            _refused(form, error)
        else:
            if deal.bti_adjustment:
                messages.success(
                    request,
                    _("BTI area recorded: recalculation %(amount)s ₽ due in 30 days.")
                    % {"amount": deal.bti_adjustment},
                )
            else:
                messages.success(request, _("BTI area recorded: within the tolerance."))
            return redirect("sales:deal-detail", pk=deal.pk)
    settings = SalesSettings.current()
    return _form_page(
        request,
        deal,
        form,
        title=_("BTI measurement"),
        submit=_("Record"),
        extra={
            "note": _(
                "Contract area %(area)s m². Within ±%(tol)s m² nothing is recalculated; beyond "
                "it the difference is charged or refunded at %(per_m2)s ₽ per m²."
            )
            % {
                "area": deal.area,
                "tol": settings.bti_tolerance_m2,
                "per_m2": deal.price_per_m2,
            }
        },
    )
