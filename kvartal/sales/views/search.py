"""Search: units by buyer, sale date or status-change date (``sales:unit-search``) and the
header's box over units, clients and deals (``sales:search``). Both are row-scoped: another
manager's clients and deals never show."""

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import CLIENTS_VIEW, SALES_VIEW, has_capability, require

from .. import selectors
from ..forms.search import UnitSearchForm


@require(SALES_VIEW)
def unit_search(request):
    form = UnitSearchForm(request.GET or None)
    hits, more = [], False
    searched = form.is_valid() and form.has_filters
    if searched:
        hits, more = selectors.unit_search(request.user, **form.cleaned_data)
    context = {
        "form": form,
        "searched": searched,
        "hits": [
            (hit, reverse("sales:deal-detail", args=[hit.deal.pk]) if hit.deal else None)
            for hit in hits
        ],
        "more": more,
        "limit": selectors.SEARCH_LIMIT,
        "nav": "sales-search",
        "crumbs": [(None, _("Sales search"))],
    }
    return render(request, "sales/search_units.html", context, status=400 if form.errors else 200)


@require(SALES_VIEW)
def global_search(request):
    query = request.GET.get("q", "").strip()[:100]
    results = selectors.global_search(
        request.user, query, with_clients=has_capability(request.user, CLIENTS_VIEW)
    )
    context = {
        "query": query,
        "results": results,
        "clients": [(c, reverse("sales:client-detail", args=[c.pk])) for c in results.clients],
        "deals": [(d, reverse("sales:deal-detail", args=[d.pk])) for d in results.deals],
        "nav": "search",
        "crumbs": [(None, _("Search"))],
    }
    return render(request, "sales/search.html", context)
