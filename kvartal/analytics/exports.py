"""A report's ``Result`` as an Excel workbook and as a branded PDF.

Both are drawn from the same plain data as the page. The workbook keeps numbers as numbers
and dates as dates (with number formats per ``Column.kind``), so a sales department can go on
calculating in Excel; its charts are native Excel charts over cells of the workbook. The PDF
is the page on paper: the company's logo, name and colour, the figures, the charts as SVG and
the tables formatted by ``format_value``.
"""

import math
import re
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from kvartal.core.branding import company_context as sheet_company
from kvartal.core.branding import safe_colour
from kvartal.core.models import CompanyProfile
from kvartal.core.pdf import render_pdf

from .results import NUMERIC, Chart, Column, Result, Table, format_value

# Excel number formats per Column kind. Dates and datetimes use the built-in formats 14 and 22,
# which Excel shows in the reader's own regional date format.
XLSX_FORMATS = {
    "int": "#,##0",
    "number": "#,##0.0",
    "money": "#,##0",
    "area": "#,##0.00",
    "price_m2": "#,##0",
    "percent": '0.0" %"',
    "date": "mm-dd-yy",
    "datetime": "m/d/yy h:mm",
}
SHEET_TITLE_MAX = 31
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MIN_WIDTH, MAX_WIDTH = 8, 50
CHART_KINDS = ("bar", "line")
# Widths of a chart in the PDF, in CSS px, to fill the text width of an A4 page
# (176 mm portrait, 263 mm landscape, at 96 px per inch).
PDF_CHART_SIZE = {"portrait": (660, 260), "landscape": (980, 300)}
# A report without an explicit orientation goes landscape from this many table columns.
LANDSCAPE_FROM_COLUMNS = 8
# The text width of an A4 page in characters of the tables' 8 pt DejaVu Sans (≈ 1.7 mm each),
# and the cell's padding in characters: the PDF tables' column widths are computed in these.
PDF_TABLE_CHARS = {"portrait": 104, "landscape": 155}
PDF_CELL_PADDING_CHARS = 1.5
PDF_HEAD_CHAR = 1.25  # a header character (7.5 pt bold) in the cells' characters


# --- names --------------------------------------------------------------------------------


def export_filename(key: str, ext: str, today: date | None = None) -> str:
    """A safe ASCII file name for a report export: ``sales-statistics-2026-11-24.xlsx``."""
    stem = slugify(key, allow_unicode=False) or "report"
    ext = slugify(ext, allow_unicode=False) or "bin"
    today = today or timezone.localdate()
    return f"{stem}-{today.isoformat()}.{ext}"


def sheet_title(title: str, taken: set[str]) -> str:
    """``title`` as an Excel sheet name: at most 31 characters, none of ``[]:*?/\\``, not
    starting or ending with an apostrophe, and unique (case-insensitively) among ``taken``,
    which it is added to."""
    base = SHEET_TITLE_FORBIDDEN.sub("-", " ".join(str(title).split())).strip("'").strip()
    base = base[:SHEET_TITLE_MAX].strip() or _("Sheet")
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[: SHEET_TITLE_MAX - len(suffix)].rstrip() + suffix
    taken.add(name.casefold())
    return name


# --- Excel --------------------------------------------------------------------------------


def _argb(colour: str) -> str:
    """A CSS hex colour as openpyxl's ``RRGGBB``; the default colour if it is not one."""
    colour = safe_colour(colour)
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return digits.upper()


