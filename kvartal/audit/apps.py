from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "kvartal.audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from .hooks import track_loading
        from .signals import connect

        connect()
        track_loading()
