from django.http import HttpResponse

from kvartal.accounts.permissions import INVENTORY_EDIT, INVENTORY_PRICE, INVENTORY_VIEW, require


@require(INVENTORY_VIEW)
def project_sheet(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_VIEW)
def project_sheet_pdf(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_VIEW)
def building_sheet(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_VIEW)
def building_sheet_pdf(request, **kwargs):
    return HttpResponse("TODO")