def _cell_value(value, kind: str):
    """A value as Excel can hold it: numbers and dates as such, datetimes local and naive
    (Excel has no time zones), everything else as text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if (isinstance(value, Decimal) and not value.is_finite()) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return None  # Excel has no NaN or infinity
    if isinstance(value, date | int | float | Decimal):
        return value
    if kind in NUMERIC:
        try:
            return Decimal(str(value))
        except ArithmeticError:
            pass
    return str(value)


def _put(ws, row: int, column: int, value, kind: str = "text"):
    """Write one cell; text is always text (never a formula) and loses control characters
    Excel cannot store."""
    value = _cell_value(value, kind)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # "=HYPERLINK(…)" in a client's name stays a name
    elif isinstance(value, datetime):
        cell.number_format = XLSX_FORMATS["datetime"]
    elif isinstance(value, date):
        cell.number_format = XLSX_FORMATS["date"]
    elif value is not None and kind in NUMERIC:
        cell.number_format = XLSX_FORMATS[kind]
    return cell


def _shown_width(value, kind: str) -> int:
    if value is None or value == "":
        return 0
    try:
        text = format_value(value, kind) if kind != "text" else str(value)
    except (TypeError, ValueError, ArithmeticError):  # not a number after all
        text = str(value)
    return max(len(line) for line in text.splitlines() or [""])


def _fit_columns(ws, widths: dict[int, int]) -> None:
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, width + 2)
        )


def _summary_sheet(ws, result: Result, colour: str) -> None:
    ws.cell(row=1, column=1, value=str(result.title)).font = Font(bold=True, size=14, color=colour)
    row = 2
    if result.subtitle:
        _put(ws, row, 1, result.subtitle).font = Font(italic=True, color="6B7785")
        row += 1
    _put(ws, row, 1, _("Computed at"))
    _put(ws, row, 2, result.computed_at, "datetime")
    widths = {1: len(_("Computed at")), 2: _shown_width(result.computed_at, "datetime")}
    row += 2
    for figure in result.figures:
        _put(ws, row, 1, figure.label).font = Font(bold=True)
        _put(ws, row, 2, figure.value, figure.kind)
        widths[1] = max(widths[1], len(str(figure.label)))
        widths[2] = max(widths[2], _shown_width(figure.value, figure.kind))
        if figure.note:
            _put(ws, row, 3, figure.note).font = Font(color="6B7785")
            widths[3] = max(widths.get(3, 0), len(str(figure.note)))
        row += 1
    if result.notes:
        row += 1
        for note in result.notes:
            _put(ws, row, 1, note).font = Font(italic=True, color="6B7785")
            row += 1
    _fit_columns(ws, widths)


def _table_sheet(ws, table: Table, colour: str) -> None:
    columns: list[Column] = table.columns
    fill = PatternFill(fill_type="solid", fgColor=colour)
    widths = {}
    for i, column in enumerate(columns, start=1):
        cell = _put(ws, 1, i, column.label)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(
            horizontal="right" if column.numeric else "left", vertical="center", wrap_text=True
        )
        widths[i] = min(len(str(column.label)), 24)  # long headers wrap instead
    ws.freeze_panes = "A2"

    row = 2
    for data in table.rows:
        for i, column in enumerate(columns, start=1):
            value = data.get(column.key)
            _put(ws, row, i, value, column.kind)
            widths[i] = max(widths[i], _shown_width(value, column.kind))
        row += 1
    if columns and table.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{row - 1}"
    elif not table.rows and table.empty:
        _put(ws, row, 1, table.empty).font = Font(italic=True, color="6B7785")
        row += 1

    if table.total:
        line = Border(top=Side(style="thin", color="1D2733"))
        for i, column in enumerate(columns, start=1):
            value = table.total.get(column.key)
            cell = _put(ws, row, i, value, column.kind)
            cell.font = Font(bold=True)
            cell.border = line
            widths[i] = max(widths[i], _shown_width(value, column.kind))
    _fit_columns(ws, widths)


def _chart_sheet(ws, chart: Chart, kind: str, palette: list[str]) -> None:
    """The chart's labels and series as cells, and a native chart over them."""
    for j, series in enumerate(chart.series, start=2):
        _put(ws, 1, j, series.name).font = Font(bold=True)
    for i, label in enumerate(chart.labels, start=2):
        _put(ws, i, 1, label)
        for j, series in enumerate(chart.series, start=2):
            value = series.values[i - 2] if i - 2 < len(series.values) else None
            _put(ws, i, j, value, chart.value_kind)
    widths = {1: max([len(str(label)) for label in chart.labels] + [0])}
    widths.update({j: max(len(str(s.name)), 10) for j, s in enumerate(chart.series, start=2)})
    _fit_columns(ws, widths)
    if not chart.series or not chart.labels:
        return

    native = LineChart() if kind == "line" else BarChart()
    if kind != "line":
        native.type = "col"
        native.gapWidth = 60
    native.title = str(chart.title)
    native.style = 10
    native.width, native.height = 24, 11  # cm
    last_row = len(chart.labels) + 1
    data = Reference(ws, min_col=2, max_col=len(chart.series) + 1, min_row=1, max_row=last_row)
    native.add_data(data, titles_from_data=True)
    native.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last_row))
    native.y_axis.numFmt = XLSX_FORMATS.get(chart.value_kind, "General")
    # openpyxl 3.1 marks axes as deleted unless told otherwise; Excel then hides them.
    native.x_axis.delete = False
    native.y_axis.delete = False
    native.legend.position = "b"
    for n, series in enumerate(native.series):
        colour = _argb(palette[n % len(palette)]) if palette else _argb("")
        if kind == "line":
            series.graphicalProperties.line.solidFill = colour
            series.graphicalProperties.line.width = 28575  # 2.25 pt in EMU
            series.smooth = False
        else:
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
    anchor_column = len(chart.series) + 3
    ws.add_chart(native, f"{get_column_letter(anchor_column)}2")


def chart_kind(chart: Chart, company: CompanyProfile) -> str:
    """The chart's own kind, else the company's chosen chart style."""
    kind = chart.kind or company.chart_kind
    return kind if kind in CHART_KINDS else "bar"


