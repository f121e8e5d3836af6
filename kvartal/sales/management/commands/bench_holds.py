"""Benchmark of holds: N concurrent clients holding units through the same service the pages
call, against the bare SQL of the same lock-update-insert, on the current database.

Each client (a thread with its own connection) takes random available units of its own
share, holds one (``hold_create``) and releases it (``hold_cancel``), so units stay
available; a hold and its release are two transactions. Then, for the same time and the
same number of threads, the bare transaction: lock the unit row, update it, insert a history
row (those rows are deleted afterwards). Printed: holds per second, p50/p95 latency of
``hold_create``, refusals and errors, the ratio to the bare SQL, and the number of units with
more than one active hold or deal (counted by SQL; must be 0).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvartal_bench \\
        .venv/bin/python manage.py bench_holds --threads 16 --seconds 10
"""

import random
import threading
import time
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.clients.models import Client
from kvartal.inventory.models import Unit, UnitStatus
from kvartal.sales.models import HoldState
from kvartal.sales.services.holds import HoldRefused, hold_cancel, hold_create

BASELINE_REASON = "bench_holds baseline"

INTEGRITY_SQL = """
SELECT COUNT(*) FROM (
    SELECT unit_id FROM (
        SELECT unit_id FROM sales_hold WHERE state = %s
        UNION ALL
        SELECT unit_id FROM sales_deal WHERE is_active = %s
    ) taken GROUP BY unit_id HAVING COUNT(*) > 1
) twice
"""


@dataclass
class Tally:
    done: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, of the counted step


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def units_with_two_owners() -> int:
    """Units with more than one active hold or deal, together: the guarantee, by SQL."""
    with connection.cursor() as cursor:
        cursor.execute(INTEGRITY_SQL, [HoldState.ACTIVE, True])
        return cursor.fetchone()[0]


class Command(BaseCommand):
    help = "Holds per second through hold_create with N threads, against the bare SQL."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=16)
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, threads: int, seconds: float, seed: int, **options):
        pool = list(
            Unit.objects.on_sale()
            .filter(status=UnitStatus.AVAILABLE, price__gt=0)
            .exclude(holds__state=HoldState.ACTIVE)
            .exclude(deals__is_active=True)
            .values_list("pk", flat=True)
        )
        if len(pool) < threads:
            raise CommandError(f"Need at least {threads} available units; found {len(pool)}.")
        manager, clients = self._people(threads)
        random.Random(seed).shuffle(pool)
        shares = [pool[n::threads] for n in range(threads)]
        db = connection.vendor
        self.stdout.write(
            f"bench_holds: {threads} threads, {seconds:g} s, {db} "
            f"({connection.settings_dict['NAME']}), {len(pool)} units available"
        )

        def service(n: int, tally: Tally, deadline: float) -> None:
            rng = random.Random(seed + n)
            units = Unit.objects.filter(pk__in=shares[n]).only("pk")
            units = {u.pk: u for u in units}
            ids = list(units)
            while time.perf_counter() < deadline:
                unit = units[rng.choice(ids)]
                started = time.perf_counter()
                try:
                    hold = hold_create(
                        unit=unit, client=clients[n], manager=manager, by=manager, days=1
                    )
                except HoldRefused:
                    tally.refused += 1
                    continue
                tally.latencies.append(time.perf_counter() - started)
                tally.done += 1
                hold_cancel(hold=hold, by=manager, reason="bench_holds")

        def bare(n: int, tally: Tally, deadline: float) -> None:
            rng = random.Random(seed + n)
            ids = shares[n]
            lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
            while time.perf_counter() < deadline:
                unit_id = rng.choice(ids)
                started = time.perf_counter()
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT id, status, price FROM inventory_unit WHERE id = %s{lock}",
                        [unit_id],
                    )
                    _pk, status, price = cursor.fetchone()
                    now = timezone.now()
                    cursor.execute(
                        "UPDATE inventory_unit SET status_changed_at = %s WHERE id = %s",
                        [now, unit_id],
                    )
                    cursor.execute(
                        "INSERT INTO inventory_statuschange "
                        "(unit_id, at, actor_id, reason, old_status, new_status, price) "
                        "VALUES (%s, %s, NULL, %s, %s, %s, %s)",
                        [unit_id, now, BASELINE_REASON, status, status, price],
                    )
                tally.latencies.append(time.perf_counter() - started)
                tally.done += 1

        served, elapsed = self._run(service, threads, seconds)
        self._report("service (hold_create, then hold_cancel)", "holds", served, elapsed)
        baseline, bare_elapsed = self._run(bare, threads, seconds)
        self._report("bare SQL (lock, update, insert history)", "tx", baseline, bare_elapsed)
        self._clean_baseline()

        hold_rate = served.done / elapsed if elapsed else 0.0
        tx_rate = 2 * hold_rate  # a hold and its release
        bare_rate = baseline.done / bare_elapsed if bare_elapsed else 0.0
        if bare_rate:
            self.stdout.write(
                f"ratio: service {tx_rate:.1f} tx/s (holds + releases) / bare {bare_rate:.1f} "
                f"tx/s = {tx_rate / bare_rate:.2f}"
            )
        twice = units_with_two_owners()
        self.stdout.write(f"integrity: units with more than one active hold or deal: {twice}")
        if twice:
            raise CommandError("A unit is held or sold twice.")

    def _people(self, threads: int):
        manager, _created = User.objects.get_or_create(
            username="bench-holds",
            defaults={"role": Role.SALES_MANAGER, "last_name": "Bench", "first_name": "Holds"},
        )
        clients = []
        for n in range(threads):
            client = Client.objects.filter(
                last_name="Bench", first_name=f"Thread {n}", manager=manager
            ).first()
            if client is None:
                client = Client.objects.create(
                    last_name="Bench", first_name=f"Thread {n}", manager=manager, created_by=manager
                )
            clients.append(client)
        return manager, clients

    def _run(self, work, threads: int, seconds: float) -> tuple[Tally, float]:
        tallies = [Tally() for _ in range(threads)]
        ready = threading.Barrier(threads + 1)
        deadline_box: list[float] = []

        def worker(n: int) -> None:
            try:
                connection.ensure_connection()
                ready.wait()
                work(n, tallies[n], deadline_box[0])
            except Exception as error:  # noqa: BLE001 - reported, the run goes on
                tallies[n].errors.append(f"{type(error).__name__}: {error}")
            finally:
                connection.close()

        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for t in pool:
            t.start()
        deadline_box.append(time.perf_counter() + seconds)
        started = time.perf_counter()
        ready.wait()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - started
        total = Tally()
        for tally in tallies:
            total.done += tally.done
            total.refused += tally.refused
            total.errors += tally.errors
            total.latencies += tally.latencies
        return total, elapsed

    def _report(self, title: str, unit: str, tally: Tally, elapsed: float) -> None:
        rate = tally.done / elapsed if elapsed else 0.0
        self.stdout.write(
            f"{title}: {tally.done} {unit} in {elapsed:.1f} s = {rate:.1f} {unit}/s; "
            f"latency p50 {percentile(tally.latencies, 0.50) * 1000:.1f} ms, "
            f"p95 {percentile(tally.latencies, 0.95) * 1000:.1f} ms; "
            f"refused {tally.refused}; errors {len(tally.errors)}"
        )
        for error in sorted(set(tally.errors))[:5]:
            self.stdout.write(f"  error: {error}")

    def _clean_baseline(self) -> None:
        from kvartal.inventory.models import StatusChange

        StatusChange.objects.filter(reason=BASELINE_REASON).delete()
