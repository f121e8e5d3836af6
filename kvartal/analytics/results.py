"""What a report returns: figures, tables and charts — plain data, no HTML.

The page, the Excel workbook, the PDF and the shared link all render the same ``Result``;
a chart is always drawn from the rows of a table of the same result, so the two never
disagree. Values are raw Python (``int``, ``Decimal``, ``date``, ``datetime``, ``str``,
``None``); ``Column.kind`` says how to show them (``format_value``).
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext_lazy as _

# How a value is shown: text as is; int grouped; number (days, months, hours) one decimal;
# money whole roubles grouped; area m² with two decimals; price_m2 whole roubles per m²;
# percent one decimal and "%"; date; datetime.
KINDS = ("text", "int", "number", "money", "area", "price_m2", "percent", "date", "datetime")
NUMERIC = {"int", "number", "money", "area", "price_m2", "percent"}


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    total: dict | None = None  # a footer row, same keys as the rows (missing keys blank)
    empty: str = ""  # said when there are no rows

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass
class Series:
    name: str
    values: list  # one per label; None where there is no value


@dataclass
class Chart:
    key: str
    title: str
    labels: list[str]
    series: list[Series]
    kind: str = ""  # "bar" | "line"; "" = the company's chosen chart style
    value_kind: str = "int"  # a Column kind, for the axis


@dataclass
class Figure:
    label: str
    value: object
    kind: str = "int"
    note: str = ""


@dataclass
class Result:
    title: str
    subtitle: str = ""  # the period, step and filters in words
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    landscape: bool = False  # the PDF page
    computed_at: datetime = field(default_factory=timezone.now)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def format_value(value, kind: str) -> str:
    """A value as the pages and the PDF show it (the workbook keeps numbers as numbers)."""
    if value is None or value == "":
        return "—"
    if kind == "int":
        return number_format(int(value), 0, force_grouping=True)
    if kind == "number":
        return number_format(Decimal(value).quantize(Decimal("0.1")), 1, force_grouping=True)
    if kind in ("money", "price_m2"):
        return number_format(Decimal(value).quantize(Decimal("1")), 0, force_grouping=True)
    if kind == "area":
        return number_format(Decimal(value).quantize(Decimal("0.01")), 2, force_grouping=True)
    if kind == "percent":
        return number_format(Decimal(value).quantize(Decimal("0.1")), 1) + " %"
    if kind == "date" and isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if kind == "datetime" and isinstance(value, datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    return str(value)


UNIT_LABELS = {
    "money": _("₽"),
    "price_m2": _("₽/m²"),
    "area": _("m²"),
    "percent": "%",
}
