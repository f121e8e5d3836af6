from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShowcaseConfig(AppConfig):
    name = "kvartal.showcase"
    verbose_name = _("Showcase")

    def ready(self) -> None:
        from kvartal.clients import extensions as client_extensions
        from kvartal.inventory import extensions as inventory_extensions

        from . import cache, office

        cache.connect()

        if office.unit_panels not in inventory_extensions.unit_panels:
            inventory_extensions.unit_panels.append(office.unit_panels)
        if office.client_panels not in client_extensions.client_panels:
            client_extensions.client_panels.append(office.client_panels)

        from . import services

        if services.erase_client_visitors not in client_extensions.erase_handlers:
            client_extensions.erase_handlers.append(services.erase_client_visitors)
