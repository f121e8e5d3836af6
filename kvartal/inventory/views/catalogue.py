from django.http import HttpResponse

from kvartal.accounts.permissions import INVENTORY_EDIT, INVENTORY_PRICE, INVENTORY_VIEW, require


@require(INVENTORY_VIEW)
def unit_list(request, **kwargs):
    return HttpResponse("TODO")
