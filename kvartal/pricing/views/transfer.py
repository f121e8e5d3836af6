"""Import and export pages: upload, the dry run with its progress and errors, apply; the
templates; exports of inventory and prices; the branded price list for agencies and banks."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.accounts.permissions import PRICING_PROPOSE, PRICING_VIEW, require
from kvartal.core.branding import company_context
from kvartal.core.errors import DomainError
from kvartal.core.pages import refuse
from kvartal.core.pdf import render_pdf
from kvartal.inventory.models import Building, Project, Unit, UnitStatus

from .. import imports, transfer
from ..models import ImportKind, ImportRun
from .common import crumbs, error_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("xlsx", "csv", "csv1251")
ACTIONS = {
    "create": gettext_lazy("create"),
    "change": gettext_lazy("change"),
    "skip": gettext_lazy("left"),
    "error": gettext_lazy("error"),
}


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("The file holds"), choices=ImportKind.choices)
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(".xlsx or .csv (UTF-8 or Windows-1251, “;” or “,”)."),
    )


class ScopeForm(forms.Form):
    project = forms.ModelChoiceField(
        Project.objects.all(), label=gettext_lazy("Project"), required=False
    )
    building = forms.ModelChoiceField(
        Building.objects.select_related("project"), label=gettext_lazy("Building"), required=False
    )


def _attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _file(kind: str, rows, fmt: str, stem: str) -> HttpResponse:
    if fmt == "xlsx":
        return _attachment(transfer.write_xlsx(kind, rows), f"{stem}.xlsx", XLSX)
    encoding = "cp1251" if fmt == "csv1251" else "utf-8-sig"
    charset = "windows-1251" if fmt == "csv1251" else "utf-8"
    return _attachment(
        transfer.write_csv(kind, rows, encoding=encoding),
        f"{stem}.csv",
        f"text/csv; charset={charset}",
    )


@require(PRICING_PROPOSE)
def import_upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = imports.import_start(
                kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"], by=request.user
            )
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            return redirect("pricing:import-detail", pk=run.pk)
    runs = ImportRun.objects.select_related("created_by")[:20]
    return render(
        request,
        "pricing/import.html",
        {
            "form": form,
            "runs": runs,
            "scope": ScopeForm(request.GET or None),
            "formats": FORMATS,
            "crumbs": crumbs((None, _("Import and export"))),
            "nav": "prices",
        },
        status=(409 if getattr(form, "refused", False) else 400) if form.errors else 200,
    )


@require(PRICING_PROPOSE)
def import_detail(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    if request.method == "POST":
        try:
            imports.import_apply_start(
                run=run, by=request.user, valid_only=request.POST.get("valid_only") == "1"
            )
        except (ValidationError, DomainError) as error:
            messages.error(request, error_text(error))
        return redirect("pricing:import-detail", pk=pk)
    return render(
        request,
        "pricing/import_detail.html",
        {
            "run": run,
            "percent": int(100 * run.done_rows / run.total_rows) if run.total_rows else None,
            "preview": [(row, ACTIONS.get(a, a), key, d) for row, a, key, d in run.preview],
            "crumbs": crumbs(
                (reverse("pricing:import"), _("Import and export")), (None, run.filename)
            ),
            "nav": "prices",
        },
    )


@require(PRICING_VIEW)
def import_template(request, kind, fmt):
    if kind not in ImportKind.values or fmt not in FORMATS:
        return HttpResponse(status=404)
    return _file(kind, transfer.template_rows(kind), fmt, f"kvartal-{kind}-template")


def _scoped_units(request):
    scope = ScopeForm(request.GET)
    units = Unit.objects.all()
    if scope.is_valid():
        if scope.cleaned_data["building"]:
            units = units.filter(building=scope.cleaned_data["building"])
        elif scope.cleaned_data["project"]:
            units = units.filter(building__project=scope.cleaned_data["project"])
    return units


@require(PRICING_VIEW)
def export(request, kind, fmt):
    if kind not in ImportKind.values or fmt not in FORMATS:
        return HttpResponse(status=404)
    units = _scoped_units(request)
    rows = transfer.inventory_rows(units) if kind == "inventory" else transfer.price_rows(units)
    stamp = timezone.localdate().isoformat()
    return _file(kind, rows, fmt, f"kvartal-{kind}-{stamp}")


@require(PRICING_VIEW)
def price_sheet(request, fmt):
    """The price list for agencies and banks: the units on sale with their prices, branded."""
    units = (
        _scoped_units(request)
        .filter(status=UnitStatus.AVAILABLE)
        .select_related("building__project", "floor")
        .order_by(
            "building__project__name",
            "building__name",
            "section__number",
            "floor__index",
            "position",
        )
    )
    stamp = timezone.localdate().isoformat()
    if fmt == "pdf":
        context = {
            "units": units,
            "company": company_context(),
            "generated_at": timezone.localtime(),
        }
        response = HttpResponse(
            render_pdf("pdf/price_sheet.html", context, request), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'inline; filename="price-list-{stamp}.pdf"'
        return response
    if fmt != "xlsx":
        return HttpResponse(status=404)
    return _attachment(transfer.price_sheet_xlsx(units), f"price-list-{stamp}.xlsx", XLSX)
