"""Recovery codes are kept only as keyed digests.

django-otp's static device stores its tokens as they are and compares them with ``=`` in
the database; we keep that device (its throttling, its one-use deletion) but put into each
token a digest of the code instead of the code: ``h$`` + 14 base-32 characters of
HMAC-SHA256 keyed by ``SECRET_KEY`` (70 bits, within the column's 16 characters). A copy of
the database alone does not give a usable code; the code itself is shown once, when issued.
A code checked after ``SECRET_KEY`` was rotated is also tried under ``SECRET_KEY_FALLBACKS``.
"""

from __future__ import annotations

from base64 import b32encode

from django.conf import settings
from django.utils.crypto import salted_hmac

PREFIX = "h$"
SALT = "kvartal.accounts.recovery-code"


def normalise(code: str) -> str:
    """What the user typed, as issued: no spaces or dashes, lower case."""
    return "".join(str(code or "").split()).replace("-", "").lower()


def digest(code: str, *, secret: str | None = None) -> str:
    """The stored form of a recovery code."""
    mac = salted_hmac(
        SALT, normalise(code), secret=secret or settings.SECRET_KEY, algorithm="sha256"
    )
    return PREFIX + b32encode(mac.digest()).decode()[:14].lower()


def digests(code: str) -> list[str]:
    """The digests ``code`` may be stored under: the current key first, then the fallbacks."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [digest(code, secret=key) for key in keys]


def is_digest(token: str) -> bool:
    return token.startswith(PREFIX)
