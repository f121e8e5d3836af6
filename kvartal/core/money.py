"""Money exact on every database.

SQLite keeps ``DecimalField`` values as REAL, so a sum of kopecks can come back as
4.7e-10 instead of 0 and a comparison with zero (or with another sum) goes wrong. Every sum
of money that is compared, grouped or filtered on in the database goes through one of these:
rounded to the kopeck in SQL, which is exact on PostgreSQL (numeric) and on SQLite
(``ROUND`` of a REAL that is a whole number of kopecks give or take 1e-9).
"""

from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, Func

MONEY_FIELD = DecimalField(max_digits=16, decimal_places=2)
_KOPECK = Decimal("0.01")


def from_sql(value) -> Decimal:
    """An amount raw SQL read rounded to the kopeck (``kopecks_sql``) as an exact Decimal:
    PostgreSQL gives one, SQLite a float that is a whole number of kopecks."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(_KOPECK)


def day_from_sql(value) -> date | None:
    """A date raw SQL read (beside the amounts): PostgreSQL gives a ``date``, SQLite its ISO
    text."""
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


def kopecks_sql(expression: str) -> str:
    """``expression`` (raw SQL of a money sum) rounded to the kopeck."""
    return f"ROUND({expression}, 2)"


class Kopecks(Func):
    """An ORM money expression rounded to the kopeck: ``Kopecks(Sum("amount"))``."""

    function = "ROUND"
    template = "%(function)s(%(expressions)s, 2)"
    output_field = MONEY_FIELD


def money_text(value, places: int = 2) -> str:
    """An amount as the page's language writes it, grouped, with the rouble sign:
    ``1 973 175,20 ₽`` in Russian, ``1,973,175.20 ₽`` in English and Chinese. For text
    made in Python (option labels of selects); templates use the ``money`` filters."""
    from django.utils.formats import number_format

    return f"{number_format(value, places, use_l10n=True, force_grouping=True)} ₽"


def number_args(places: int) -> tuple:
    """What ``django.utils.numberformat.format`` takes after the number, for the current
    language and ``places`` decimals: its separators and grouping, read once for a loop that
    writes many numbers (``number_format`` looks them up on every call)."""
    from django.utils.formats import get_format
    from django.utils.translation import get_language

    lang = get_language()
    return (
        get_format("DECIMAL_SEPARATOR", lang),
        places,
        get_format("NUMBER_GROUPING", lang),
        get_format("THOUSAND_SEPARATOR", lang),
    )
