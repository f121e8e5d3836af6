"""The lead channels shipped with Kvartal (editable afterwards). Names are marked for
translation and shown through ``gettext`` (``Channel.__str__``)."""

from django.utils.translation import gettext_noop as N_

CHANNELS = [
    ("site", N_("Website")),
    ("call", N_("Call")),
    ("walk_in", N_("Walk-in")),
    ("agency", N_("Agency")),
    ("yandex", N_("Yandex")),
    ("avito", N_("Avito")),
    ("cian", N_("CIAN")),
    ("domclick", N_("DomClick")),
    ("referral", N_("Referral")),
    ("other", N_("Other")),
]


def install(apps=None) -> None:
    """Create the shipped channels where missing (idempotent)."""
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    Channel = apps.get_model("clients", "Channel")
    for order, (code, name) in enumerate(CHANNELS, start=1):
        Channel.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})
