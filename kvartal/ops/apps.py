from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "kvartal.ops"

    def ready(self):
        from kvartal.clients import extensions as client_extensions
        from kvartal.ops import checks  # noqa: F401 - registers the deployment check
        from kvartal.ops.notifications import erase_client_deliveries

        client_extensions.erase_handlers.append(erase_client_deliveries)
