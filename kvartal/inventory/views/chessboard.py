"""The chessboard of a building and the unit card (full page, or a side panel over the board)."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from kvartal.accounts.permissions import INVENTORY_EDIT, INVENTORY_VIEW, has_capability, require

from .. import extensions, selectors
from ..forms import BoardFilterForm
from ..models import Building, Unit, UnitStatus
from ..presenters import board_grids, board_marks, card_unit, unit_marks
from ..search import QUICK_WIDGETS
from ..services import manual_statuses_for


def _partial_wanted(request) -> bool:
    """An htmx swap gets the fragment; a history restore (no cached page) gets the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _with_vary(response):
    # The same URL answers with a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require(INVENTORY_VIEW)
def building_chessboard(request, pk: int):
    try:
        building = selectors.board_building(pk)
    except Building.DoesNotExist:
        raise Http404 from None
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
    marks = unit_marks([card_unit(unit)]).get(unit.pk, [])
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
