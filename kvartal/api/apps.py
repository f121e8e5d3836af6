from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kvartal.api"
    label = "api"

    def ready(self):
        from . import webhooks  # noqa: F401 - connects the event signals
