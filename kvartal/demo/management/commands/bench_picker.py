"""Benchmark of the client picker (the hold, queue, deal and reception forms' client search)
at a given number of clients, on the current database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvartal_bench \\
        .venv/bin/python manage.py bench_picker --clients 50000 --repeat 30 --fill

When the database holds fewer live clients than ``--clients`` and ``--fill`` is given, the
missing ones are added first (plausible Russian names and unique mobile numbers, spread over
the managers), with their normalised phones as the client service writes them; they stay —
so only on a benchmark's database, never a company's (without ``--fill`` the command refuses).
Then, for a manager (who sees their own clients) and a sales head (who sees their team's, or
every client when there is no team), each search a person types — a surname's start, in
lower case, surname and first name, four and seven digits of a phone, a name nobody has — is
sent to the picker's endpoint (``clients:pick``, signed in, as the page's script sends it)
``--repeat`` times after one warm-up. Printed per search: p50/p95 of the server time, the
queries, the clients found; and the one query's plan on PostgreSQL. Figures, not assertions.
"""

import random
import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from kvartal.accounts.models import Role, User
from kvartal.clients.models import Client
from kvartal.clients.normalize import format_phone, normalize_phone
from kvartal.clients.picker import matching
from kvartal.core.benchmarks import database_version, percentile
from kvartal.demo.people import person

BATCH = 5_000
SEARCHES = ("Кузнец", "смирн", "Иванова Анна", "9161", "9221234", "Щукинсонов")


class Command(BaseCommand):
    help = "Time the client picker's search at N clients (adds the missing ones first)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=50_000)
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--fill",
            action="store_true",
            help="Add the missing clients (a benchmark's database only: they stay).",
        )

    def handle(self, *args, clients, repeat, seed, fill, **options):
        out = self.stdout.write
        if repeat < 1 or clients < 1:
            raise CommandError("--clients and --repeat must be at least 1.")
        active = User.objects.filter(is_active=True).order_by("pk")
        manager = active.filter(role=Role.SALES_MANAGER).first()
        head = active.filter(role=Role.SALES_HEAD).first()
        if manager is None or head is None:
            raise CommandError("Load the demo first (seed_demo): no manager or sales head.")
        out(f"Database: {database_version()}")
        missing = clients - Client.objects.in_use().count()
        if missing > 0 and not fill:
            raise CommandError(
                f"{missing:,} clients short of {clients:,}: add them with --fill "
                "(on a benchmark's database only: they stay), or ask for fewer."
            )
        self._fill(clients, seed)
        live = Client.objects.in_use().count()
        out(
            f"Live clients: {live:,}; {manager.username} sees "
            f"{Client.objects.for_user(manager).in_use().count():,}, {head.username} sees "
            f"{Client.objects.for_user(head).in_use().count():,}"
        )
        url = reverse("clients:pick")
        for user in (manager, head):
            browser = Browser()
            browser.force_login(user)
            out(f"\n{user.username} ({user.get_role_display()}), {repeat} runs each, ms:")
            out(f"{'search':<16}{'p50':>8}{'p95':>8}{'queries':>9}{'found':>7}")
            for text in SEARCHES:
                self._row(browser, url, text, repeat)
        if connection.vendor == "postgresql":
            query = matching(Client.objects.for_user(manager).in_use(), SEARCHES[0])
            out(f"\nPlan of “{SEARCHES[0]}” for {manager.username} (EXPLAIN ANALYZE):")
            for line in query.explain(analyze=True).splitlines():
                out(f"  {line}")

    def _fill(self, wanted: int, seed: int) -> None:
        missing = wanted - Client.objects.in_use().count()
        if missing <= 0:
            return
        managers = list(
            User.objects.filter(role=Role.SALES_MANAGER, is_active=True).values_list(
                "pk", flat=True
            )
        )
        rng = random.Random(seed)
        start = Client.objects.count() + 1_000_000  # numbers no demo buyer has
        self.stdout.write(f"Adding {missing:,} clients …")
        began = time.perf_counter()
        for offset in range(0, missing, BATCH):
            rows = []
            for n in range(start + offset, start + min(offset + BATCH, missing)):
                p = person(rng, n)
                rows.append(
                    Client(
                        last_name=p.last_name,
                        first_name=p.first_name,
                        middle_name=p.middle_name,
                        phone=format_phone(p.phone),
                        phone_normalized=normalize_phone(p.phone),
                        email=p.email,
                        manager_id=managers[n % len(managers)],
                    )
                )
            Client.objects.bulk_create(rows)
            done = min(offset + BATCH, missing)
            self.stdout.write(f"  {done:,} of {missing:,} ({time.perf_counter() - began:.1f} s)")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE clients_client")

    def _row(self, browser, url: str, text: str, repeat: int) -> None:
        with override_settings(DEBUG=False):
            browser.get(url, {"q": text})  # warm-up
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                response = browser.get(url, {"q": text})
                times.append((time.perf_counter() - began) * 1000)
            with CaptureQueriesContext(connection) as queries:
                response = browser.get(url, {"q": text})
        if response.status_code != 200:
            raise CommandError(f"The picker answered {response.status_code} for {text!r}.")
        found = len(response.json()["results"])
        shown = f"{found}+" if response.json()["more"] else str(found)
        self.stdout.write(
            f"{text:<16}{statistics.median(times):>8.1f}{percentile(times, 0.95):>8.1f}"
            f"{len(queries):>9}{shown:>7}"
        )
