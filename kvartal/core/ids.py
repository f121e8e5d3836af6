"""Row ids typed or passed in a query string or a form: one reading for every door."""

# Ids beyond a 64-bit integer never exist, and databases refuse them with an error.
MAX_ID = 2**63 - 1


def parse_id(value) -> int | None:
    """The id ``value`` names, or None when it names none: ASCII digits only (``"²"`` is a
    digit to ``str.isdigit`` but not to ``int``, and would give a 500), 1 … ``MAX_ID``."""
    text = value.strip() if isinstance(value, str) else str(value) if value is not None else ""
    if not text or len(text) > 19 or not (text.isascii() and text.isdecimal()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
