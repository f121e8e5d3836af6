"""The cashier's desk (deals with money due) and a deal's payments page: the schedule, the
payments received, the form to record one (``sales.pay``) and, before the contract is signed,
the schedule editor (``sales.deal``)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kvartal.accounts.permissions import (
    SALES_DEAL,
    SALES_DESK,
    SALES_PAY,
    SALES_VIEW,
    has_capability,
    require,
)
from kvartal.core.errors import DomainError
from kvartal.core.pages import paginate, refuse

from .. import selectors
from ..forms.payments import LineForm, PaymentForm, ScheduleForm
from ..models import Deal
from ..services import payments as services


@require(SALES_DESK)
def cashier(request):
    query = request.GET.get("q", "")[:100]
    deals = selectors.deals_with_money_due(request.user, query=query)
    totals = selectors.cashier_totals(deals)
    page = paginate(request, deals.prefetch_related("buyers__client"))
    rows = list(page)
    states = selectors.payment_states({d.pk: d.total_due for d in rows})
    context = {
        "rows": [
            (deal, states[deal.pk], reverse("sales:deal-detail", args=[deal.pk])) for deal in rows
        ],
        "page": page,
        "totals": totals,
        "query": query,
        "nav": "cashier",
        "crumbs": [(None, _("Cashier's desk"))],
    }
    return render(request, "sales/cashier.html", context)


def _deal(request, pk: int) -> Deal:
    return get_object_or_404(
        Deal.objects.for_user(request.user).select_related(
            "unit__building__project", "stage", "manager"
        ),
        pk=pk,
    )


def _forms(deal: Deal, posted=None, *, action: str = "") -> dict:
    """The page's three forms; the one of ``action`` bound to ``posted``."""
    return {
        "pay": PaymentForm(posted if action == "record" else None, deal=deal, prefix="pay"),
        "schedule": ScheduleForm(
            posted if action == "schedule" else None,
            prefix="plan",
            initial={"payment_method": deal.payment_method, "months": 12},
        ),
        "line": LineForm(posted if action == "line" else None, prefix="line"),
    }


def _page(request, deal: Deal, forms: dict, *, status: int = 200):
    deal.refresh_from_db()
    state = selectors.deal_payment_state(deal)
    deal_url = reverse("sales:deal-detail", args=[deal.pk])
    context = {
        "deal": deal,
        "state": state,
        "buyers": [b.client for b in deal.buyers.select_related("client")],
        "pay_form": forms["pay"],
        "schedule_form": forms["schedule"],
        "line_form": forms["line"],
        "can_pay": has_capability(request.user, SALES_PAY) and deal.is_active,
        "can_plan": has_capability(request.user, SALES_DEAL)
        and services.schedule_is_editable(deal),
        "deal_url": deal_url,
        "nav": "deals",
        "crumbs": [
            (reverse("sales:deal-list"), _("Deals")),
            (deal_url, str(deal)),
            (None, _("Payments")),
        ],
    }
    return render(request, "sales/payment_deal.html", context, status=status)


def _refused(request, deal: Deal, forms: dict, form, error: Exception):
    """The page again with the refusal: on its form, or on top when the form is gone (the
    schedule was locked meanwhile)."""
    if isinstance(error, services.ScheduleLocked):
        messages.error(request, error.message)
    else:
        refuse(form, error)
    return _page(request, deal, forms, status=409 if isinstance(error, DomainError) else 400)


@require(SALES_VIEW)
@require_GET
def deal_payments(request, pk: int):
    deal = _deal(request, pk)
    return _page(request, deal, _forms(deal))


def _post(request, pk: int, action: str, form_key: str, act, done: str):
    """One form of the payments page posted: bad input answers 400 with the form, a refusal
    409 on its form (``_refused``); done, ``act(deal, cleaned_data)`` (a service call) and
    back to the page with ``done``."""
    deal = _deal(request, pk)
    forms = _forms(deal, request.POST, action=action)
    form = forms[form_key]
    if not form.is_valid():
        return _page(request, deal, forms, status=400)
    try:
        act(deal, form.cleaned_data)
    except (DomainError, ValidationError) as error:
        return _refused(request, deal, forms, form, error)
    messages.success(request, done)
    return redirect("sales:deal-payments", pk=deal.pk)


@require(SALES_PAY)
@require_POST
def payment_record(request, pk: int):
    def act(deal, data):
        services.payment_record(
            deal=deal,
            amount=data["amount"],
            received_on=data["received_on"],
            line=data["line"],
            document=data["document"],
            channel=data["channel"],
            by=request.user,
        )

    return _post(request, pk, "record", "pay", act, _("Payment recorded."))


@require(SALES_DEAL)
@require_POST
def schedule_generate(request, pk: int):
    def act(deal, data):
        services.schedule_generate(
            deal=deal,
            by=request.user,
            payment_method=data["payment_method"],
            first_due=data["first_due"],
            down_payment=data["down_payment"],
            months=data["months"],
        )

    return _post(request, pk, "schedule", "schedule", act, _("Payment schedule made."))


@require(SALES_DEAL)
@require_POST
def schedule_line_save(request, pk: int):
    """Add a planned payment, or change the one chosen in the form."""

    def act(deal, data):
        line = None
        if data["line"] is not None:
            line = deal.schedule.filter(pk=data["line"]).first()
            if line is None:
                raise ValidationError(_("This planned payment is no longer in the schedule."))
        services.schedule_line_save(
            deal=deal,
            by=request.user,
            line=line,
            due_date=data["due_date"],
            amount=data["amount"],
            kind=data["kind"],
            payer=data["payer"],
        )

    return _post(request, pk, "line", "line", act, _("Planned payment saved."))


@require(SALES_DEAL)
@require_POST
def schedule_line_delete(request, pk: int, line_pk: int):
    deal = _deal(request, pk)
    line = deal.schedule.filter(pk=line_pk).first()
    try:
        if line is None:
            raise ValidationError(_("This planned payment is no longer in the schedule."))
        services.schedule_line_delete(deal=deal, line=line, by=request.user)
    except (DomainError, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return _page(request, deal, _forms(deal), status=409 if line else 400)
    messages.success(request, _("Planned payment deleted."))
    return redirect("sales:deal-payments", pk=deal.pk)
