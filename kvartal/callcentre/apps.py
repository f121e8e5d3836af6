from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallcentreConfig(AppConfig):
    name = "kvartal.callcentre"
    verbose_name = _("Call centre")

    def ready(self) -> None:
        from kvartal.clients import extensions

        from . import panels

        extensions.client_panels.append(panels.client_card_panels)

        # a merged duplicate's calls move; an erasure reaches the calls and the summaries
        from . import services

        extensions.merge_handlers.append(services.merge_client_calls)
        extensions.erase_handlers.append(services.erase_client_calls)

        # the call centre's report joins the analytics registry (analytics never imports us)
        from kvartal.analytics.base import register

        from .report import CallCentreReport

        register(CallCentreReport)

        # after sign-in an operator lands on the panel (accounts' per-role start pages)
        try:
            from kvartal.accounts.start import set_start_page
        except ImportError:  # the start pages are not there yet
            return
        from kvartal.accounts.models import Role

        set_start_page(Role.OPERATOR, "callcentre:panel", "sales:client-list")
