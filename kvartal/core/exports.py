"""Text that leaves Kvartal in a file a spreadsheet opens."""

# A cell starting with one of these is a formula to Excel and LibreOffice ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value) -> str:
    """``value`` as a CSV cell that a spreadsheet shows as text, never runs: a leading
    formula character gets an apostrophe before it (which the spreadsheet hides)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
