from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kvartal.core"
    label = "core"
    verbose_name = _("Settings")

    def ready(self) -> None:
        # Every app's menu entries (kvartal/<app>/nav.py; see kvartal.core.nav).
        autodiscover_modules("nav")
