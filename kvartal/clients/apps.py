from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class ClientsConfig(AppConfig):
    name = "kvartal.clients"
    label = "clients"
    verbose_name = _("Clients")

    def ready(self):
        checks.register(field_key_check, checks.Tags.security, deploy=True)
        checks.register(field_key_valid_check, checks.Tags.security)


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


def field_key_valid_check(app_configs=None, **kwargs):
    """A set key must be a Fernet key: a typo would otherwise surface as unreadable
    passport data (or a crash) at the first read, not at start-up."""
    from django.conf import settings

    from .crypto import check_keys

    problem = check_keys(
        getattr(settings, "FIELD_ENCRYPTION_KEY", ""),
        getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", ""),
    )
    if problem:
        return [
            checks.Error(
                f"The field-encryption key is not a valid Fernet key ({problem}).",
                hint="A Fernet key is 32 url-safe base64-encoded bytes: generate one with "
                "cryptography.fernet.Fernet.generate_key().",
                id="kvartal.E001",
            )
        ]
    return []
