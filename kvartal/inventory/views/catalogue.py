"""The unit catalogue: one search across all projects."""

from html import escape

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import INVENTORY_VIEW, require
from kvartal.core.pages import paginate
from kvartal.core.templatetags.kvartal import area, money

from ..models import UnitKind, UnitStatus
from ..search import search_units, sort_links, totals

PER_PAGE = 50


def catalogue_rows(units) -> SafeString:
    """The ``<tr>`` lines of the results table, markup for markup what the template wrote.

    Fifty rows of twelve cells took the template engine longer than the search itself, so
    they are written here. Every text is escaped (``html.escape`` is what
    ``django.utils.html.escape`` runs); numbers and dates go through the same filters and
    formats the template used.
    """
    marker = 987654321
    head, tail = reverse("inventory:unit-detail", kwargs={"pk": marker}).split(str(marker))
    head, tail = escape(head), escape(tail)
    none = '<span class="muted">—</span>'
    studio = escape(_("studio"))
    labels = {value: str(label) for value, label in UnitStatus.choices}
    now = timezone.now()
    rows = []
    for unit in units:
        building = unit.building
        shown = unit.effective_status(now)
        kind = ""
        if unit.kind != UnitKind.APARTMENT:
            kind = f' <span class="muted small">{escape(unit.get_kind_display())}</span>'
        if unit.rooms == 0:
            rooms = studio
        elif unit.rooms:
            rooms = escape(localize(unit.rooms))
        else:
            rooms = none
        if unit.price:
            price, per_m2 = escape(money(unit.price)), escape(money(unit.price_per_m2))
        else:
            price = per_m2 = none
        completion = "—"
        if building.completion_date:
            completion = escape(date_format(building.completion_date, "SHORT_DATE_FORMAT"))
        rows.append(
            "\n          <tr>"
            f"\n            <td>{escape(building.project.name)}</td>"
            f"\n            <td>{escape(building.name)}</td>"
            f'\n            <td class="num">{escape(localize(unit.section.number))}</td>'
            f'\n            <td class="num">{escape(unit.floor.label)}</td>'
            f'\n            <td class="nowrap"><a class="strong" href="{head}{unit.pk}{tail}">'
            f"{escape(unit.number)}</a>{kind}</td>"
            f'\n            <td class="muted nowrap">{escape(unit.code)}</td>'
            f'\n            <td class="num">{rooms}</td>'
            f'\n            <td class="num">{escape(area(unit.total_area))}</td>'
            f'\n            <td class="num strong">{price}</td>'
            f'\n            <td class="num">{per_m2}</td>'
            f'\n            <td class="num">{completion}</td>'
            f'\n            <td><span class="badge st-{escape(shown)}">'
            f"{escape(labels[shown])}</span>\n</td>"
            "\n          </tr>\n          "
        )
    return mark_safe("".join(rows))


@require(INVENTORY_VIEW)
def unit_list(request):
    form, units = search_units(request.GET)
    summary = totals(units)
    # already counted with the sums: one query fewer
    page = paginate(request, units, PER_PAGE, count=summary.count)
    sort = form.cleaned_data.get("sort", "") if form.is_valid() else ""
    return render(
        request,
        "inventory/unit_list.html",
        {
            "form": form,
            "page": page,
            "rows": catalogue_rows(page.object_list),
            "totals": summary,
            "sort": sort,
            "sorts": sort_links(sort),
            "nav": "catalogue",
        },
    )
