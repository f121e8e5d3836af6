"""A price list as an .xlsx workbook: the keeper downloads it, edits it in a spreadsheet and
uploads it back; the upload replaces the list's settings, base prices and coefficients and
becomes a batch awaiting approval (``services.price_list_upload``).

Three sheets, read by their order (their names follow the language of the download):

1. the settings — one row per setting: key, value, meaning (the building and the section
   are shown, not read: a list stays with its building);
2. the base prices per m² — ``kind``, ``rooms``, ``per_m2``;
3. the coefficients — ``kind``, ``value``, ``area_from``, ``area_to``, ``percent``.

Every cell is checked; the errors name the sheet, the row and the column.
"""

import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.inventory.models import Finishing, UnitKind, WindowView

from .models import FactorKind, PriceList, StepMode
from .transfer import Col, ImportFileError, _cell, _text

SETTINGS = [
    Col("name", gettext_lazy("Name"), required=True),
    Col("step_from_floor", gettext_lazy("Floor step from floor"), "int", True),
    Col("step_mode", gettext_lazy("Floor step in"), "choice", True, tuple(StepMode.values)),
    Col("step_value", gettext_lazy("Floor step"), "decimal"),
    Col("min_per_m2", gettext_lazy("Floor price per m², ₽"), "decimal"),
    Col("round_to", gettext_lazy("Round to, ₽"), "decimal", True),
]
SHOWN = ("building", "section")  # written for the reader, never read back
RATES = [
    Col("kind", gettext_lazy("Kind"), "choice", True, tuple(UnitKind.values)),
    Col("rooms", gettext_lazy("Rooms"), "int"),
    Col("per_m2", gettext_lazy("Base price per m², ₽"), "decimal", True),
]
FACTORS = [
    Col("kind", gettext_lazy("Applies to"), "choice", True, tuple(FactorKind.values)),
    Col("value", gettext_lazy("Value")),
    Col("area_from", gettext_lazy("Area from, m²"), "decimal"),
    Col("area_to", gettext_lazy("Area below, m²"), "decimal"),
    Col("percent", gettext_lazy("Change, %"), "decimal", True),
]
FACTOR_VALUES = {
    FactorKind.VIEW: tuple(WindowView.values),
    FactorKind.FINISHING: tuple(Finishing.values),
}


def _sheet_names() -> list[str]:
    return [str(_("Price list")), str(_("Base prices")), str(_("Coefficients"))]


