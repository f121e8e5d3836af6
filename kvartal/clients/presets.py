"""The lead channels shipped with Kvartal (editable afterwards). Names are marked for
translation and shown through ``gettext`` (``Channel.__str__``)."""

from django.utils.translation import gettext_noop

CHANNELS = [
    ("site", gettext_noop("Website")),
    ("call", gettext_noop("Call")),
    ("walk_in", gettext_noop("Walk-in")),
    ("agency", gettext_noop("Agency")),
    ("yandex", gettext_noop("Yandex")),
    ("avito", gettext_noop("Avito")),
    ("cian", gettext_noop("CIAN")),
    ("domclick", gettext_noop("DomClick")),
    ("referral", gettext_noop("Referral")),
    ("other", gettext_noop("Other")),
]


def install(apps=None) -> None:
    """Create the shipped channels where missing (idempotent)."""
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    Channel = apps.get_model("clients", "Channel")
    for order, (code, name) in enumerate(CHANNELS, start=1):
        Channel.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})
