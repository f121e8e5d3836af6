"""The chessboard of a building and the unit card (full page, or a side panel over the board)."""

from html import escape

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import INVENTORY_EDIT, INVENTORY_VIEW, has_capability, require

from .. import selectors
from ..forms import BoardFilterForm
from ..models import Building, Unit, UnitStatus
from ..search import QUICK_WIDGETS
from ..services import manual_statuses_for


def _partial_wanted(request) -> bool:
    """An htmx swap gets the fragment; a history restore (no cached page) gets the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _with_vary(response):
    # The same URL answers with a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def board_grids(
    board: selectors.Board, *, floor_links: bool
) -> list[tuple[selectors.SectionBoard, SafeString]]:
    """Each shown section with the rows of its grid as ready HTML (``<tr>…</tr>`` lines).

    A big building has a thousand cells and more; printed by the template engine they cost
    most of the page's time, so they are written here, markup for markup what the template
    wrote before. Every text is escaped (``html.escape`` is what ``django.utils.html.escape``
    runs, without its lazy-string wrapper); areas, prices, tags and classes repeat from cell
    to cell and are escaped once each. ``floor_links``: floor labels link to the floor's page.
    """
    memo: dict[str, str] = {}

    def once(text: str) -> str:
        html = memo.get(text)
        if html is None:
            html = memo[text] = escape(text)
        return html

    floor_url = None
    if floor_links:
        marker = 987654321
        head, tail = reverse("inventory:floor-update", kwargs={"pk": marker}).split(str(marker))
        head, tail = escape(head), escape(tail)
        floor_title = escape(_("Floor plan and units"))

        def floor_url(floor_id: int, label: str) -> str:
            return f'<a href="{head}{floor_id}{tail}" title="{floor_title}">{label}</a>'

    void = '<td class="cell void"></td>'
    grids = []
    for section in board.sections:
        lines = []
        for row in section.rows:
            html = ["<tr>"]
            if row.span:
                label = escape(row.label)
                if floor_url is not None:
                    label = floor_url(row.floor_id, label)
                html.append(f'<th scope="row" rowspan="{row.span}">{label}</th>')
            for c in row.cells:
                if c is None:
                    html.append(void)
                    continue
                url = escape(c.url)
                area = f"{once(c.area)}<br>" if c.area else ""
                html.append(
                    f'<td class="{once(c.css)}"><a href="{url}" hx-get="{url}" '
                    f'title="{escape(c.title)}"><b>{escape(c.number)}</b>'
                    f'<span class="r">{once(c.tag)}</span><br>{area}{once(c.price)}</a></td>'
                )
            html.append("</tr>\n")
            lines.append("".join(html))
        grids.append((section, mark_safe("".join(lines))))
    return grids


@require(INVENTORY_VIEW)
def building_chessboard(request, pk: int):
    building = get_object_or_404(Building.objects.select_related("project"), pk=pk)
    form = BoardFilterForm(request.GET or None, parking=building.is_parking, renderer=QUICK_WIDGETS)
    board = selectors.chessboard(building, form.filters())
    form.set_sections(board.section_choices)
    context = {
        "building": building,
        "board": board,
        "grids": board_grids(board, floor_links=has_capability(request.user, INVENTORY_EDIT)),
        "form": form,
        "legend": UnitStatus.choices,
        "nav": "projects",
        "crumbs": [
            (reverse("inventory:project-detail", args=[building.project_id]), building.project),
            (None, building.name),
        ],
    }
    if _partial_wanted(request):
        return _with_vary(render(request, "inventory/building_chessboard.html#boards", context))
    return _with_vary(render(request, "inventory/building_chessboard.html", context))


@require(INVENTORY_VIEW)
def unit_detail(request, pk: int):
    unit = get_object_or_404(Unit.objects.with_place(), pk=pk)
    history = selectors.unit_history(unit)
    order = UnitStatus.values
    statuses = sorted(manual_statuses_for(unit), key=order.index)
    context = {
        "unit": unit,
        "section_title": selectors.section_title(
            unit.building, unit.section.number, unit.section.name
        ),
        "history": history,
        "manual_statuses": [(s, UnitStatus(s).label) for s in statuses],
        # The price service refuses held and sold units; the form says so up front.
        "price_locked": unit.is_price_locked,
        "nav": "projects",
        "crumbs": [
            (
                reverse("inventory:project-detail", args=[unit.building.project_id]),
                unit.building.project,
            ),
            (reverse("inventory:building-chessboard", args=[unit.building_id]), unit.building.name),
            (None, str(unit)),
        ],
    }
    if _partial_wanted(request):
        context["in_panel"] = True
        return _with_vary(render(request, "inventory/unit_detail.html#card", context))
    return _with_vary(render(request, "inventory/unit_detail.html", context))
