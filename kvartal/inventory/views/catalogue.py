"""The unit catalogue: one search across all projects (capability A9)."""

from django.core.paginator import Paginator
from django.shortcuts import render

from kvartal.accounts.permissions import INVENTORY_VIEW, require

from ..search import search_units, sort_links, totals

PER_PAGE = 50


@require(INVENTORY_VIEW)
def unit_list(request):
    form, units = search_units(request.GET)
    summary = totals(units)
    paginator = Paginator(units, PER_PAGE)
    paginator.count = summary.count  # already counted with the sums: one query fewer
    page = paginator.get_page(request.GET.get("page"))
    sort = form.cleaned_data.get("sort", "") if form.is_valid() else ""
    return render(
        request,
        "inventory/unit_list.html",
        {
            "form": form,
            "page": page,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2),
            "totals": summary,
            "sort": sort,
            "sorts": sort_links(sort),
            "nav": "catalogue",
        },
    )
