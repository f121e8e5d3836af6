import gc

from django.apps import AppConfig
from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kvartal.core"
    label = "core"
    verbose_name = _("Settings")

    def ready(self) -> None:
        # Every app's menu entries (kvartal/<app>/nav.py; see kvartal.core.nav).
        autodiscover_modules("nav")
        # The cyclic garbage collector's first generation (KVARTAL_GC_THRESHOLD). A page that
        # makes its thousand cells (the chessboard) ran Python's default of 700 several times
        # and, every hundredth run, a full pass over every object of the process: 17.3–18.1 ms
        # a chessboard on average against 15.0 ms with 10 000, in one process; the median
        # request, rarely hit by a full pass, moves little (docs/notes/trust.md).
        if settings.KVARTAL_GC_THRESHOLD > 0:
            _first, second, third = gc.get_threshold()
            gc.set_threshold(settings.KVARTAL_GC_THRESHOLD, second, third)
