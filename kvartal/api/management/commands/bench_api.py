"""``manage.py bench_api``: the unit list and hold creation through the API, and the hold
page's POST (the form a manager sends, signed in), at 16 concurrent clients, each next to its
floor — bare Django views (``kvartal.api.bench_urls``): for the API the same rows serialized
the same way and the same ``hold_create``; for the hold page the same writes done bare (lock,
hold, event, unit, history row). In the same run, on the same gunicorn, interleaved: the
targets take turns in ``--rounds`` rounds (floor, product, floor, product …), so that each
product and its floor see the same load; the ratios product / floor are printed.

Not a test: it prints figures. The server, the clients and the percentiles are
``kvartal.core.benchmarks`` (as ``bench_showcase``). A user ``bench-api`` (sales manager) and
one client of theirs per concurrent client are made once; a token (inventory:read,
holds:write, no rate limit to speak of) is made for the run and revoked after. Each hold run
holds distinct units of its own share of the holdable units (``bench_holds.holdable_units``);
afterwards, untimed, every hold of the run is cancelled through ``hold_cancel`` so the units
are on sale again (their history rows stay). Units held twice are counted by SQL at the end
(must be 0).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvartal_bench \\
        .venv/bin/python manage.py bench_api --clients 16
"""

import json
import os
import platform
import random
import secrets
import statistics
import sys
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client as TestClient
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.api.bench_urls import MANAGER
from kvartal.api.models import ApiToken
from kvartal.clients.models import Client
from kvartal.core import benchmarks
from kvartal.inventory.models import Unit
from kvartal.sales.management.commands.bench_holds import holdable_units, units_with_two_owners
from kvartal.sales.models import Hold, HoldBasis, HoldKind, HoldState
from kvartal.sales.services.holds import hold_cancel

LIST = "/api/v1/units?status=available&limit={limit}"
FLOOR_LIST = "/bench-floor/units/?limit={limit}"
PAGE = "/app/units/{pk}/hold/"
FLOOR_PAGE = "/bench-floor/units/{pk}/hold/"
HOLDS = ("hold: floor", "hold: API", "hold page: floor", "hold page")


