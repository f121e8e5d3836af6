"""A report's result as an Excel workbook and as a branded PDF."""

import io
import re
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.test.signals import template_rendered
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart

from kvartal.analytics.exports import (
    export_filename,
    pdf_orientation,
    result_to_pdf,
    result_to_xlsx,
    sheet_title,
)
from kvartal.analytics.results import Chart, Column, Figure, Result, Series, Table
from kvartal.core.models import CompanyProfile

pytestmark = pytest.mark.django_db

LONG_NAME = "Managers/agents: deals by person over the whole period"  # 54 characters, a "/"
NOTE = "Sold with a parking space and a storage room in the same deal, at the spring price"


def sales_result() -> Result:
    sales = Table(
        key="sales",
        title="Sales by building",
        columns=[
            Column("building", "Building"),
            Column("deals", "Deals", "int"),
            Column("revenue", "Revenue", "money"),
            Column("area", "Area", "area"),
            Column("price_m2", "Price per m²", "price_m2"),
            Column("share", "Share", "percent"),
            Column("signed", "Last deal", "date"),
            Column("updated", "Updated", "datetime"),
            Column("note", "Note"),
        ],
        rows=[
            {
                "building": "House 1",
                "deals": 3,
                "revenue": Decimal("12500000.00"),
                "area": Decimal("54.30"),
                "price_m2": Decimal("230202.58"),
                "share": Decimal("12.5"),
                "signed": date(2026, 3, 31),
                "updated": datetime(2026, 3, 31, 20, 30, tzinfo=UTC),  # 23:30 in Moscow
                "note": NOTE,
            },
            {
                "building": "House 2",
                "deals": 0,
                "revenue": None,
                "area": None,
                "price_m2": None,
                "share": None,
                "signed": None,
                "updated": None,
            },
        ],
        total={"building": "Total", "deals": 3, "revenue": Decimal("12500000.00")},
    )
    managers = Table(
        key="managers",
        title=LONG_NAME,
        columns=[Column("manager", "Manager"), Column("deals", "Deals", "int")],
        rows=[{"manager": '=HYPERLINK("http://evil")', "deals": 2}],
    )
    chart = Chart(
        key="by-month",
        title="Deals by month",
        labels=["January", "February", "March"],
        series=[Series("Deals", [1, None, 2]), Series("Holds", [4, 5, 6])],
    )
    return Result(
        title="Sales statistics",
        subtitle="1 January – 31 March 2026, by month",
        figures=[
            Figure("Deals", 3),
            Figure("Revenue", Decimal("12500000.00"), "money", note="incl. VAT"),
            Figure("Conversion", Decimal("12.5"), "percent"),
            Figure("Average area", None, "area"),
        ],
        tables=[sales, managers],
        charts=[chart],
        notes=["Cancelled deals are not counted."],
        computed_at=datetime(2026, 4, 1, 6, 0, tzinfo=UTC),
    )


