from django.http import HttpResponse

from kvartal.accounts.permissions import INVENTORY_EDIT, INVENTORY_PRICE, INVENTORY_VIEW, require


@require(INVENTORY_VIEW)
def building_chessboard(request, **kwargs):
    return HttpResponse("TODO")


@require(INVENTORY_VIEW)
def unit_detail(request, **kwargs):
    return HttpResponse("TODO")
