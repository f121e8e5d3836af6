from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PricingConfig(AppConfig):
    name = "kvartal.pricing"
    verbose_name = _("Pricing")

    def ready(self) -> None:
        from kvartal.analytics.dashboard import register_block
        from kvartal.analytics.periods import Step
        from kvartal.inventory import extensions

        from . import reports  # noqa: F401  (registers the plan-fact report)
        from .models import SalesPlan
        from .services import bulk_change_propose

        register_block(
            "plan-fact", _("Sales plan this year"), "year", Step.MONTH, True, versioned=[SalesPlan]
        )
        if bulk_change_propose not in extensions.bulk_price_proposers:
            extensions.bulk_price_proposers.append(bulk_change_propose)