def result_to_xlsx(result: Result, *, company: CompanyProfile | None = None) -> bytes:
    """The result as an .xlsx workbook: a "Summary" sheet (title, subtitle, time of
    computation, figures), one sheet per table and one sheet per chart."""
    company = company or CompanyProfile.current()
    colour = _argb(company.brand_color)
    palette = company.palette()

    workbook = Workbook()
    workbook.properties.title = str(result.title)[:255]
    workbook.properties.subject = str(result.subtitle)[:255]
    workbook.properties.creator = "Kvartal"
    workbook.properties.lastModifiedBy = "Kvartal"
    taken: set[str] = set()

    summary = workbook.active
    summary.title = sheet_title(_("Summary"), taken)
    _summary_sheet(summary, result, colour)
    # Chart sheets are named first so that a table called "Chart 1" gives way, not them.
    chart_titles = [
        sheet_title(_("Chart %(number)s") % {"number": n}, taken)
        for n in range(1, len(result.charts) + 1)
    ]
    for table in result.tables:
        _table_sheet(workbook.create_sheet(sheet_title(table.title, taken)), table, colour)
    for chart, title in zip(result.charts, chart_titles, strict=True):
        _chart_sheet(workbook.create_sheet(title), chart, chart_kind(chart, company), palette)

    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- PDF ----------------------------------------------------------------------------------


def company_context(request=None) -> dict:
    """The ``company`` of ``pdf/base.html``: name, legal name, phone, website, logo URL and a
    CSS-safe brand colour — the same branding as the inventory sheets."""
    return sheet_company()


def pdf_orientation(result: Result) -> str:
    """``result.orientation`` if the report sets one; else landscape for wide tables."""
    orientation = getattr(result, "orientation", "")
    if orientation in PDF_CHART_SIZE:
        return orientation
    if result.landscape:
        return "landscape"
    widest = max((len(t.columns) for t in result.tables), default=0)
    return "landscape" if widest >= LANDSCAPE_FROM_COLUMNS else "portrait"


def _longest_word(text: str) -> int:
    return max(map(len, text.split()), default=0)


def pdf_column_widths(
    columns: list[Column], rows: list[list[dict]], available: float
) -> list[float]:
    """The widths of a PDF table's columns in per cent, as the automatic table layout of CSS
    would give them, computed from the cells' text lengths in characters: each column gets
    at least its narrowest (its longest word; the whole text where it does not wrap: numbers
    and the first column), and the rest of the page's width (``available`` characters) goes
    to the columns in proportion to how much wider their widest text is.

    The PDF then lays its tables out with ``table-layout: fixed``: WeasyPrint's automatic
    layout measures every cell's text twice before laying it out, the most of a long
    report's time (35 pages of reservations: ≈ 10 % of the PDF's time)."""
    narrowest, widest = [], []
    for i, column in enumerate(columns):
        texts = [row[i]["text"] for row in rows]
        nowrap = column.numeric or i == 0
        cell_min = max((len(t) if nowrap else _longest_word(t) for t in texts), default=0)
        cell_max = max(map(len, texts), default=0)
        label = str(column.label)
        head_min = PDF_HEAD_CHAR * (len(label) if i == 0 else _longest_word(label))
        narrowest.append(max(cell_min, head_min) + PDF_CELL_PADDING_CHARS)
        widest.append(max(cell_max, PDF_HEAD_CHAR * len(label)) + PDF_CELL_PADDING_CHARS)
    low, high = sum(narrowest), sum(widest)
    if high <= available or high == low:
        widths = widest
    elif low >= available:
        widths = narrowest
    else:
        share = (available - low) / (high - low)
        widths = [n + (w - n) * share for n, w in zip(narrowest, widest, strict=True)]
    total = sum(widths)
    return [round(100 * w / total, 2) for w in widths]


def _pdf_table(table: Table, orientation: str = "portrait") -> dict:
    def cells(data: dict, missing: str) -> list[dict]:
        return [
            {
                "text": format_value(data[c.key], c.kind) if c.key in data else missing,
                "numeric": c.numeric,
            }
            for c in table.columns
        ]

    rows = [cells(row, format_value(None, "text")) for row in table.rows]
    total = cells(table.total, "") if table.total else None
    measured = rows + ([total] if total else [])
    return {
        "title": table.title,
        "columns": table.columns,
        "widths": pdf_column_widths(table.columns, measured, PDF_TABLE_CHARS[orientation]),
        "rows": rows,
        "total": total,
        "empty": table.empty,
    }


def result_to_pdf(result: Result, *, request=None) -> bytes:
    """The result as a branded A4 PDF (``analytics/pdf/report.html``)."""
    from .charts import render_svg  # drawn by its own module; imported when a PDF is made

    profile = CompanyProfile.current()
    orientation = pdf_orientation(result)
    width, height = PDF_CHART_SIZE[orientation]
    palette = profile.palette()
    charts = [
        {
            "title": chart.title,
            # our own renderer escapes every label and name it writes into the SVG
            "svg": mark_safe(  # noqa: S308
                render_svg(
                    chart,
                    palette=palette,
                    kind=chart_kind(chart, profile),
                    width=width,
                    height=height,
                )
            ),
        }
        for chart in result.charts
    ]
    context = {
        "result": result,
        "company": company_context(request),
        "orientation": orientation,
        "chart_size": (width, height),
        "figures": [
            {"label": f.label, "value": format_value(f.value, f.kind), "note": f.note}
            for f in result.figures
        ],
        "charts": charts,
        "tables": [_pdf_table(table, orientation) for table in result.tables],
        "computed_at": timezone.localtime(result.computed_at),
        "generated_at": timezone.localtime(),
    }
    return render_pdf("analytics/pdf/report.html", context, request)
