"""The reports benchmark runs on whatever data is there and prints a line per report."""

from io import StringIO

import pytest
from django.core.management import call_command

from kvartal.analytics.base import REPORTS

pytestmark = pytest.mark.django_db


def test_bench_reports_prints_every_report():
    out = StringIO()
    call_command("bench_reports", "--repeat", "1", stdout=out)
    text = out.getvalue()
    for report in REPORTS.values():
        assert str(report.title)[:38] in text
    assert "builder: sales by manager × month" in text
