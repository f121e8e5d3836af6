from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo and benchmark data sets. At the top of the dependency chain: it writes
    through every app's services (inventory, clients, sales)."""

    name = "kvartal.demo"
    label = "demo"
    verbose_name = "Demo data"
