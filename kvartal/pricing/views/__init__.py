"""Pricing pages, one module per page group; every view checks a capability."""

from .batches import batch_decide, batch_detail, index
from .dynamic import backtest_view, recommendation_list, rule_edit, rule_list
from .plan import plan_edit
from .pricelists import (
    pricelist_edit,
    pricelist_file,
    pricelist_list,
    pricelist_preview,
    pricelist_upload,
)
from .transfer import export, import_detail, import_template, import_upload, price_sheet

__all__ = [
    "export",
    "import_detail",
    "import_template",
    "import_upload",
    "price_sheet",
    "backtest_view",
    "recommendation_list",
    "rule_edit",
    "rule_list",
    "batch_decide",
    "batch_detail",
    "index",
    "plan_edit",
    "pricelist_edit",
    "pricelist_list",
    "pricelist_preview",
    "pricelist_file",
    "pricelist_upload",
]