@pytest.fixture
def company(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    profile = CompanyProfile.current()
    profile.name = "Stroy LLC"
    profile.brand_color = "#c8453b"
    profile.chart_palette = "#112233,#445566"
    profile.chart_kind = "line"
    profile.save()
    return profile


def load(content: bytes):
    return load_workbook(io.BytesIO(content))


# --- Excel --------------------------------------------------------------------------------


def test_the_workbook_has_a_summary_a_sheet_per_table_and_a_sheet_per_chart(company):
    book = load(result_to_xlsx(sales_result(), company=company))
    assert book.sheetnames == [
        "Summary",
        "Sales by building",
        "Managers-agents- deals by perso",
        "Chart 1",
    ]
    assert book.properties.title == "Sales statistics"
    assert book.properties.creator == "Kvartal"


def test_the_summary_holds_title_subtitle_time_and_figures(company):
    summary = load(result_to_xlsx(sales_result(), company=company))["Summary"]
    assert summary["A1"].value == "Sales statistics"
    assert summary["A2"].value == "1 January – 31 March 2026, by month"
    assert summary["A3"].value == "Computed at"
    assert summary["B3"].value == datetime(2026, 4, 1, 9, 0)  # Moscow time, no zone
    rows = {row[0].value: row[1:] for row in summary.iter_rows(min_row=5, max_row=8)}
    assert list(rows) == ["Deals", "Revenue", "Conversion", "Average area"]
    assert rows["Deals"][0].value == 3
    assert rows["Revenue"][0].value == 12500000
    assert rows["Revenue"][0].number_format == "#,##0"
    assert rows["Revenue"][1].value == "incl. VAT"
    assert rows["Conversion"][0].value == 12.5
    assert rows["Conversion"][0].number_format == '0.0" %"'
    assert rows["Average area"][0].value is None
    assert summary["A10"].value == "Cancelled deals are not counted."


def test_a_table_sheet_keeps_numbers_as_numbers_and_dates_as_dates(company):
    sheet = load(result_to_xlsx(sales_result(), company=company))["Sales by building"]
    assert [c.value for c in sheet[1]] == [
        "Building",
        "Deals",
        "Revenue",
        "Area",
        "Price per m²",
        "Share",
        "Last deal",
        "Updated",
        "Note",
    ]
    header = sheet["C1"]
    assert header.font.b
    assert header.font.color.rgb == "00FFFFFF"
    assert header.fill.fgColor.rgb == "00C8453B"
    assert sheet.freeze_panes == "A2"

    revenue, area, price, share = sheet["C2"], sheet["D2"], sheet["E2"], sheet["F2"]
    assert isinstance(revenue.value, int | float) and revenue.value == 12500000
    assert revenue.number_format == "#,##0"
    assert area.value == 54.3 and area.number_format == "#,##0.00"
    assert price.value == 230202.58 and price.number_format == "#,##0"
    assert share.value == 12.5 and share.number_format == '0.0" %"'
    assert sheet["B2"].value == 3 and sheet["B2"].number_format == "#,##0"
    assert sheet["G2"].is_date and sheet["G2"].value == datetime(2026, 3, 31)
    assert sheet["H2"].is_date and sheet["H2"].value == datetime(2026, 3, 31, 23, 30)
    assert [c.value for c in sheet[3]][1:8] == [0, None, None, None, None, None, None]


def test_the_total_row_is_bold_and_blank_where_it_has_no_value(company):
    sheet = load(result_to_xlsx(sales_result(), company=company))["Sales by building"]
    assert [c.value for c in sheet[4]][:4] == ["Total", 3, 12500000, None]
    assert sheet["A4"].font.b and sheet["C4"].font.b
    assert not sheet["A2"].font.b
    assert sheet.max_row == 4


def test_columns_fit_their_content_up_to_a_limit(company):
    sheet = load(result_to_xlsx(sales_result(), company=company))["Sales by building"]
    assert sheet.column_dimensions["I"].width == 50  # the long note is capped
    assert sheet.column_dimensions["C"].width == 12  # "12,500,000" and two spare
    assert sheet.column_dimensions["B"].width == 8  # "Deals" is narrower than the minimum


def test_text_that_looks_like_a_formula_stays_text(company):
    sheet = load(result_to_xlsx(sales_result(), company=company))["Managers-agents- deals by perso"]
    assert sheet["A2"].value == '=HYPERLINK("http://evil")'
    assert sheet["A2"].data_type == "s"


def test_the_chart_sheet_holds_the_data_and_a_native_chart_in_the_company_style(company):
    sheet = load(result_to_xlsx(sales_result(), company=company))["Chart 1"]
    assert [[c.value for c in row] for row in sheet.iter_rows(max_row=4, max_col=3)] == [
        [None, "Deals", "Holds"],
        ["January", 1, 4],
        ["February", None, 5],
        ["March", 2, 6],
    ]
    [chart] = sheet._charts
    assert isinstance(chart, LineChart)  # the company draws lines
    assert [s.val.numRef.f for s in chart.series] == ["'Chart 1'!$B$2:$B$4", "'Chart 1'!$C$2:$C$4"]
    assert chart.series[0].cat.numRef.f == "'Chart 1'!$A$2:$A$4"
    colours = [s.graphicalProperties.line.solidFill.srgbClr for s in chart.series]
    assert colours == ["112233", "445566"]


def test_a_chart_of_its_own_kind_wins_over_the_company_style(company):
    result = sales_result()
    result.charts[0].kind = "bar"
    [chart] = load(result_to_xlsx(result, company=company))["Chart 1"]._charts
    assert isinstance(chart, BarChart)
    assert chart.series[0].graphicalProperties.solidFill.srgbClr == "112233"


def test_without_a_company_the_current_profile_brands_the_workbook(company):
    sheet = load(result_to_xlsx(sales_result()))["Sales by building"]
    assert sheet["A1"].fill.fgColor.rgb == "00C8453B"


def test_an_empty_table_says_so():
    result = Result(
        title="Holds",
        tables=[Table("holds", "Holds", [Column("unit", "Unit")], empty="No holds.")],
    )
    sheet = load(result_to_xlsx(result))["Holds"]
    assert [sheet["A1"].value, sheet["A2"].value] == ["Unit", "No holds."]


def test_sheet_titles_follow_excels_rules():
    taken = {"summary"}
    assert sheet_title(LONG_NAME, taken) == "Managers-agents- deals by perso"
    assert sheet_title(LONG_NAME, taken) == "Managers-agents- deals by p (2)"
    assert sheet_title("summary", taken) == "summary (2)"
    assert sheet_title("'[Q1]*?'", taken) == "-Q1---"
    assert sheet_title("  ", taken) == "Sheet"


def test_export_file_names_are_ascii_and_dated():
    day = date(2026, 11, 24)
    assert export_filename("sales-statistics", "xlsx", today=day) == (
        "sales-statistics-2026-11-24.xlsx"
    )
    assert export_filename("Продажи / Sales", ".pdf", today=day) == "sales-2026-11-24.pdf"
    assert export_filename("Шахматка", "pdf", today=day) == "report-2026-11-24.pdf"


# --- PDF ----------------------------------------------------------------------------------


def rendered_context(result: Result) -> tuple[bytes, dict]:
    """The PDF and the context its template was rendered with."""
    seen = []

    def keep(sender, template, context, **kwargs):
        if template.name == "analytics/pdf/report.html":
            seen.append(context.flatten())

    template_rendered.connect(keep)
    try:
        content = result_to_pdf(result)
    finally:
        template_rendered.disconnect(keep)
    return content, seen[0]


def pdf_streams(content: bytes) -> bytes:
    """The compressed streams of a PDF, inflated and joined (the metadata is in one)."""
    inflated = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        try:
            inflated.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(inflated)


def test_the_pdf_is_a_pdf_with_the_title_inside(company):
    content, _ = rendered_context(sales_result())
    assert content.startswith(b"%PDF")
    assert b"/Title (Sales statistics)" in pdf_streams(content)
    try:
        from pypdf import PdfReader
    except ImportError:  # pypdf is not a dependency; the next test reads the page's text
        return
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "Sales statistics" in text


def test_the_pdf_page_carries_the_brand_figures_charts_and_tables(company):
    _, context = rendered_context(sales_result())
    assert context["company"]["colour"] == "#c8453b"
    assert context["company"]["name"] == "Stroy LLC"
    assert context["orientation"] == "landscape"  # nine columns
    html = render_to_string("analytics/pdf/report.html", context)
    assert "<h1>Sales statistics</h1>" in html
    assert "1 January – 31 March 2026, by month" in html
    assert "Stroy LLC" in html
    assert "background: #c8453b" in html
    assert '<div class="value">12,500,000</div>' in html
    assert '<div class="value">12.5 %</div>' in html
    assert "<svg" in html and "&lt;svg" not in html
    assert "width: 980px !important; height: 300px !important;" in html
    assert '<td class="num">12,500,000</td>' in html
    assert '<td class="num">54.30</td>' in html
    assert "<tfoot><tr><td>Total</td>" in html
    assert "&lt;" not in html.split("<h1>")[1].replace("=HYPERLINK(&quot;", "")


def test_a_narrow_report_is_portrait_unless_it_says_otherwise():
    narrow = Result(title="Holds", tables=[Table("t", "T", [Column("a", "A")] * 3)])
    assert pdf_orientation(narrow) == "portrait"
    narrow.orientation = "landscape"
    assert pdf_orientation(narrow) == "landscape"


def test_an_empty_table_in_the_pdf_says_so():
    result = Result(
        title="Holds",
        tables=[Table("holds", "Holds", [Column("unit", "Unit")], empty="No holds.")],
    )
    content, context = rendered_context(result)
    assert content.startswith(b"%PDF")
    assert "No holds." in render_to_string("analytics/pdf/report.html", context)


def test_the_pdf_carries_the_company_logo(company, settings, tmp_path):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    png = io.BytesIO()
    Image.new("RGB", (40, 20), "#c8453b").save(png, "PNG")
    without_logo = result_to_pdf(sales_result())
    company.logo.save("logo.png", ContentFile(png.getvalue()))

    content, context = rendered_context(sales_result())
    # stored under a random name (kvartal.core.uploads)
    assert context["company"]["logo_url"] == f"/media/{company.logo.name}"
    assert company.logo.name.startswith("company/") and company.logo.name.endswith(".png")
    assert content.startswith(b"%PDF")
    assert b"/Image" in content and b"/Image" not in without_logo
