from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedsConfig(AppConfig):
    name = "kvartal.feeds"
    verbose_name = _("Listing feeds")
