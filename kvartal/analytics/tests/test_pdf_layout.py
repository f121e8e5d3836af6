"""A long report's PDF is laid out with the tables' column widths computed from their text
(``table-layout: fixed``) and with fewer garbage collections: the reservations PDF of the S
demo (35 pages) took 5.4 s, most of it WeasyPrint measuring every cell before laying it out
and Python's collector walking its millions of boxes."""

import gc
import io
import re
from datetime import UTC, datetime

import lxml.html
import pytest
from django.template.loader import render_to_string
from pypdf import PdfReader

from kvartal.analytics.exports import (
    PDF_TABLE_CHARS,
    _pdf_table,
    pdf_column_widths,
    result_to_pdf,
)
from kvartal.analytics.results import Column, Result, Table
from kvartal.core.pdf import RENDER_GC_THRESHOLD, fewer_collections

pytestmark = pytest.mark.django_db

COLUMNS = [
    Column("project", "Project"),
    Column("unit", "Unit"),
    Column("manager", "Manager"),
    Column("price", "Price at hold", "money"),
    Column("state", "State"),
]


def holds_table(rows: int) -> Table:
    return Table(
        key="holds",
        title="Holds in the period",
        columns=COLUMNS,
        rows=[
            {
                "project": "Residential complex «Forest tale»",
                "unit": f"Building 2 · {n}",
                "manager": "Anna Morozova",
                "price": 10_654_000 + n,
                "state": "converted into a deal" if n % 2 else "cancelled",
            }
            for n in range(rows)
        ],
    )


def test_a_pdf_table_gets_fixed_column_widths_from_its_text():
    table = _pdf_table(holds_table(40), "landscape")
    widths = table["widths"]
    assert len(widths) == len(COLUMNS) and abs(sum(widths) - 100) < 0.1
    project, unit, manager, price, state = widths
    # the longest text the widest; a number (never wrapped) as wide as its digits need
    assert project == max(widths)
    assert price >= unit and state > manager
    html = render_to_string(
        "analytics/pdf/report.html",
        {
            "result": Result(title="Holds", computed_at=datetime(2026, 12, 5, tzinfo=UTC)),
            "company": {"colour": "#1d4f7c"},
            "orientation": "landscape",
            "chart_size": (980, 300),
            "tables": [table],
            "generated_at": datetime(2026, 12, 5, tzinfo=UTC),
        },
    )
    doc = lxml.html.fromstring(html)
    (grid,) = doc.xpath("//table[contains(@class, 'report-grid')]")
    cols = grid.xpath("./colgroup/col")
    assert [c.get("style") for c in cols] == [f"width: {w:.2f}%" for w in widths]
    assert re.search(r"\.report-grid\s*\{\s*table-layout:\s*fixed", html)


def test_narrow_columns_share_the_page_in_proportion_and_wide_ones_keep_their_words():
    texts = [[{"text": "a"}, {"text": "bb"}]]
    columns = [Column("a", "A"), Column("b", "B")]
    narrow = pdf_column_widths(columns, texts, PDF_TABLE_CHARS["portrait"])
    assert narrow[1] > narrow[0]  # widths in proportion to the widest text
    words = " ".join(["word"] * 200)  # far wider than the page: each column its longest word
    wide = pdf_column_widths(
        [Column("a", "No."), Column("b", "Alpha"), Column("c", "Sum", "money")],
        [[{"text": "1"}, {"text": words}, {"text": "12 345 678 ₽"}]],
        PDF_TABLE_CHARS["portrait"],
    )
    # the number keeps room for its digits (≈ 14 of 104 characters); the text takes the rest
    assert abs(sum(wide) - 100) < 0.1 and wide[2] > 12 and wide[1] > 75


def test_the_collector_runs_less_often_during_a_render_and_as_before_after_it():
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(RENDER_GC_THRESHOLD, before[0])
        with fewer_collections():  # renders running at once in threads
            pass
        assert gc.get_threshold()[0] == max(RENDER_GC_THRESHOLD, before[0])
    assert gc.get_threshold() == before


def test_a_long_table_keeps_every_row_in_the_pdf():
    result = Result(title="Holds", tables=[holds_table(120)])
    pdf = result_to_pdf(result)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for n in (0, 59, 119):
        assert f"Building 2 · {n}" in text
    assert text.count("Morozova") == 120
    assert gc.get_threshold()[0] < RENDER_GC_THRESHOLD
