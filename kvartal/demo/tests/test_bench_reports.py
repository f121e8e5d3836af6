"""The reports benchmark runs on whatever data is there and prints a line per report."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.periods import local_today
from kvartal.demo import dataset as demo

pytestmark = pytest.mark.django_db


def test_bench_reports_prints_every_report():
    out = StringIO()
    call_command("bench_reports", "--repeat", "1", stdout=out)
    text = out.getvalue()
    for report in REPORTS.values():
        assert str(report.title)[:38] in text
    assert "builder: sales by manager × month" in text


def test_bench_reports_prints_each_floor_with_the_reports_figures_and_the_ratio():
    demo.generate(size="XS", seed=42, users=False)
    # figures to compare, not zeros: sales, money planned and received, something overdue
    params = Params.of(local_today() - timedelta(days=364), local_today())
    assert REPORTS["sales"].result(params).figures[0].value > 0
    collections = REPORTS["collections"].result(params).figures
    assert collections[0].value > 0 and collections[1].value > 0 and collections[3].value > 0
    out = StringIO()
    call_command("bench_reports", "--repeat", "1", stdout=out)
    text = out.getvalue()
    for report in (REPORTS["sales"], REPORTS["collections"]):
        title = re.escape(str(report.title))
        floor = rf"floor of {title}: median [\d.]+ ms, p95 [\d.]+ ms \(the same figures\)"
        assert re.search(floor, text), text
        assert re.search(rf"ratio {title} / floor: [\d.]+× \(goal ≤ [\d.]+×\)", text), text


def test_bench_reports_times_the_reservations_pdf_with_its_pages_and_floor():
    out = StringIO()
    call_command("bench_reports", "--pdf-only", "--repeat", "1", stdout=out)
    text = out.getvalue()
    title = re.escape(str(REPORTS["holds"].title))
    assert re.search(rf"PDF {title}: \d+ pages, \d+ table rows, .* median [\d.]+ s", text), text
    assert re.search(r"floor \(bare tables, \d+ pages\): median [\d.]+ s; ratio [\d.]+×", text)
    assert "load average:" in text
    assert "builder:" not in text  # --pdf-only: the PDFs alone
