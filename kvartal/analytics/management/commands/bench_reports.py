"""``manage.py bench_reports``: every report on the data in the database, company-wide, one
year, monthly step — server time of the computation and of the whole page, and queries.

Not a test: it prints figures to compare with the target (L on PostgreSQL: ≤ 1 s each).
"""

import math
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

from kvartal.accounts.models import Role, User
from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.builder import build
from kvartal.analytics.dashboard import dashboard_blocks
from kvartal.analytics.periods import Step, local_today
from kvartal.demo import dataset as demo
from kvartal.demo.management.commands.bench import _database

TARGET_MS = 1000
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

    def handle(self, *args, repeat, pages, **options):
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
        if pages:
            self._pages(start, end, repeat)

    def _row(self, name, run, repeat):
        run()
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000)
        with CaptureQueriesContext(connection) as queries:
            run()
        times.sort()
        p95 = times[max(0, math.ceil(0.95 * len(times)) - 1)]
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
        with override_settings(
            ALLOWED_HOSTS=["testserver"], STORAGES={**settings.STORAGES, "staticfiles": static}
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
