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
import logging
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "fernet:"
logger = logging.getLogger(__name__)


class Unreadable(str):
    """A stored value the current keys cannot decrypt (a wrong or rotated-away key).

    It reads as a visible marker, never as ``""``, and keeps the ciphertext: saving the row
    writes the ciphertext back unchanged, so a key mistake never destroys the data. The
    services leave a field alone when a form sends the marker back (``is_unreadable``).
    """

    MARKER = "[encrypted with another key: cannot be read]"

    def __new__(cls, stored: str):
        obj = super().__new__(cls, cls.MARKER)
        obj.stored = stored
        return obj


def is_unreadable(value) -> bool:
    """The value is (or a form sent back) the marker of an undecryptable field."""
    return isinstance(value, Unreadable) or value == Unreadable.MARKER


def check_keys(key: str, old: str) -> str | None:
    """``None`` when the configured keys are usable Fernet keys, else what is wrong."""
    for name, value in (
        ("KVARTAL_FIELD_KEY", key),
        *(("KVARTAL_FIELD_OLD_KEYS", k) for k in old.split(",")),
    ):
        value = value.strip()
        if not value:
            continue
        try:
            Fernet(value.encode())
        except (ValueError, TypeError) as error:
            return f"{name}: {error}"
    return None


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
        logger.error("An encrypted field cannot be decrypted with the configured keys.")
        return Unreadable(stored)


class EncryptedTextField(models.TextField):
    """A text field stored encrypted (Fernet: AES-128-CBC + HMAC); reads back as plain text.

    Encrypted values cannot be searched or sorted in SQL; keep such fields out of filters.
    """

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value is not None else value

    def get_prep_value(self, value):
        if isinstance(value, Unreadable):
            return value.stored  # written back unchanged: never lose the ciphertext
        value = super().get_prep_value(value)
        return encrypt(value) if value else value


def mask(value: str, keep: int = 2) -> str:
    """``"4510 123456"`` → ``"•••• ••••56"``: the shape without the content."""
    if not value:
        return ""
    shown = value[-keep:] if len(value) > keep else ""
    hidden = "".join("•" if ch.strip() else ch for ch in value[: len(value) - len(shown)])
    return hidden + shown
