"""Price lists: edit, preview (table and chessboard), send for approval."""

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import PRICING_PROPOSE, PRICING_VIEW, has_capability, require
from kvartal.core.errors import DomainError
from kvartal.core.pages import refuse

from .. import services
from ..forms import FactorFormSet, PriceListForm, RateFormSet
from ..models import BatchSource, PriceList
from .common import crumbs

PREVIEW_ROWS = 300


@require(PRICING_VIEW)
def pricelist_list(request):
    lists = PriceList.objects.select_related("building__project", "section")
    return render(
        request,
        "pricing/pricelist_list.html",
        {"lists": lists, "crumbs": crumbs((None, _("Price lists"))), "nav": "prices"},
    )


@require(PRICING_PROPOSE)
def pricelist_edit(request, pk=None):
    price_list = get_object_or_404(PriceList, pk=pk) if pk else PriceList()
    if pk is None and request.GET.get("building"):
        price_list.building_id = request.GET["building"]
    data = request.POST or None
    form = PriceListForm(data, instance=price_list)
    rates = RateFormSet(data, instance=price_list, prefix="rates")
    factors = FactorFormSet(data, instance=price_list, prefix="factors")
    if request.method == "POST" and form.is_valid() and rates.is_valid() and factors.is_valid():
        try:
            saved = services.price_list_save(
                form=form, rates=rates, factors=factors, by=request.user
            )
        except ValidationError as error:
            refuse(form, error)
        else:
            messages.success(request, _("Price list saved."))
            return redirect("pricing:pricelist-preview", pk=saved.pk)
    title = price_list.name if pk else _("New price list")
    context = {
        "form": form,
        "rates": rates,
        "factors": factors,
        "price_list": price_list if pk else None,
        "title": title,
        "crumbs": crumbs((reverse("pricing:pricelist-list"), _("Price lists")), (None, title)),
        "nav": "prices",
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "pricing/pricelist_form.html", context, status=status)


def board_of(lines) -> list[dict]:
    """The preview laid out as the chessboard: per section, floors top-down × positions."""
    sections: dict = defaultdict(lambda: defaultdict(dict))
    positions: dict = defaultdict(set)
    labels: dict = {}
    for line in lines:
        u = line.unit
        sections[u.section.number][u.floor.index][u.position] = line
        positions[u.section.number].add(u.position)
        labels[(u.section.number, u.floor.index)] = u.floor.label
    board = []
    for number in sorted(sections):
        cols = sorted(positions[number])
        rows = [
            {
                "label": labels[(number, index)],
                "cells": [sections[number][index].get(p) for p in cols],
            }
            for index in sorted(sections[number], reverse=True)
        ]
        board.append({"number": number, "positions": cols, "rows": rows})
    return board


@require(PRICING_VIEW)
def pricelist_preview(request, pk):
    price_list = get_object_or_404(
        PriceList.objects.select_related("building__project", "section"), pk=pk
    )
    preview = error = None
    try:
        preview = services.price_list_preview(price_list=price_list)
    except (ValidationError, DomainError) as exc:
        error = "; ".join(getattr(exc, "messages", None) or [str(exc)])
    if request.method == "POST" and preview is not None:
        return _propose(request, price_list, preview)
    context = {
        "price_list": price_list,
        "preview": preview,
        "error": error,
        "rows": preview.lines[:PREVIEW_ROWS] if preview else [],
        "board": board_of(preview.lines) if preview else [],
        "view": request.GET.get("view", "table"),
        "crumbs": crumbs(
            (reverse("pricing:pricelist-list"), _("Price lists")), (None, price_list.name)
        ),
        "nav": "prices",
    }
    return render(request, "pricing/pricelist_preview.html", context)


def _propose(request, price_list, preview):
    if not has_capability(request.user, PRICING_PROPOSE):
        messages.error(request, _("You may not propose price changes."))
        return redirect("pricing:pricelist-preview", pk=price_list.pk)
    try:
        batch = services.batch_propose(
            title=_("Price list “%(name)s”") % {"name": price_list.name},
            source=BatchSource.PRICE_LIST,
            lines=preview.lines,
            price_list=price_list,
            by=request.user,
        )
    except (ValidationError, DomainError) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", None) or [str(exc)]))
        return redirect("pricing:pricelist-preview", pk=price_list.pk)
    messages.success(request, _("Sent for approval."))
    return redirect("pricing:batch-detail", pk=batch.pk)


@require(PRICING_VIEW)
def pricelist_file(request, pk):
    """The list as an .xlsx workbook to edit in a spreadsheet and upload back."""
    from django.http import HttpResponse

    from .. import pricelist_file as files
    from .transfer import XLSX

    price_list = get_object_or_404(PriceList.objects.select_related("building__project"), pk=pk)
    response = HttpResponse(files.write(price_list), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="price-list-{price_list.pk}.xlsx"'
    return response


@require(PRICING_PROPOSE)
def pricelist_upload(request, pk):
    """The edited workbook uploaded back: saved and sent for approval as one batch, or every
    error listed and nothing saved."""
    price_list = get_object_or_404(PriceList, pk=pk)
    if request.method != "POST":
        return redirect("pricing:pricelist-preview", pk=pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose the .xlsx file of the price list."))
        return redirect("pricing:pricelist-preview", pk=pk)
    try:
        batch = services.price_list_upload(price_list=price_list, upload=upload, by=request.user)
    except (ValidationError, DomainError) as exc:
        for message in getattr(exc, "messages", None) or [str(exc)]:
            messages.error(request, message)
        return redirect("pricing:pricelist-preview", pk=pk)
    messages.success(request, _("The file was read and sent for approval."))
    return redirect("pricing:batch-detail", pk=batch.pk)
