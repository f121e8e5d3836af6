"""``manage.py bench_showcase``: the showcase's unit page and catalogue under 16 concurrent
clients, next to the floor (a bare Django view reading the same unit row), in the same run.

Not a test: it prints figures. It starts gunicorn on this database (``--workers``, sync
workers), then each of ``--clients`` threads sends requests over loopback one after another,
each keeping its own visitor cookie; the times are what the client waited (server time plus
loopback, no network). The three pages are measured in turns (``--rounds``), so that each
ratio to the floor compares minutes of the same load on a shared machine. The clients run on
the same CPUs as the server (one process, threads): their own cost is in every figure, the
floor's too. Target (M on PostgreSQL): unit page p95 ≤ 50 ms.
"""

import os
import platform
import statistics
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from kvartal.core import benchmarks
from kvartal.core.benchmarks import database_version as _database
from kvartal.inventory.models import Unit
from kvartal.showcase.selectors import available_units

CATALOGUE = "/?rooms=2&price_max=12000000&sort=price"


class Command(BaseCommand):
    help = "Unit page and catalogue p50/p95 at 16 concurrent clients, next to a bare view."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=16)
        parser.add_argument("--requests", type=int, default=480, help="per page, in all")
        parser.add_argument("--workers", type=int, default=benchmarks.default_workers())
        parser.add_argument("--warmup", type=int, default=20)
        parser.add_argument(
            "--rounds", type=int, default=4, help="turns of floor, unit page, catalogue"
        )

    def handle(self, *args, clients, requests, workers, warmup, rounds, **options):
        unit = (
            available_units()
            .select_related("building__project")
            .order_by("-building__project_id", "pk")
            .first()
        )
        if unit is None:
            raise CommandError("No unit on the showcase: seed_demo, then publish a project.")
        targets = [
            ("floor (bare view)", f"/bench-floor/{unit.pk}/"),
            ("unit page", f"/units/{unit.pk}/"),
            ("catalogue", CATALOGUE),
        ]
        out = self.stdout.write
        out(f"Command:   {' '.join(sys.argv)}")
        out(f"Database:  {_database()}")
        out(
            f"Runtime:   Python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"gunicorn {workers} sync workers, {clients} concurrent clients over loopback"
        )
        out(
            f"Data set:  {Unit.objects.count():,} units, "
            f"{available_units().count():,} on the showcase and available"
        )
        out(
            f"Requests:  {requests} per page after {warmup} warm-up, in {rounds} turns of "
            f"the three pages; unit {unit.code}"
        )
        out("")
        queries = self._queries(targets)
        call_command("collectstatic", interactive=False, verbosity=0)  # as ``make run`` does
        server, port = benchmarks.serve("kvartal.showcase.bench_settings", workers)
        try:
            head = (
                f"{'page':<18} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'req/s':>6} "
                f"{'queries':>7} {'p95/floor':>9}  errors"
            )
            out(head)
            out("-" * len(head))
            for _name, url in targets:
                for _ in range(warmup):
                    benchmarks.request(port, "GET", url, cookies={})
            # In turns, not one page after the other: on a shared machine the load moves
            # within a minute, and a page measured in a quiet minute beside a floor measured
            # in a busy one gives a ratio of nothing. Each turn sends every page its share.
            found = {name: ([], 0, 0.0) for name, _url in targets}
            each_turn = max(clients, requests // rounds)
            for _turn in range(rounds):
                for name, url in targets:
                    times, errors, wall = self._run(port, url, clients, each_turn)
                    before = found[name]
                    found[name] = (before[0] + times, before[1] + errors, before[2] + wall)
            floor_p95 = None
            for name, _url in targets:
                times, errors, wall = found[name]
                p95 = benchmarks.percentile(times, 0.95)
                floor_p95 = floor_p95 or p95  # the floor comes first
                out(
                    f"{name:<18} {statistics.median(times):>7.1f} "
                    f"{p95:>7.1f} {max(times):>7.1f} {len(times) / wall:>6.0f} "
                    f"{queries[name]:>7} {p95 / floor_p95:>8.1f}×  {errors}"
                )
        finally:
            benchmarks.stop(server)

    def _queries(self, targets) -> dict:
        """SQL queries per page, read in-process (a returning visitor for the unit page)."""
        from kvartal.showcase import bench_urls

        found = {}
        static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        with override_settings(
            ROOT_URLCONF=bench_urls,
            ALLOWED_HOSTS=["testserver"],
            STORAGES={**settings.STORAGES, "staticfiles": static},
        ):
            client = Client()
            for name, url in targets:
                client.get(url)
                with CaptureQueriesContext(connection) as captured:
                    client.get(url)
                found[name] = len(captured.captured_queries)
        return found

    @staticmethod
    def _run(port: int, url: str, clients: int, requests: int):
        """Each client a returning visitor (its cookie fetched first, untimed)."""
        cookies = [{} for _ in range(clients)]

        def prepare(n: int) -> None:
            benchmarks.request(port, "GET", url, cookies=cookies[n])

        def call(n: int, _i: int) -> bool:
            return benchmarks.request(port, "GET", url, cookies=cookies[n]) == 200

        return benchmarks.run_clients(clients, max(1, requests // clients), call, prepare=prepare)
