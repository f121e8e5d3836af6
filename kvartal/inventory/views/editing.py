from django.http import HttpResponse

from kvartal.accounts.permissions import INVENTORY_EDIT, INVENTORY_PRICE, INVENTORY_VIEW, require


@require(INVENTORY_EDIT)
def project_create(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_EDIT)
def project_update(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_EDIT)
def building_create(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_EDIT)
def building_update(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_EDIT)
def section_generate(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_EDIT)
def floor_update(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_EDIT)
def unit_create(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_EDIT)
def unit_update(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_PRICE)
def unit_price(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_EDIT)
def unit_status(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_PRICE)
def price_bulk(request, **kwargs):
    return HttpResponse("TODO")
