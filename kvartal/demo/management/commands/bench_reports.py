"""``manage.py bench_reports``: every report on the data in the database, company-wide, one
year, monthly step — server time of the computation and of the whole page, and queries.

Not a test: it prints figures to compare with the target (L on PostgreSQL: ≤ 1 s each).

Then the floors (``_report_floors``): the sales statistics and the collections report, each
against one hand-written SQL statement giving the same figures (checked first: the command
says where they differ), run in turns with the report (report, floor, report, floor …) so both
see the same load; printed with the ratio report / floor (goals: sales ≤ 1.5×, collections
≤ 1.3× and p95 < 1 s).

``--pdf [REPORT …]`` (``holds``, the reservations report, when none is named) times the
report's PDF as the export view makes it (``result_to_pdf``, the same year), in turns with its
floor: the same tables as bare HTML, with no style, made into a PDF by the same WeasyPrint. It
prints the wall and CPU time, the page count and the ratio (goal: the reservations PDF of the
S demo ≤ 5 s). ``--pdf-only`` skips the rest.
"""

import io
import math
import os
import statistics
import sys
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils.html import escape

from kvartal.accounts.models import Role, User
from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.builder import build
from kvartal.analytics.dashboard import dashboard_blocks
from kvartal.analytics.exports import _pdf_table, pdf_orientation, result_to_pdf
from kvartal.analytics.periods import Step, local_today
from kvartal.core.pdf import BASE_URL, fewer_collections
from kvartal.demo import dataset as demo
from kvartal.demo.management.commands._report_floors import (
    collections_differences,
    collections_floor,
    sales_differences,
    sales_floor,
)
from kvartal.demo.management.commands.bench import _database

TARGET_MS = 1000
PDF_TARGET_S = 5.0
# Builder reports a director would save: (name, source, rows, columns)
BUILT = [
    ("builder: sales by manager × month", "sales", ["manager", "month"], ["count", "amount"]),
    ("builder: stock by project × type", "stock", ["project", "unit_type"], ["count", "amount"]),
    ("builder: leads by channel × month", "leads", ["channel", "month"], ["count", "converted"]),
]


