"""``manage.py bench``: server time and query count of the pages that must stay fast at scale.

Not a test: it prints numbers to compare against the targets (M on PostgreSQL: chessboard
of a 1 000-unit building ≤ 150 ms p95 and ≤ 5 queries, median ≤ 3× its floor; catalogue
search ≤ 100 ms p95).

The chessboard's floor is measured in the same run, one floor call after each page request
(interleaved, so both see the same load): one SQL reading the building's units with their
section and floor, and every cell rendered as a string (``board_floor``) — what any board of
those units must cost at least. Printed with the ratio page median / floor median.
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
from django.utils.html import escape

from kvartal.accounts.models import Role, User
from kvartal.core.benchmarks import database_version
from kvartal.demo import dataset as demo
from kvartal.inventory.models import Building, BuildingKind, Project, Unit, UnitStatus

SEARCH = {"rooms": "2", "price_max": "9000000", "status": "available", "sort": "price"}
# Tables every signed-in request reads (session, user); the page's own queries are the rest.
PLUMBING = ('"django_session"', '"accounts_user"')


FLOOR_SQL = """
SELECT u.id, u.number, u.rooms, u.total_area, u.price, u.status, s.number, f.label
FROM inventory_unit u
JOIN inventory_section s ON s.id = u.section_id
JOIN inventory_floor f ON f.id = u.floor_id
WHERE u.building_id = %s
ORDER BY s.number, f."index" DESC, u.position, u.id
"""


def board_floor(building_id: int) -> str:
    """The chessboard's floor: the building's units in one SQL, each cell rendered as a
    string (number, rooms, area, price in millions, status class and link), a row per floor
    and a table per section. No filters, marks or totals: the least any board costs."""
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, [building_id])
        rows = cursor.fetchall()
    html, section, label = [], None, None
    for pk, number, rooms, area, price, status, section_no, floor_label in rows:
        if section_no != section:
            html.append(f"</tr></table><table><caption>{section_no}</caption><tr>")
            section, label = section_no, None
        if floor_label != label:
            html.append(f"</tr><tr><th>{escape(floor_label)}</th>")
            label = floor_label
        html.append(
            f'<td class="cell s-{status}"><a href="/app/units/{pk}/"><b>{escape(number)}</b>'
            f'<span class="r">{rooms or ""}</span><br>{area}<br>'
            f"{float(price or 0) / 1e6:.1f}</a></td>"
        )
    return "".join(html)


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
        # The benchmark signs in with force_login: no second-factor page in between.
        with override_settings(
            ALLOWED_HOSTS=["testserver", "localhost", "127.0.0.1"],
            STORAGES={**settings.STORAGES, "staticfiles": static},
            KVARTAL_2FA_ROLES=frozenset(),
        ):
            client = Client()
            client.force_login(self._director())
            results = [
                self._measure(client, url, repeat, warmup, floor=(building.pk if n == 0 else None))
                for n, (_, url, _, _) in enumerate(targets)
            ]
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

    def _measure(
        self, client: Client, url: str, repeat: int, warmup: int, floor: int | None = None
    ) -> dict:
        """``repeat`` requests of ``url``; with ``floor`` (a building id), each followed by
        one call of ``board_floor`` for it, timed apart."""
        for _ in range(warmup):
            client.get(url)
            if floor is not None:
                board_floor(floor)
        times, floor_times = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            if floor is not None:
                start = time.perf_counter()
                board_floor(floor)
                floor_times.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        own = [q for q in queries.captured_queries if not any(t in q["sql"] for t in PLUMBING)]
        times.sort()
        floor_times.sort()
        return {
            "floor": ((statistics.median(floor_times), _p95(floor_times)) if floor_times else None),
            "status": response.status_code,
            "bytes": len(response.content),
            "median": statistics.median(times),
            "p95": _p95(times),
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
        for (name, _url, _data, _target), r in zip(targets, results, strict=True):
            if r.get("floor"):
                median, p95 = r["floor"]
                ratio = r["median"] / median if median else 0.0
                out("")
                out(
                    f"floor of the {name}: one SQL + the cells rendered as strings, interleaved "
                    f"with the page: median {median:.1f} ms, p95 {p95:.1f} ms"
                )
                verdict = self.style.SUCCESS("ok") if ratio <= 3 else self.style.ERROR("MISS")
                out(
                    f"ratio {name} / floor: median {ratio:.2f}× "
                    f"(p95 {r['p95'] / p95 if p95 else 0:.2f}×; goal median ≤ 3×) {verdict}"
                )
        out("")
        out(
            "queries: the page's own (in brackets: all, with the session and user look-ups "
            "every signed-in request makes). Targets are for size M on PostgreSQL."
        )
        for name, url, _, _ in targets:
            out(f"  {name}: {url}")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else 0.0


def _database() -> str:
    return database_version()
