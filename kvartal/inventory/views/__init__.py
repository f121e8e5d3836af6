"""Inventory pages, one module per page group; every view checks a capability."""

from .browse import home, project_detail
from .catalogue import unit_list
from .chessboard import building_chessboard, unit_detail
from .editing import (
    building_create,
    building_update,
    floor_update,
    price_bulk,
    project_create,
    project_update,
    section_generate,
    unit_create,
    unit_price,
    unit_status,
    unit_update,
)
from .sheets import building_sheet, building_sheet_pdf, project_sheet, project_sheet_pdf

__all__ = [
    "building_chessboard",
    "building_create",
    "building_sheet",
    "building_sheet_pdf",
    "building_update",
    "floor_update",
    "home",
    "price_bulk",
    "project_create",
    "project_detail",
    "project_sheet",
    "project_sheet_pdf",
    "project_update",
    "section_generate",
    "unit_create",
    "unit_detail",
    "unit_list",
    "unit_price",
    "unit_status",
    "unit_update",
]
