from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "kvartal.ops"

    def ready(self):
        from kvartal.ops import checks  # noqa: F401 - registers the deployment check
