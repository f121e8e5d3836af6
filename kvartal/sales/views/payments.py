"""The cashier's desk (deals with money due) and a deal's payments page: the schedule, the
payments received, the form to record one (``sales.pay``) and, before the contract is signed,
the schedule editor (``sales.deal``)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    SALES_APPROVE,
    SALES_DEAL,
    SALES_PAY,
    SALES_VIEW,
    SEE_ALL,
    has_capability,
    require,
)
from kvartal.core.errors import DomainError

from .. import selectors
from ..forms.payments import LineForm, PaymentForm, ScheduleForm, refuse
from ..services import payments as services


def url_or_none(name: str, *args) -> str | None:
    """A link to a page another part of the app may not have yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def may_read_desk(user) -> bool:
    """The cashier's desk: the cashier and the administrator work there; the director and
    sales heads read it (a head sees their team's deals)."""
    return any(has_capability(user, c) for c in (SALES_PAY, SALES_APPROVE, SEE_ALL))


@require(SALES_VIEW)
def cashier(request):
    if not may_read_desk(request.user):
        raise PermissionDenied
    query = request.GET.get("q", "")[:100]
    deals = selectors.deals_with_money_due(request.user, query=query)
    totals = selectors.cashier_totals(deals)
    page = Paginator(deals.prefetch_related("buyers__client"), 50).get_page(request.GET.get("page"))
    rows = list(page)
    states = selectors.payment_states({d.pk: d.total_due for d in rows})
    context = {
        "rows": [
            (deal, states[deal.pk], url_or_none("sales:deal-detail", deal.pk)) for deal in rows
        ],
        "page": page,
        "totals": totals,
        "query": query,
        "nav": "cashier",
        "crumbs": [(None, _("Cashier's desk"))],
    }
    return render(request, "sales/cashier.html", context)


def _dispatch(request, deal, forms: dict) -> bool:
    """Run the posted action; ``True`` when it was done. A refusal lands on its form."""
    action = request.POST.get("action")
    needs = {"record": SALES_PAY, "generate": SALES_DEAL, "line": SALES_DEAL, "delete": SALES_DEAL}
    if action not in needs:
        return False
    if not has_capability(request.user, needs[action]):
        raise PermissionDenied
    user = request.user
    form = forms[{"record": "pay", "generate": "schedule"}.get(action, "line")]
    if action != "delete" and not form.is_valid():
        return False
    try:
        if action == "record":
            data = form.cleaned_data
            services.payment_record(
                deal=deal,
                amount=data["amount"],
                received_on=data["received_on"],
                line=data["line"],
                document=data["document"],
                channel=data["channel"],
                by=user,
            )
            messages.success(request, _("Payment recorded."))
        elif action == "generate":
            data = form.cleaned_data
            services.schedule_generate(
                deal=deal,
                by=user,
                payment_method=data["payment_method"],
                first_due=data["first_due"],
                down_payment=data["down_payment"],
                months=data["months"],
            )
            messages.success(request, _("Payment schedule made."))
        else:
            line_id = request.POST.get("line") if action == "delete" else form.cleaned_data["line"]
            line = None
            if line_id:
                if not str(line_id).isdigit():
                    raise ValidationError(_("This planned payment is no longer in the schedule."))
                line = deal.schedule.filter(pk=line_id).first()
                if line is None:
                    raise ValidationError(_("This planned payment is no longer in the schedule."))
            if action == "delete":
                if line is None:
                    raise ValidationError(_("Choose a planned payment to delete."))
                services.schedule_line_delete(deal=deal, line=line, by=user)
                messages.success(request, _("Planned payment deleted."))
            else:
                data = form.cleaned_data
                services.schedule_line_save(
                    deal=deal,
                    by=user,
                    line=line,
                    due_date=data["due_date"],
                    amount=data["amount"],
                    kind=data["kind"],
                    payer=data["payer"],
                )
                messages.success(request, _("Planned payment saved."))
    except services.ScheduleLocked as error:
        # The editor is no longer on the page: say it on top.
        messages.error(request, error.message)
        return False
    except (DomainError, ValidationError) as error:
        if action == "delete":
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            refuse(form, error)
        return False
    return True


@require(SALES_VIEW)
def deal_payments(request, pk: int):
    deal = get_object_or_404(
        selectors.visible_deals(request.user).select_related(
            "unit__building__project", "stage", "manager"
        ),
        pk=pk,
    )
    posted = request.POST if request.method == "POST" else None
    action = posted.get("action") if posted else None
    forms = {
        "pay": PaymentForm(posted if action == "record" else None, deal=deal, prefix="pay"),
        "schedule": ScheduleForm(
            posted if action == "generate" else None,
            prefix="plan",
            initial={"payment_method": deal.payment_method, "months": 12},
        ),
        "line": LineForm(posted if action == "line" else None, prefix="line"),
    }
    status = 200
    if posted is not None:
        if _dispatch(request, deal, forms):
            return redirect("sales:deal-payments", pk=deal.pk)
        status = 400
    deal.refresh_from_db()
    state = selectors.deal_payment_state(deal)
    deal_url = url_or_none("sales:deal-detail", deal.pk)
    context = {
        "deal": deal,
        "state": state,
        "buyers": [b.client for b in deal.buyers.select_related("client")],
        "pay_form": forms["pay"],
        "schedule_form": forms["schedule"],
        "line_form": forms["line"],
        "action": action,
        "can_pay": has_capability(request.user, SALES_PAY) and deal.is_active,
        "can_plan": has_capability(request.user, SALES_DEAL)
        and services.schedule_is_editable(deal),
        "deal_url": deal_url,
        "nav": "deals",
        "crumbs": [
            (url_or_none("sales:deal-list"), _("Deals")),
            (deal_url, str(deal)),
            (None, _("Payments")),
        ],
    }
    return render(request, "sales/payment_deal.html", context, status=status)