class Command(BaseCommand):
    help = (
        "API unit list and hold creation, and the hold page's POST: p50/p95 and req/s at 16 "
        "clients, each interleaved with a bare view (its floor), and the ratios."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=16)
        parser.add_argument("--requests", type=int, default=480, help="per target, in all")
        parser.add_argument("--limit", type=int, default=100, help="units per list page")
        parser.add_argument("--workers", type=int, default=benchmarks.default_workers())
        parser.add_argument("--warmup", type=int, default=20)
        parser.add_argument("--rounds", type=int, default=3, help="turns of the targets")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, clients, requests, limit, workers, warmup, rounds, seed, **options):
        rounds = max(1, rounds)
        per_round = max(1, requests // clients // rounds)
        each = per_round * rounds
        pool = holdable_units()
        needed = len(HOLDS) * clients * each + 4 + warmup
        if len(pool) < needed:
            raise CommandError(f"Need {needed} holdable units; found {len(pool)} (seed_demo).")
        random.Random(seed).shuffle(pool)
        manager, people = self._people(clients)
        key, token = self._token(manager)
        out = self.stdout.write
        out(f"Command:   {' '.join(sys.argv)}")
        out(f"Database:  {benchmarks.database_version()}")
        out(
            f"Runtime:   Python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"gunicorn {workers} sync workers, {clients} concurrent clients over loopback, "
            f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]} (KVARTAL_CACHE)"
        )
        out(f"Data set:  {Unit.objects.count():,} units, {len(pool):,} holdable")
        out(
            f"Requests:  {each * clients} per target after {warmup} warm-up, in {rounds} rounds "
            f"taking turns; list of {limit}"
        )
        out("")
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        plain = {"Content-Type": "application/json"}
        shares = {
            name: [
                pool[(k * clients + n) * each : (k * clients + n + 1) * each]
                for n in range(clients)
            ]
            for k, name in enumerate(HOLDS)
        }
        spare = pool[len(HOLDS) * clients * each :]
        sessions = self._sessions(manager, clients)
        form = self._form(manager)
        queries = self._queries(key, limit, spare[:4], people[0], manager, form)
        spare = spare[4:]
        server, port = benchmarks.serve(
            "kvartal.api.bench_settings", workers, ready_url="/api/v1/openapi.json"
        )
        results = {}
        try:
            for _ in range(warmup):
                benchmarks.request(port, "GET", FLOOR_LIST.format(limit=limit), headers=plain)
                benchmarks.request(port, "GET", LIST.format(limit=limit), headers=auth)
            for n, unit_id in enumerate(spare[:warmup]):
                body = {"unit": unit_id, "client": people[n % clients].pk, "days": 1}
                benchmarks.request(
                    port,
                    "POST",
                    "/bench-floor/holds/",
                    headers=plain,
                    body=json.dumps(body).encode(),
                )

            def lister(url, headers):
                return lambda n, i: benchmarks.request(port, "GET", url, headers=headers) == 200

            def holder(url, headers, share):
                def call(n, i):
                    body = {"unit": share[n][i], "client": people[n].pk, "days": 1}
                    sent = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                    status = benchmarks.request(
                        port, "POST", url, headers=sent, body=json.dumps(body).encode()
                    )
                    return status == 201

                return call

            def page(url, share, signed_in):
                def call(n, i):
                    fields = {**form, "client": people[n].pk}
                    cookies = dict(sessions[n]) if signed_in else {}
                    if signed_in:
                        fields["csrfmiddlewaretoken"] = cookies["csrftoken"]
                    status = benchmarks.request(
                        port,
                        "POST",
                        url.format(pk=share[n][i]),
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                        body=urlencode(fields).encode(),
                        cookies=cookies,
                    )
                    return status == 302

                return call

            targets = [
                ("unit list: floor", lister(FLOOR_LIST.format(limit=limit), plain)),
                ("unit list: API", lister(LIST.format(limit=limit), auth)),
                ("hold: floor", holder("/bench-floor/holds/", plain, shares["hold: floor"])),
                ("hold: API", holder("/api/v1/holds", auth, shares["hold: API"])),
                ("hold page: floor", page(FLOOR_PAGE, shares["hold page: floor"], False)),
                ("hold page", page(PAGE, shares["hold page"], True)),
            ]
            for r in range(rounds):
                for name, call in targets:
                    offset = r * per_round
                    times, errors, wall = benchmarks.run_clients(
                        clients, per_round, lambda n, i, c=call, o=offset: c(n, o + i)
                    )
                    before = results.get(name, ([], 0, 0.0))
                    results[name] = (before[0] + times, before[1] + errors, before[2] + wall)
        finally:
            benchmarks.stop(server)
            twice = units_with_two_owners()
            released = self._release(manager)
            ApiToken.objects.filter(pk=token.pk).update(is_active=False)
            self._sign_out(sessions)
        self._report(results, queries)
        out("")
        out(f"released: {released} holds of the run cancelled (untimed)")
        out(f"integrity: units with more than one active hold or deal: {twice}")
        if twice:
            raise CommandError("A unit is held twice.")

    def _people(self, clients: int):
        manager, _created = User.objects.get_or_create(
            username=MANAGER,
            defaults={"role": Role.SALES_MANAGER, "last_name": "Bench", "first_name": "API"},
        )
        people = []
        for n in range(clients):
            name = f"API client {n}"
            client = Client.objects.filter(
                last_name="Bench", first_name=name, manager=manager
            ).first() or Client.objects.create(
                last_name="Bench", first_name=name, manager=manager, created_by=manager
            )
            people.append(client)
        return manager, people

    def _sessions(self, manager, clients: int) -> list[dict]:
        """A signed-in session and a CSRF cookie per client, as the sign-in page leaves them."""
        found = []
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            for _n in range(clients):
                browser = TestClient()
                browser.force_login(manager)
                found.append(
                    {
                        settings.SESSION_COOKIE_NAME: browser.cookies[
                            settings.SESSION_COOKIE_NAME
                        ].value,
                        settings.CSRF_COOKIE_NAME: secrets.token_hex(16),
                    }
                )
        return found

    def _sign_out(self, sessions: list[dict]) -> None:
        from django.contrib.sessions.models import Session

        keys = [s[settings.SESSION_COOKIE_NAME] for s in sessions]
        Session.objects.filter(session_key__in=keys).delete()

    def _form(self, manager) -> dict:
        """The hold form as a manager sends it (the client is each client's own)."""
        until = timezone.localtime() + timedelta(days=1)
        return {
            "manager": manager.pk,
            "kind": HoldKind.ORAL,
            "basis": HoldBasis.OTHER,
            "term": "custom",
            "expires_at": until.strftime("%Y-%m-%dT%H:%M"),
            "comment": "",
        }

    def _token(self, manager):
        key = ApiToken.new_key()
        token = ApiToken(
            name="bench_api", user=manager, scopes=["inventory:read", "holds:write"], rate=10**9
        )
        token.set_key(key)
        token.save()
        return key, token

    def _queries(self, key: str, limit: int, units: list[int], client, manager, form) -> dict:
        """SQL queries per request, read in-process (one unit each for the two holds)."""
        from kvartal.api import bench_urls

        found = {}
        with override_settings(ROOT_URLCONF=bench_urls, ALLOWED_HOSTS=["testserver"]):
            browser = TestClient()
            auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
            calls = [
                ("unit list: floor", lambda: browser.get(FLOOR_LIST.format(limit=limit))),
                ("unit list: API", lambda: browser.get(LIST.format(limit=limit), **auth)),
                (
                    "hold: floor",
                    lambda: browser.post(
                        "/bench-floor/holds/",
                        {"unit": units[0], "client": client.pk, "days": 1},
                        content_type="application/json",
                    ),
                ),
                (
                    "hold: API",
                    lambda: browser.post(
                        "/api/v1/holds",
                        {"unit": units[1], "client": client.pk, "days": 1},
                        content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
                        **auth,
                    ),
                ),
                (
                    "hold page: floor",
                    lambda: browser.post(
                        FLOOR_PAGE.format(pk=units[2]), {**form, "client": client.pk}
                    ),
                ),
                (
                    "hold page",
                    lambda: signed_in.post(PAGE.format(pk=units[3]), {**form, "client": client.pk}),
                ),
            ]
            signed_in = TestClient()
            signed_in.force_login(manager)
            browser.get(FLOOR_LIST.format(limit=limit))
            browser.get(LIST.format(limit=limit), **auth)
            for name, call in calls:
                with CaptureQueriesContext(connection) as captured:
                    call()
                found[name] = len(captured.captured_queries)
        return found

    def _release(self, manager) -> int:
        count = 0
        active = Hold.objects.filter(created_by=manager, state=HoldState.ACTIVE).order_by("pk")
        for hold in active.iterator():
            hold_cancel(hold=hold, by=manager, reason="bench_api")
            count += 1
        return count

    def _report(self, results: dict, queries: dict) -> None:
        out = self.stdout.write
        head = (
            f"{'target':<18} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'req/s':>6} "
            f"{'queries':>7}  errors"
        )
        out(head)
        out("-" * len(head))
        summary = {}
        for name, (times, errors, wall) in results.items():
            p50, p95 = statistics.median(times), benchmarks.percentile(times, 0.95)
            rate = len(times) / wall
            summary[name] = (p50, p95, rate)
            out(
                f"{name:<18} {p50:>7.1f} {p95:>7.1f} {max(times):>7.1f} {rate:>6.0f} "
                f"{queries.get(name, '?'):>7}  {errors}"
            )
        out("")
        for what, product, label in (
            ("unit list", "unit list: API", "API"),
            ("hold", "hold: API", "API"),
            ("hold page", "hold page", "page"),
        ):
            api, floor = summary.get(product), summary.get(f"{what}: floor")
            if api and floor:
                out(
                    f"ratio {what}: {label} / floor — p50 "
                    f"{api[0] / floor[0]:.2f}×, p95 {api[1] / floor[1]:.2f}×, "
                    f"req/s {api[2] / floor[2]:.2f}×"
                )
