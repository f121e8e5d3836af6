"""Field-level encryption of personal data at rest (passport data and the like).

The key comes from ``settings.FIELD_ENCRYPTION_KEY`` (env ``KVARTAL_FIELD_KEY``: a Fernet key,
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``).
When it is unset (development), a key is derived from ``SECRET_KEY`` — convenient, but then
changing the secret key makes the stored values unreadable; production sets its own key and
``check --deploy`` warns when it does not. Old keys may be listed in
``FIELD_ENCRYPTION_OLD_KEYS`` (comma-separated) so that values written with them still read.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "fernet:"


def _derived_key() -> bytes:
    digest = hashlib.sha256(b"kvartal-field-key:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@cache
def _fernet(key: str, old: str) -> MultiFernet:
    keys = [key.encode() if key else _derived_key()]
    keys += [k.strip().encode() for k in old.split(",") if k.strip()]
    return MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(
        getattr(settings, "FIELD_ENCRYPTION_KEY", ""),
        getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", ""),
    )


def encrypt(value: str) -> str:
    if not value:
        return ""
    return PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        return stored  # written before encryption was switched on
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        return ""


class EncryptedTextField(models.TextField):
    """A text field stored encrypted (Fernet: AES-128-CBC + HMAC); reads back as plain text.

    Encrypted values cannot be searched or sorted in SQL; keep such fields out of filters.
    """

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value is not None else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value


def mask(value: str, keep: int = 2) -> str:
    """``"4510 123456"`` → ``"•••• ••••56"``: the shape without the content."""
    if not value:
        return ""
    shown = value[-keep:] if len(value) > keep else ""
    hidden = "".join("•" if ch.strip() else ch for ch in value[: len(value) - len(shown)])
    return hidden + shown
