"""The chessboard of a building and the unit card (full page, or a side panel over the board)."""

from collections import defaultdict
from collections.abc import Iterable
from html import escape

from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import INVENTORY_EDIT, INVENTORY_VIEW, has_capability, require

from .. import extensions, selectors
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


def unit_marks(unit_ids: Iterable[int], now=None) -> dict[int, list[extensions.CellMark]]:
    """What the registered ``extensions.chessboard_marks`` providers add to these units
    (a constant number of queries per provider)."""
    if not extensions.chessboard_marks:
        return {}
    ids = list(unit_ids)
    now = now or timezone.now()
    merged: dict[int, list[extensions.CellMark]] = defaultdict(list)
    for provider in extensions.chessboard_marks:
        for pk, marks in provider(ids, now).items():
            merged[pk].extend(marks)
    return merged


def board_marks(board: selectors.Board) -> dict[int, list[extensions.CellMark]]:
    """The marks of the board's cells; none on a board of the past (``as_of``)."""
    if board.as_of is not None:
        return {}
    return unit_marks(c.id for s in board.sections for r in s.rows for c in r.cells if c)


def board_grids(
    board: selectors.Board, *, floor_links: bool, marks: dict | None = None
) -> list[tuple[selectors.SectionBoard, SafeString]]:
    """Each shown section with the rows of its grid as ready HTML (``<tr>…</tr>`` lines).

    A big building has a thousand cells and more; printed by the template engine they cost
    most of the page's time, so they are written here, markup for markup what the template
    wrote before. Every text is escaped (``html.escape`` is what ``django.utils.html.escape``
    runs, without its lazy-string wrapper); areas, prices, tags and classes repeat from cell
    to cell and are escaped once each. ``floor_links``: floor labels link to the floor's page.
    ``marks``: unit id → ``CellMark``s (extra classes and tooltip lines, ``board_marks``).
    """
    marks = marks or {}
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
                css, title = c.css, c.title
                if extra := marks.get(c.id):
                    css = " ".join([css, *(m.css for m in extra)])
                    title = " · ".join([title, *(m.title for m in extra if m.title)])
                html.append(
                    f'<td class="{once(css)}"><a href="{url}" hx-get="{url}" '
                    f'title="{escape(title)}"><b>{escape(c.number)}</b>'
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
    board = selectors.chessboard(building, form.filters(), as_of=form.as_of_date())
    form.set_sections(board.section_choices)
    context = {
        "building": building,
        "board": board,
        "grids": board_grids(
            board,
            floor_links=has_capability(request.user, INVENTORY_EDIT),
            marks=board_marks(board),
        ),
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
    history = selectors.unit_history(unit, user=request.user)
    order = UnitStatus.values
    statuses = sorted(manual_statuses_for(unit), key=order.index)
    status = unit.effective_status()  # a hold that ran out reads as available at once
    marks = unit_marks([unit.pk]).get(unit.pk, [])
    panels = sorted(
        (panel for provider in extensions.unit_panels for panel in provider(request, unit)),
        key=lambda panel: panel.order,
    )
    context = {
        "unit": unit,
        "status": status,
        "status_label": UnitStatus(status).label,
        "marks": marks,
        "mark_classes": " ".join(m.css for m in marks),
        "panels": [
            render_to_string(panel.template, panel.context, request=request) for panel in panels
        ],
        "section_title": selectors.section_title(
            unit.building, unit.section.number, unit.section.name
        ),
        "history": history,
        "manual_statuses": [(s, UnitStatus(s).label) for s in statuses],
        # The price service refuses units in a deal and sold ones; the form says so up front.
        # A live hold keeps its price: a new one waits (``pending_price``); a hold that has
        # run out leaves the unit on sale, its price set at once.
        "price_locked": unit.status in (UnitStatus.IN_DEAL, UnitStatus.SOLD),
        "price_pending": unit.status == UnitStatus.RESERVED and status == UnitStatus.RESERVED,
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
