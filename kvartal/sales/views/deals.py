"""The deal pages: the list, opening a deal, the deal card and its operations.

Each view fetches its deal through the row-scoped selector (another manager's deal → 404),
validates a form, calls one service and redirects; a refused action re-renders the form with
the reason and changes nothing.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    SALES_APPROVE,
    SALES_DEAL,
    SALES_VIEW,
    has_capability,
    require,
)
from kvartal.clients.picker import search_pressed
from kvartal.clients.selectors import pickable_client
from kvartal.clients.services import client_create
from kvartal.core.errors import DomainError
from kvartal.core.ids import parse_id
from kvartal.core.pages import form_page, paginate, refuse
from kvartal.inventory.models import Unit

from .. import selectors
from ..forms.deals import (
    AddUnitForm,
    BtiForm,
    DealFilterForm,
    DealTermsForm,
    DiscountForm,
    ReasonForm,
    RemoveUnitForm,
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


def _crumbs(deal: Deal | None = None, *tail):
    crumbs = [(reverse("sales:deal-list"), _("Deals"))]
    if deal is not None:
        crumbs.append((reverse("sales:deal-detail", args=[deal.pk]), deal.number))
    return [*crumbs, *tail]


def _form_page(request, deal, form, *, title, submit, template=None, blocker=None, **context):
    """A deal's action page; ``blocker`` (the deal's refusal, e.g. ``deal.swap_blocker``)
    shows instead of the form."""
    return form_page(
        request,
        form,
        title=title,
        submit=submit,
        crumbs=_crumbs(deal, (None, title)),
        cancel_url=reverse("sales:deal-detail", args=[deal.pk]),
        nav="deals",
        template=template or "sales/deal_form_page.html",
        status=400 if request.method == "POST" else 200,
        deal=deal,
        blocker=blocker,
        **context,
    )


def _deal_action(request, deal, form, service, *, done, title, submit, blocker=None, **context):
    """A deal's one-form action: on a valid POST ``service(deal=, by=, **cleaned_data)``;
    refused, the form shows why (nothing changed); done, the deal page with ``done``."""
    if request.method == "POST" and form.is_valid():
        try:
            service(deal=deal, by=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, done)
            return redirect("sales:deal-detail", pk=deal.pk)
    return _form_page(request, deal, form, title=title, submit=submit, blocker=blocker, **context)


@require(SALES_VIEW)
def deal_list(request):
    form = DealFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    deals = selectors.deal_list(request.user, filters)
    page = paginate(request, deals, PER_PAGE)
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
    pk = parse_id(request.GET.get("hold") or request.POST.get("hold"))
    if pk is None:
        return None
    holds = Hold.objects.for_user(request.user).select_related("unit", "client")
    return get_object_or_404(holds, pk=pk)


def _unit_for(request) -> Unit | None:
    pk = parse_id(request.GET.get("unit") or request.POST.get("unit"))
    if pk is None:
        return None
    return get_object_or_404(Unit.objects.with_place(), pk=pk)


@require(SALES_DEAL)
def deal_create(request):
    """Open a deal on a unit (``?unit=``) or from a hold (``?hold=``)."""
    hold = _hold_for(request)
    if hold is not None and request.method == "GET" and not hold.is_live(timezone.now()):
        # Opened from a hold that has ended (an old link): the deal goes on the unit.
        messages.warning(request, services.hold_ended().message)
        return redirect(f"{reverse('sales:deal-create')}?unit={hold.unit_id}")
    unit = hold.unit if hold is not None else _unit_for(request)
    if unit is None:
        context = {"nav": "deals", "crumbs": _crumbs(None, (None, _("New deal")))}
        return render(request, "sales/deal_create.html", context)
    unit = Unit.objects.with_place().get(pk=unit.pk)
    data = request.POST or None
    terms = DealTermsForm(data, user=request.user, unit=unit)
    initial = [{"client": hold.client_id}] if hold is not None else None
    asked = parse_id(request.GET.get("client"))
    # From a client's page: that client as the first buyer, if the user may pick them.
    if (
        initial is None
        and request.method == "GET"
        and asked is not None
        and pickable_client(request.user, asked) is not None
    ):
        initial = [{"client": asked}]
    buyers = buyer_formset(data, user=request.user, initial=initial)
    blocker = None
    if (
        request.method == "POST"
        and not search_pressed(buyers, terms)
        and terms.is_valid()
        and buyers.is_valid()
    ):
        t = terms.cleaned_data

        def create(**fields):
            return client_create(by=request.user, manager=t["manager"], **fields)

        try:
            with transaction.atomic():
                deal = services.deal_open(
                    by=request.user,
                    unit=unit,
                    hold=hold,
                    units=t["units"],
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
                refuse(terms, error)
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
        status=400 if request.method == "POST" and not search_pressed(buyers, terms) else 200,
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
        "track": selectors.stage_track(deal, (stages := list(deal.scheme.stages.all())), events),
        "sold_stage": next((s for s in stages if s.counts_as_sale), None),
        "scheme_name": gettext(deal.scheme.name),
        "stage_forms": _stage_forms(request, deal) if deal.is_active else [],
        "can_act": can_act,
        "can_terminate": deal.can_terminate(request.user),
        "can_discount": deal.can_discount(request.user),
        "can_swap": deal.can_swap(request.user),
        "can_change_units": deal.can_change_units(request.user),
        "applied_promotions": list(
            deal.applied_promotions.select_related("promotion", "deal_unit__unit")
        ),
        "deal_units": sorted(deal.current_units(), key=lambda r: r.unit_id != deal.unit_id),
        "can_bti": deal.can_bti(request.user),
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
        asked = Stage.objects.filter(pk=parse_id(chosen)).first()
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
            refuse(form, error)
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
        empty=not stages and _("No further stage from here."),
    )


@require(SALES_APPROVE)
def deal_discount(request, pk: int):
    """A sales head sets the manual discount a manager could not give (before signing)."""
    deal = _deal_or_404(request, pk)
    form = DiscountForm(request.POST or None, initial={"manual_discount": deal.manual_discount})
    return _deal_action(
        request,
        deal,
        form,
        services.deal_set_discount,
        done=_("Discount set; the schedule was laid out again."),
        title=_("Discount"),
        submit=_("Save"),
        blocker=deal.discount_blocker(request.user),
    )


@require(SALES_APPROVE)
def deal_terminate(request, pk: int):
    deal = _deal_or_404(request, pk)
    return _deal_action(
        request,
        deal,
        ReasonForm(request.POST or None),
        services.deal_terminate,
        done=_("Deal %(number)s terminated; the unit is back on sale.") % {"number": deal.number},
        title=_("Terminate the deal"),
        submit=_("Terminate"),
        blocker=deal.terminate_blocker(request.user),
        danger=True,
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
    if (
        request.method == "POST"
        and not search_pressed(buyers, form)
        and form.is_valid()
        and buyers.is_valid()
    ):

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
            refuse(form, error)
        else:
            messages.success(request, _("Buyers changed."))
            return redirect("sales:deal-detail", pk=deal.pk)
    return _form_page(
        request,
        deal,
        form,
        title=_("Change buyers"),
        submit=_("Save buyers"),
        buyers=buyers,
        template="sales/deal_buyers.html",
    )


@require(SALES_DEAL)
def deal_swap(request, pk: int):
    deal = _deal_or_404(request, pk)
    return _deal_action(
        request,
        deal,
        SwapForm(request.POST or None, deal=deal),
        services.deal_swap_unit,
        done=_("The deal moved to another unit."),
        title=_("Swap the unit"),
        submit=_("Move the deal"),
        blocker=deal.swap_blocker(request.user),
    )


@require(SALES_DEAL)
def deal_unit_add(request, pk: int):
    """Add a parking space, a storage room or another unit to the deal (before signing)."""
    deal = _deal_or_404(request, pk)
    return _deal_action(
        request,
        deal,
        AddUnitForm(request.POST or None, deal=deal),
        services.deal_add_unit,
        done=_("Unit added; the price and the schedule follow."),
        title=_("Add a unit"),
        submit=_("Add"),
        blocker=deal.units_blocker(request.user),
    )


@require(SALES_DEAL)
def deal_unit_remove(request, pk: int):
    """Take a unit out of the deal (before signing), with a reason."""
    deal = _deal_or_404(request, pk)
    unit_id = parse_id(request.GET.get("unit"))
    initial = {"unit": unit_id} if unit_id is not None else {}
    return _deal_action(
        request,
        deal,
        RemoveUnitForm(request.POST or None, deal=deal, initial=initial),
        services.deal_remove_unit,
        done=_("Unit removed; it is back on sale."),
        title=_("Remove a unit"),
        submit=_("Remove"),
        blocker=deal.units_blocker(request.user),
    )


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
            refuse(form, error)
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
        blocker=deal.bti_blocker(request.user),
        note=_(
            "Contract area %(area)s m². Within ±%(tol)s m² nothing is recalculated; beyond "
            "it the difference is charged or refunded at %(per_m2)s ₽ per m²."
        )
        % {
            "area": deal.area,
            "tol": settings.bti_tolerance_m2,
            "per_m2": deal.price_per_m2,
        },
    )