def write(price_list: PriceList) -> bytes:
    """The list as a workbook (numbers as numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    names = _sheet_names()
    bold = Font(bold=True)
    settings = book.active
    settings.title = names[0]
    settings.append([str(_("Setting")), str(_("Value")), str(_("Meaning"))])
    settings.append(["building", str(price_list.building), str(_("Shown only: not read back"))])
    settings.append(["section", str(price_list.section or ""), str(_("Shown only: not read back"))])
    for col in SETTINGS:
        value = getattr(price_list, col.key)
        settings.append([col.key, _number(value), str(col.label)])
    rates = book.create_sheet(names[1])
    rates.append([c.key for c in RATES])
    for r in price_list.rates.all():
        rates.append([r.kind, r.rooms, _number(r.per_m2)])
    factors = book.create_sheet(names[2])
    factors.append([c.key for c in FACTORS])
    for f in price_list.factors.all():
        factors.append(
            [f.kind, f.value, _number(f.area_from), _number(f.area_to), _number(f.percent)]
        )
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.font = bold
        sheet.column_dimensions["A"].width = 18
        sheet.column_dimensions["B"].width = 18
        sheet.column_dimensions["C"].width = 30
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value):
    return float(value) if isinstance(value, Decimal) else value


@dataclass
class Parsed:
    settings: dict = field(default_factory=dict)
    rates: list[dict] = field(default_factory=list)
    factors: list[dict] = field(default_factory=list)
    errors: list[tuple[str, int, str, str]] = field(default_factory=list)  # sheet, row, col, msg
    sheets: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        return [
            _("Sheet “%(sheet)s”, row %(row)s, %(column)s: %(message)s")
            % {"sheet": sheet, "row": row, "column": column, "message": message}
            for sheet, row, column, message in self.errors
        ]


def _table(sheet, columns: list[Col], name: str, parsed: Parsed) -> list[dict]:
    rows = sheet.iter_rows(values_only=True)
    head = [_text(v).lower() for v in next(rows, [])]
    keys = {c.key: c for c in columns} | {str(c.label).lower(): c for c in columns}
    index = {keys[h].key: i for i, h in enumerate(head) if h in keys}
    missing = [c.key for c in columns if c.required and c.key not in index]
    if missing:
        parsed.errors.append((name, 1, ", ".join(missing), str(_("Column missing."))))
        return []
    found = []
    for number, raw in enumerate(rows, start=2):
        if not any(_text(v) for v in raw):
            continue
        values = {}
        for col in columns:
            i = index.get(col.key)
            try:
                values[col.key] = _cell(col, raw[i] if i is not None and i < len(raw) else None)
            except ValueError as error:
                parsed.errors.append((name, number, col.key, str(error)))
        values["_row"] = number
        found.append(values)
    return found


def read(stream) -> Parsed:
    """The settings, base prices and coefficients of an uploaded workbook, and every cell's
    error. Raises ``ImportFileError`` when it is not a workbook of three sheets."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise ImportFileError(_("This is not a readable .xlsx workbook.")) from error
    if len(book.worksheets) < 3:
        raise ImportFileError(
            _("A price list file has three sheets: settings, base prices, coefficients.")
        )
    settings_sheet, rates_sheet, factors_sheet = book.worksheets[:3]
    parsed = Parsed(sheets=[s.title for s in book.worksheets[:3]])
    known = {c.key: c for c in SETTINGS}
    for number, raw in enumerate(settings_sheet.iter_rows(values_only=True), start=1):
        key = _text(raw[0] if raw else None)
        if number == 1 or not key or key in SHOWN:
            continue
        col = known.get(key)
        if col is None:
            parsed.errors.append((settings_sheet.title, number, key, str(_("Unknown setting."))))
            continue
        try:
            parsed.settings[key] = _cell(col, raw[1] if len(raw) > 1 else None)
        except ValueError as error:
            parsed.errors.append((settings_sheet.title, number, key, str(error)))
    for col in SETTINGS:
        if col.required and col.key not in parsed.settings:
            parsed.errors.append((settings_sheet.title, 0, col.key, str(_("Required."))))
    parsed.rates = _table(rates_sheet, RATES, rates_sheet.title, parsed)
    parsed.factors = _table(factors_sheet, FACTORS, factors_sheet.title, parsed)
    for f in parsed.factors:
        allowed = FACTOR_VALUES.get(f.get("kind"))
        if allowed and f.get("value") not in allowed:
            parsed.errors.append(
                (
                    factors_sheet.title,
                    f["_row"],
                    "value",
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": f.get("value") or "", "choices": ", ".join(allowed)},
                )
            )
    seen: dict[tuple, int] = {}
    for r in parsed.rates:
        key = (r.get("kind"), r.get("rooms") if r.get("kind") == UnitKind.APARTMENT else None)
        if key in seen:
            parsed.errors.append(
                (
                    rates_sheet.title,
                    r["_row"],
                    "rooms",
                    _("The same kind and rooms as row %(row)s.") % {"row": seen[key]},
                )
            )
        seen.setdefault(key, r["_row"])
        if r.get("per_m2") is not None and r["per_m2"] <= 0:
            parsed.errors.append(
                (
                    rates_sheet.title,
                    r["_row"],
                    "per_m2",
                    str(_("A base price per m² must be greater than zero.")),
                )
            )
    book.close()
    return parsed
