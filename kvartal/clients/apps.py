from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class ClientsConfig(AppConfig):
    name = "kvartal.clients"
    label = "clients"
    verbose_name = _("Clients")

    def ready(self):
        checks.register(field_key_check, checks.Tags.security, deploy=True)


def field_key_check(app_configs=None, **kwargs):
    """Production must set its own key for personal data at rest."""
    from django.conf import settings

    if not settings.FIELD_ENCRYPTION_KEY:
        return [
            checks.Warning(
                "KVARTAL_FIELD_KEY is not set: passport data is encrypted with a key derived "
                "from the secret key.",
                hint="Generate one with cryptography.fernet.Fernet.generate_key() and keep "
                "it apart from the database backups.",
                id="kvartal.W001",
            )
        ]
    return []
