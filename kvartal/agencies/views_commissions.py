"""Commission rules and statements (the accountant), the statement as Excel."""

from io import BytesIO

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook

from kvartal.accounts.permissions import COMMISSIONS_SETTLE, require
from kvartal.core.errors import DomainError
from kvartal.core.pages import form_page, paginate, refuse

from . import commissions
from .forms import PayForm, RuleForm, StatementForm
from .models import CommissionRule, Statement


def _crumbs(*more):
    return [(reverse("agencies:statement-list"), _("Commissions")), *more]


@require(COMMISSIONS_SETTLE)
def statement_list(request):
    statements = Statement.objects.select_related("agency", "manager")
    rules = CommissionRule.objects.select_related("agency", "project").prefetch_related("tiers")
    return render(
        request,
        "agencies/statement_list.html",
        {"nav": "commissions", "page": paginate(request, statements), "rules": rules},
    )


@require(COMMISSIONS_SETTLE)
def rule_create(request):
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            tiers = commissions.parse_tiers(data.pop("tiers"))
            commissions.commission_rule_save(by=request.user, tiers=tiers, **data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("The rule is saved."))
            return redirect("agencies:statement-list")
    return form_page(
        request,
        form,
        title=_("New commission rule"),
        crumbs=_crumbs((None, _("New commission rule"))),
        nav="commissions",
    )


@require(COMMISSIONS_SETTLE)
def statement_create(request):
    form = StatementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            statement = commissions.statement_create(by=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            return redirect("agencies:statement-detail", pk=statement.pk)
    return form_page(
        request,
        form,
        title=_("New statement"),
        crumbs=_crumbs((None, _("New statement"))),
        nav="commissions",
        submit=_("Make the statement"),
    )


@require(COMMISSIONS_SETTLE)
def statement_detail(request, pk):
    statement = get_object_or_404(Statement.objects.select_related("agency", "manager"), pk=pk)
    form = PayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            commissions.statement_pay(statement=statement, by=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("The payment is recorded."))
            return redirect("agencies:statement-detail", pk=statement.pk)
    entries = statement.entries.select_related("deal", "payment").order_by("booked_on", "pk")
    status = (409 if getattr(form, "refused", False) else 400) if form.errors else 200
    return render(
        request,
        "agencies/statement_detail.html",
        {"nav": "commissions", "statement": statement, "entries": entries, "form": form},
        status=status,
    )


@require(COMMISSIONS_SETTLE)
def statement_xlsx(request, pk):
    """The statement as an Excel workbook: its figures, then one row per entry (numbers as
    numbers, two decimals)."""
    statement = get_object_or_404(Statement.objects.select_related("agency", "manager"), pk=pk)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Statement")[:31]
    sheet.append([_("Commission statement"), str(statement.beneficiary)])
    sheet.cell(sheet.max_row, 2).data_type = "s"  # a name starting with "=" stays a name
    sheet.append([_("Period"), statement.date_from, statement.date_to])
    for label, value in [
        (_("Accrued, ₽"), statement.accrued),
        (_("Held back, ₽"), statement.held_back),
        (_("Payable, ₽"), statement.payable),
    ]:
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 2).number_format = "#,##0.00"
    sheet.append([_("Paid on"), statement.paid_on, statement.paid_document])
    sheet.append([])
    sheet.append([pgettext("commission entry", "Booked"), _("Deal"), _("Entry"), _("Amount, ₽")])
    for entry in statement.entries.select_related("deal").order_by("booked_on", "pk"):
        sheet.append([entry.booked_on, entry.deal.number, entry.get_kind_display(), entry.amount])
        sheet.cell(sheet.max_row, 4).number_format = "#,##0.00"
        sheet.cell(sheet.max_row, 1).number_format = "DD.MM.YYYY"
    out = BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="statement-{statement.pk}.xlsx"'
    return response
