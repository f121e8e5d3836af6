"""``manage.py bench``: server time and query count of the pages that must stay fast at scale.

Not a test: it prints numbers to compare against the targets (M on PostgreSQL: chessboard
of a 1 000-unit building ≤ 150 ms p95 and ≤ 5 queries; catalogue search ≤ 100 ms p95).
"""

import math
import os
import platform
import statistics
import sys
import time

import django
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from kvartal.accounts.models import Role, User
from kvartal.demo import dataset as demo
from kvartal.inventory.models import Building, BuildingKind, Project, Unit, UnitStatus

SEARCH = {"rooms": "2", "price_max": "9000000", "status": "available", "sort": "price"}
# Tables every signed-in request reads (session, user); the page's own queries are the rest.
PLUMBING = ('"django_session"', '"accounts_user"')


class Command(BaseCommand):
    help = (
        "Measure the chessboard of the biggest building and a catalogue search: median and "
        "p95 server time over repeated requests, and the SQL query count. Loads the demo data "
        "set first when the database has no projects."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(demo.SIZES), default="M")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--repeat", type=int, default=50)
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument(
            "--skip-seed", action="store_true", help="Never load data; fail on an empty database."
        )

    def handle(self, *args, size, seed, repeat, warmup, skip_seed, **options):
        if Project.objects.exists():
            self.stdout.write("Using the data already in the database (no seeding).")
        elif skip_seed:
            raise CommandError("The database has no projects; run seed_demo or drop --skip-seed.")
        else:
            self.stdout.write(f"The database is empty: loading size {size} (seed {seed}) …")
            report = demo.generate(size=size, seed=seed, users=True, say=self.stdout.write)
            self.stdout.write(f"Loaded in {report.timings['total']:.1f} s")
        building = (
            Building.objects.filter(kind=BuildingKind.RESIDENTIAL)
            .annotate(n=Count("units"))
            .order_by("-n", "pk")
            .first()
        )
        if building is None:
            raise CommandError("No residential building to measure.")
        matching = Unit.objects.filter(
            rooms=2, price__lte=int(SEARCH["price_max"]), status=UnitStatus.AVAILABLE
        ).count()
        targets = [
            (
                "chessboard",
                reverse("inventory:building-chessboard", args=[building.pk]),
                f"{building.n} units in {building}",
                (150, 5),
            ),
            (
                "catalogue search",
                reverse("inventory:unit-list")
                + "?"
                + "&".join(f"{k}={v}" for k, v in SEARCH.items()),
                f"{matching} of {Unit.objects.count()} units match",
                (100, None),
            ),
        ]
        # The plain static storage needs no collectstatic manifest; URLs cost the same.
        static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        with override_settings(
            ALLOWED_HOSTS=["testserver", "localhost", "127.0.0.1"],
            STORAGES={**settings.STORAGES, "staticfiles": static},
        ):
            client = Client()
            client.force_login(self._director())
            results = [self._measure(client, url, repeat, warmup) for _, url, _, _ in targets]
        self._print(targets, results, repeat)

    def _director(self) -> User:
        user = User.objects.filter(role=Role.DIRECTOR, is_active=True).order_by("pk").first()
        if user is None:
            user = User(username="bench-director", role=Role.DIRECTOR, first_name="Бенчмарк")
            user.set_unusable_password()
            user.save()
            self.stdout.write("No director found: created the user bench-director.")
        return user

    def _dataset(self) -> str:
        counts = demo.counts()
        return (
            f"{counts['units']:,} units in {counts['buildings']} buildings and "
            f"{counts['parking structures']} parking structures, {counts['projects']} projects; "
            f"{counts['history rows']:,} history rows"
        )

    def _measure(self, client: Client, url: str, repeat: int, warmup: int) -> dict:
        for _ in range(warmup):
            client.get(url)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        own = [q for q in queries.captured_queries if not any(t in q["sql"] for t in PLUMBING)]
        times.sort()
        return {
            "status": response.status_code,
            "bytes": len(response.content),
            "median": statistics.median(times),
            "p95": times[max(0, math.ceil(0.95 * len(times)) - 1)],
            "queries": len(queries.captured_queries),
            "own": len(own),
        }

    def _print(self, targets, results, repeat: int) -> None:
        out = self.stdout.write
        out("")
        out(f"Command:   {' '.join(sys.argv)}")
        out(f"Database:  {_database()}")
        out(
            f"Runtime:   Python {platform.python_version()}, Django {django.get_version()}, "
            f"{os.cpu_count()} CPUs, {platform.platform()}"
        )
        out(
            f"Requests:  {repeat} per page after warm-up, django.test.Client, signed in as director"
        )
        out(f"Data set:  {self._dataset()}")
        out("")
        head = (
            f"{'page':<17} {'HTTP':>4} {'KB':>5} {'median ms':>9} {'p95 ms':>7} "
            f"{'queries':>11}  {'target':<25} {'verdict':<7}  data"
        )
        out(head)
        out("-" * len(head))
        for (name, _url, data, (ms, max_queries)), r in zip(targets, results, strict=True):
            target = f"p95 ≤ {ms} ms" + (f", ≤ {max_queries} queries" if max_queries else "")
            ok = r["status"] == 200 and r["p95"] <= ms
            if max_queries is not None:
                ok = ok and r["own"] <= max_queries
            verdict = self.style.SUCCESS(f"{'ok':<7}") if ok else self.style.ERROR(f"{'MISS':<7}")
            queries = f"{r['own']} ({r['queries']})"
            out(
                f"{name:<17} {r['status']:>4} {r['bytes'] / 1024:>5.0f} {r['median']:>9.1f} "
                f"{r['p95']:>7.1f} {queries:>11}  {target:<25} {verdict}  {data}"
            )
        out("")
        out(
            "queries: the page's own (in brackets: all, with the session and user look-ups "
            "every signed-in request makes). Targets are for size M on PostgreSQL."
        )
        for name, url, _, _ in targets:
            out(f"  {name}: {url}")


def _database() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            version = f"SQLite {cursor.fetchone()[0]}"
        else:
            version = connection.vendor
    return f"{version} ({connection.settings_dict['NAME']})"
