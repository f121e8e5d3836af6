"""``manage.py callcentre_bench``: how fast the call centre's hot paths are on this database.

Signed telephony events through the HTTP endpoint (ringing → answered → ended for callers
taken from the clients, every tenth an unknown number), the caller's block on the panel, and
one read of the live feed. Everything runs in one transaction that is rolled back: the
database is left as it was.
"""

import json
import statistics
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.clients.models import Client

from ... import live
from ...models import Call, Extension, PhoneSystem
from ...telephony import sign_generic


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time telephony events, the panel and the live feed (rolled back afterwards)."

    def add_arguments(self, parser):
        parser.add_argument("--calls", type=int, default=100)

    def handle(self, *args, calls, **options):
        try:
            with transaction.atomic():
                self._run(calls)
                raise Rollback
        except Rollback:
            pass

    def _run(self, calls: int) -> None:
        operator = User.objects.create(username="bench-operator", role=Role.OPERATOR)
        Extension.objects.create(number="bench-1", user=operator)
        system = PhoneSystem.objects.create(name="bench", code="bench-pbx")
        phones = list(
            Client.objects.in_use()
            .exclude(phone_normalized="")
            .values_list("phone_normalized", flat=True)[:calls]
        )
        http = HttpClient()
        url = reverse("callcentre:telephony", args=[system.code])
        times = []
        for n in range(calls):
            phone = phones[n] if n < len(phones) and n % 10 else f"+7900{n:07d}"
            for kind in ("ringing", "answered", "ended"):
                body = json.dumps(
                    {
                        "event_id": f"b{n}-{kind}",
                        "call_id": f"b{n}",
                        "event": kind,
                        "at": timezone.now().isoformat(),
                        "from": phone,
                        "extension": "bench-1",
                        "duration": 60 if kind == "ended" else None,
                    }
                ).encode()
                ts = str(int(time.time()))
                started = time.perf_counter()
                response = http.post(
                    url,
                    body,
                    content_type="application/json",
                    headers={
                        "X-Kvartal-Timestamp": ts,
                        "X-Kvartal-Signature": sign_generic(system.secret, ts, body),
                    },
                )
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.content
        self._say("telephony event (HTTP, signed)", times)
        http.force_login(operator)
        call_ids = list(Call.objects.filter(system=system).values_list("pk", flat=True)[:50])
        times, queries = [], []
        for pk in call_ids:
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                response = http.get(
                    reverse("callcentre:call", args=[pk]), headers={"HX-Request": "true"}
                )
            times.append(time.perf_counter() - started)
            queries.append(len(ctx))
            assert response.status_code == 200
        self._say("caller's block on the panel", times)
        self.stdout.write(f"  queries per caller's block: {min(queries)}–{max(queries)}")
        start = live.Cursor(0, 0)
        started = time.perf_counter()
        events = live.read(operator, start)
        self.stdout.write(
            f"live feed from the start: {len(events)} events in "
            f"{(time.perf_counter() - started) * 1000:.1f} ms (batch limit {live.BATCH})"
        )
        now = live.cursor_now(operator)
        times = []
        for _ in range(50):
            started = time.perf_counter()
            live.read(operator, now)
            times.append(time.perf_counter() - started)
        self._say("live feed read, nothing new", times)

    def _say(self, what: str, times: list[float]) -> None:
        ms = sorted(t * 1000 for t in times)
        p95 = ms[int(len(ms) * 0.95) - 1] if len(ms) >= 20 else ms[-1]
        self.stdout.write(
            f"{what}: n={len(ms)}, median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms"
        )