class Command(BaseCommand):
    help = "Time every report company-wide over the last year by month (compute and page)."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--pages", action="store_true", help="Also time the HTML pages.")
        parser.add_argument(
            "--pdf",
            nargs="*",
            metavar="REPORT",
            help="Also time these reports' PDFs (the reservations report, holds, if none).",
        )
        parser.add_argument(
            "--pdf-only", action="store_true", help="Time the PDFs only (implies --pdf)."
        )

    def handle(self, *args, repeat, pages, pdf, pdf_only, **options):
        end = local_today()
        start = end - timedelta(days=364)
        out = self.stdout.write
        out(f"Command:   {' '.join(sys.argv)}")
        out(f"Database:  {_database()}")
        counts = demo.counts()
        out(
            f"Data set:  {counts['units']:,} units, {counts['history rows']:,} history rows "
            f"({counts['status changes']:,} status changes)"
        )
        out(f"Period:    {start} – {end}, monthly, no filters; {repeat} runs after a warm-up")
        out("")
        if pdf_only or pdf is not None:
            self._pdfs(start, end, pdf or ["holds"], repeat)
            if pdf_only:
                return
            out("")
        head = f"{'report':<38} {'median ms':>9} {'p95 ms':>7} {'queries':>7}  {'verdict':<7}"
        out(head)
        out("-" * len(head))
        for report in REPORTS.values():
            steps = report.steps or (Step.MONTH,)
            step = Step.MONTH if Step.MONTH in steps else steps[0]
            params = Params.of(start, end, step)
            self._row(str(report.title), lambda r=report, p=params: r.result(p), repeat)
        filters = {"date_from": start.isoformat(), "date_to": end.isoformat()}
        for name, source, dims, measures in BUILT:
            self._row(
                name,
                lambda s=source, d=dims, m=measures: build(
                    source=s, dimensions=d, measures=m, filters=filters
                ),
                repeat,
            )
        self._floors(Params.of(start, end, Step.MONTH), repeat)
        if pages:
            self._pages(start, end, repeat)

    def _floors(self, params, repeat):
        """Each report with a floor, timed in turns with it, and the ratio of the medians."""
        out = self.stdout.write
        today = local_today()
        pairs = [
            (
                REPORTS["sales"],
                lambda: sales_floor(params),
                lambda result, floor: sales_differences(result, floor, params),
                1.5,
            ),
            (
                REPORTS["collections"],
                lambda: collections_floor(params, today),
                lambda result, floor: collections_differences(result, floor, params, today),
                1.3,
            ),
        ]
        out("")
        out("Floors: one hand-written SQL giving the report's figures, run in turns with it")
        for report, floor, differences, goal in pairs:
            wrong = differences(report.result(params), floor())
            same = "the same figures" if not wrong else f"DIFFERENT figures: {'; '.join(wrong[:3])}"
            times, floor_times = [], []
            for _ in range(repeat):
                began = time.perf_counter()
                report.result(params)
                times.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                floor()
                floor_times.append((time.perf_counter() - began) * 1000)
            median, floor_median = statistics.median(times), statistics.median(floor_times)
            ratio = median / floor_median if floor_median else 0.0
            ok = ratio <= goal and _p95(times) < TARGET_MS
            verdict = self.style.SUCCESS("ok") if ok else self.style.ERROR("MISS")
            out(
                f"floor of {report.title}: median {floor_median:.1f} ms, p95 "
                f"{_p95(floor_times):.1f} ms ({same}); report median {median:.1f} ms, p95 "
                f"{_p95(times):.1f} ms"
            )
            out(f"ratio {report.title} / floor: {ratio:.2f}× (goal ≤ {goal}×) {verdict}")

    def _row(self, name, run, repeat):
        run()
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000)
        with CaptureQueriesContext(connection) as queries:
            run()
        p95 = _p95(times)
        ok = p95 <= TARGET_MS
        verdict = self.style.SUCCESS(f"{'ok':<7}") if ok else self.style.ERROR(f"{'MISS':<7}")
        self.stdout.write(
            f"{name[:38]:<38} {statistics.median(times):>9.1f} {p95:>7.1f} "
            f"{len(queries.captured_queries):>7}  {verdict}"
        )

    def _pages(self, start, end, repeat):
        director = User.objects.filter(role=Role.DIRECTOR, is_active=True).first()
        if director is None:
            self.stdout.write("No director: pages skipped.")
            return
        static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        # Signed in with force_login: no second-factor page in between.
        with override_settings(
            ALLOWED_HOSTS=["testserver"],
            STORAGES={**settings.STORAGES, "staticfiles": static},
            KVARTAL_2FA_ROLES=frozenset(),
        ):
            client = Client()
            client.force_login(director)
            self.stdout.write("")
            self.stdout.write("Pages (HTML, signed in as a director):")
            query = f"?date_from={start}&date_to={end}"
            for report in REPORTS.values():
                url = reverse("analytics:report", args=[report.key]) + query
                self._row(f"page: {report.title}", lambda u=url: client.get(u), repeat)
            dashboard = reverse("analytics:dashboard")
            self._row("page: dashboard (cached)", lambda: client.get(dashboard), repeat)
            self._row("dashboard computed afresh", lambda: dashboard_blocks(director), repeat)

    def _pdfs(self, start, end, keys, repeat):
        """Each report's PDF, timed in turns with its floor (bare tables, same WeasyPrint)."""
        out = self.stdout.write
        out(f"PDFs (result_to_pdf; floor: the same tables as bare HTML), {repeat} runs each")
        for key in keys:
            report = REPORTS[key]
            result = report.result(Params.of(start, end, Step.MONTH))
            floor_html = _bare_tables(result)
            pdf = result_to_pdf(result)  # warm-up: fonts, templates
            floor_pdf = _bare_pdf(floor_html)
            walls, cpus, floor_walls = [], [], []
            for _ in range(repeat):
                began, cpu = time.perf_counter(), time.process_time()
                pdf = result_to_pdf(result)
                walls.append(time.perf_counter() - began)
                cpus.append(time.process_time() - cpu)
                began = time.perf_counter()
                _bare_pdf(floor_html)
                floor_walls.append(time.perf_counter() - began)
            median, floor_median = statistics.median(walls), statistics.median(floor_walls)
            rows = sum(len(t.rows) for t in result.tables)
            ok = median <= PDF_TARGET_S
            verdict = self.style.SUCCESS("ok") if ok else self.style.ERROR("MISS")
            out(
                f"PDF {report.title}: {_pages(pdf)} pages, {rows} table rows, "
                f"{len(pdf) // 1024} KB; median {median:.2f} s (min {min(walls):.2f}, p95 "
                f"{_p95(walls):.2f}), CPU median {statistics.median(cpus):.2f} s; goal ≤ "
                f"{PDF_TARGET_S:.0f} s {verdict}"
            )
            out(
                f"floor (bare tables, {_pages(floor_pdf)} pages): median {floor_median:.2f} s; "
                f"ratio {median / floor_median:.2f}×"
            )
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        out(f"load average: {load}")


def _bare_tables(result) -> str:
    """The result's tables with their titles as bare HTML: no style, no header, no chart."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'></head><body>"]
    orientation = pdf_orientation(result)
    for table in result.tables:
        data = _pdf_table(table, orientation)
        parts.append(f"<h2>{escape(table.title)}</h2><table><tr>")
        parts += [f"<th>{escape(c.label)}</th>" for c in table.columns]
        parts.append("</tr>")
        for row in data["rows"]:
            parts.append("<tr>" + "".join(f"<td>{escape(c['text'])}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


def _bare_pdf(html: str) -> bytes:
    from weasyprint import HTML

    with fewer_collections():
        return HTML(string=html, base_url=BASE_URL).write_pdf()


def _pages(pdf: bytes) -> str:
    try:
        from pypdf import PdfReader  # a development dependency, as the benchmarks are
    except ImportError:  # pragma: no cover
        return "?"
    return str(len(PdfReader(io.BytesIO(pdf)).pages))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else 0.0
