from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "kvartal.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from kvartal.inventory import extensions

        from . import selectors

        # --- holds ---
        extensions.chessboard_marks.append(selectors.expiring_marks)
        extensions.unit_panels.append(selectors.unit_hold_panels)
        extensions.unit_timeline.append(selectors.unit_hold_timeline)

        # --- deals ---
        extensions.unit_panels.append(selectors.deal_unit_panels)
        extensions.unit_timeline.append(selectors.deal_unit_timeline)

        # --- clients ---
        from kvartal.clients import extensions as client_extensions

        from .services import clients as client_sales

        client_extensions.merge_handlers.append(client_sales.merge_client_sales)
        client_extensions.export_providers.append(client_sales.export_client_sales)
        client_extensions.erase_handlers.append(client_sales.erase_client_sales)

        # --- payments and promotions ---
        extensions.chessboard_marks.append(selectors.payment_marks)
        extensions.chessboard_marks.append(selectors.promotion_marks)
        extensions.unit_panels.append(selectors.payment_unit_panels)
