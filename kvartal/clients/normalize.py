"""Normalising phones and e-mails, so that duplicates are found whatever the spelling.

Phones are kept in E.164 (``+79123456789``). Russian numbers written with a leading 8 or
without the country code are read as +7; any other number must be written with its ``+``
country code. What cannot be read is refused with a message (``ValidationError``).
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

_SEPARATORS = re.compile(r"[\s\-().]")
_EXTENSION = re.compile(r"(доб|ext|x)\.?\s*\d+$", re.IGNORECASE)


def normalize_phone(raw: str) -> str:
    """``"8 (912) 345-67-89"`` → ``"+79123456789"``; ``""`` stays ``""``.

    Raises ``ValidationError`` for anything that is not a phone number.
    """
    value = (raw or "").strip()
    if not value:
        return ""
    value = _EXTENSION.sub("", value).strip()
    compact = _SEPARATORS.sub("", value)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not digits.isdigit():
        raise ValidationError(
            _("“%(value)s” is not a phone number: use digits, spaces, brackets and dashes."),
            code="phone",
            params={"value": raw},
        )
    if not plus:
        if len(digits) == 11 and digits[0] in "78":
            digits = "7" + digits[1:]
        elif len(digits) == 10 and digits[0] == "9":
            digits = "7" + digits
        else:
            raise ValidationError(
                _(
                    "“%(value)s” is not a Russian phone number; write another country's "
                    "number with + and its code."
                ),
                code="phone",
                params={"value": raw},
            )
    if digits.startswith("7") and len(digits) != 11:
        raise ValidationError(
            _("“%(value)s”: a Russian number has 10 digits after +7."),
            code="phone",
            params={"value": raw},
        )
    if not 8 <= len(digits) <= 15:
        raise ValidationError(
            _("“%(value)s” has too few or too many digits for a phone number."),
            code="phone",
            params={"value": raw},
        )
    return "+" + digits


def normalize_email(raw: str) -> str:
    """Trimmed and lower-cased; ``""`` stays ``""``. Raises ``ValidationError`` if invalid."""
    value = (raw or "").strip().lower()
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not an e-mail address."), code="email", params={"value": raw}
        ) from None
    return value


def format_phone(value: str) -> str:
    """``+79123456789`` → ``+7 912 345-67-89`` for display; other numbers as stored."""
    if value and value.startswith("+7") and len(value) == 12:
        d = value[2:]
        return f"+7 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}"
    return value
