from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgenciesConfig(AppConfig):
    name = "kvartal.agencies"
    verbose_name = _("Agencies and commissions")

    def ready(self) -> None:
        from kvartal.accounts import scoping
        from kvartal.clients import extensions
        from kvartal.sales import signals

        from . import commissions, services

        scoping.agency_of = services.agency_of
        extensions.lead_checks.append(services.check_lead_phone)
        extensions.merge_handlers.append(services.merge_client_fixations)
        extensions.erase_handlers.append(services.erase_client_fixations)
        signals.payment_recorded.connect(commissions.on_payment, dispatch_uid="agencies.payment")
        signals.deal_moved.connect(commissions.on_deal_moved, dispatch_uid="agencies.deal")
        from . import reports  # noqa: F401  (registers the commissions report with analytics)
