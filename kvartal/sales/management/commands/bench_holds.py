"""Benchmark of holds: N concurrent clients holding units through the same service the pages
call, against a floor measured in the same run — a bare Django function doing the least a
hold must do (lock the unit row, update it, insert one history row), on the current database.

Each client is a forked process with its own connection (as gunicorn workers are: threads
of one process would share its GIL). The run alternates ``--rounds`` times between the two
(service, floor, service, floor …; each phase ``--seconds / --rounds`` long, the same
processes' count), so that both see the same load of the machine. In a service phase each
client holds DISTINCT random available units of its own share of the pool, one after
another, through ``hold_create`` (one transaction each); nothing is released inside the
timed loop. In a floor phase each client runs ``floor_hold`` on random units of its share:
lock the unit row, write it (its own values back: nothing changes), insert a history row;
those rows are deleted afterwards. At the end, untimed, every hold of the run is cancelled
through ``hold_cancel`` so that the units are on sale again (their history rows stay).

Printed: holds per second, p50/p95 latency of ``hold_create``, refusals and errors, the
floor's transactions per second, the ratio service / floor (goal ≥ 0.8), and the number of
units with more than one active hold or deal (counted by SQL right after the timed run, and
again at the end; must be 0: the command fails otherwise).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvartal_bench \\
        .venv/bin/python manage.py bench_holds --clients 16 --seconds 12
"""

import multiprocessing
import random
import sys
import time
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.clients.models import Client
from kvartal.core.errors import DomainError
from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.sales.models import Hold, HoldState, QueueEntry, QueueState
from kvartal.sales.services.holds import hold_cancel, hold_create

BASELINE_REASON = "bench_holds baseline"
RELEASE_REASON = "bench_holds"
MANAGER = "bench-holds"
MAX_ERRORS = 50  # a client that keeps failing stops (a broken connection, say)

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
    latencies: list[float] = field(default_factory=list)  # seconds, of each counted step
    exhausted: int = 0  # clients that ran out of units before the time was up
    ended: float = 0.0  # monotonic clock when the (last) client stopped

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            done=self.done + other.done,
            refused=self.refused + other.refused,
            errors=self.errors + other.errors,
            latencies=self.latencies + other.latencies,
            exhausted=self.exhausted + other.exhausted,
            ended=max(self.ended, other.ended),
        )


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


def holdable_units() -> list[int]:
    """The ids of the units a benchmark may hold: on sale and priced, no live hold, no active
    deal, nobody waiting in their queue."""
    waiting = QueueEntry.objects.filter(unit_id=OuterRef("pk"), state=QueueState.WAITING)
    return list(
        Unit.objects.filter(status=UnitStatus.AVAILABLE, price__gt=0)
        .exclude(holds__state=HoldState.ACTIVE)
        .exclude(deals__is_active=True)
        .exclude(Exists(waiting))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- what one client process does -------------------------------------------------------------


def _hold_units(n: int, share: list[int], deadline: float, tally: Tally, ctx: dict) -> None:
    """Hold distinct units of ``share`` (shuffled by the caller) through the pages' service."""
    manager = User.objects.get(pk=ctx["manager"])
    client = Client.objects.get(pk=ctx["clients"][n])
    for unit_id in share:
        if time.monotonic() >= deadline:
            return
        unit = Unit(pk=unit_id)  # the service locks and reads the row itself, as for a page
        started = time.perf_counter()
        try:
            hold_create(unit=unit, client=client, manager=manager, by=manager, days=1)
        except DomainError:
            tally.refused += 1
            continue
        except Exception as error:  # noqa: BLE001 - counted and reported, the run goes on
            tally.errors.append(f"{type(error).__name__}: {error}")
            if len(tally.errors) >= MAX_ERRORS:
                return
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.done += 1
    tally.exhausted = 1


def floor_hold(unit_id: int) -> None:
    """The floor of a hold: a bare Django function doing the least a hold must write, in one
    transaction — lock the unit row, update it (its own values back: nothing changes), insert
    one history row (``BASELINE_REASON``: deleted after the run)."""
    with transaction.atomic():
        status, changed_at, hold_until, price = (
            Unit.objects.select_for_update()
            .filter(pk=unit_id)
            .values_list("status", "status_changed_at", "hold_until", "price")
            .get()
        )
        Unit.objects.filter(pk=unit_id).update(
            status=status, status_changed_at=changed_at, hold_until=hold_until
        )
        StatusChange.objects.create(
            unit_id=unit_id,
            at=timezone.now(),
            reason=BASELINE_REASON,
            old_status=status,
            new_status=status,
            price=price,
        )


def _floor(n: int, share: list[int], deadline: float, tally: Tally, ctx: dict) -> None:
    """``floor_hold`` on random units of ``share`` until the deadline."""
    rng = random.Random(ctx["seed"] + n)
    while time.monotonic() < deadline:
        unit_id = rng.choice(share)
        started = time.perf_counter()
        try:
            floor_hold(unit_id)
        except Exception as error:  # noqa: BLE001 - counted and reported
            tally.errors.append(f"{type(error).__name__}: {error}")
            if len(tally.errors) >= MAX_ERRORS:
                return
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.done += 1


WORK = {"hold": _hold_units, "floor": _floor}


def _client(work: str, n: int, share, ctx: dict, ready, go, start, results) -> None:
    """A forked client: its own connection first, then the work until the deadline."""
    tally = Tally()
    try:
        connections.close_all()  # never use a connection inherited from the parent
        connection.ensure_connection()
        ready.wait()
        go.wait()
        WORK[work](n, share, start.value + ctx["phase"], tally, ctx)
    except Exception as error:  # noqa: BLE001 - reported to the parent
        tally.errors.append(f"{type(error).__name__}: {error}")
    finally:
        tally.ended = time.monotonic()
        results.put((n, tally))
        connections.close_all()


# --- the command ------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Holds per second through hold_create with N client processes, against a bare Django "
        "function doing the least a hold writes (lock, update, one history row), interleaved."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=16, help="client processes")
        parser.add_argument(
            "--seconds", type=float, default=12.0, help="of the service's and the floor's runs each"
        )
        parser.add_argument(
            "--rounds", type=int, default=3, help="service and floor phases alternated"
        )
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, clients: int, seconds: float, rounds: int, seed: int, **options):
        if clients < 1 or rounds < 1:
            raise CommandError("--clients and --rounds must be at least 1.")
        pool = holdable_units()
        if len(pool) < clients:
            raise CommandError(f"Need at least {clients} available units; found {len(pool)}.")
        manager, people = self._people(clients)
        random.Random(seed).shuffle(pool)
        shares = [pool[n::clients] for n in range(clients)]
        ctx = {
            "manager": manager.pk,
            "clients": [c.pk for c in people],
            "seed": seed,
            "phase": seconds / rounds,
        }
        self.stdout.write(
            f"bench_holds: {clients} client processes, {seconds:g} s each for the service and "
            f"the floor in {rounds} alternated rounds, {connection.vendor} "
            f"({connection.settings_dict['NAME']}), {len(pool)} units available "
            f"(~{len(pool) // clients} per client)"
        )
        # Each client's share in random order; service round r holds the r-th part of it.
        for n, share in enumerate(shares):
            random.Random(seed + n).shuffle(share)
        served, floor = Tally(), Tally()
        elapsed = floor_elapsed = 0.0
        for r in range(rounds):
            parts = [share[r::rounds] for share in shares]
            tally, took = self._run("hold", clients, parts, ctx)
            self._report(f"  round {r + 1} service", "holds", tally, took, brief=True)
            served, elapsed = served + tally, elapsed + took
            tally, took = self._run("floor", clients, shares, ctx)
            self._report(f"  round {r + 1} floor", "tx", tally, took, brief=True)
            floor, floor_elapsed = floor + tally, floor_elapsed + took
        self._report("service (hold_create, hold-only)", "holds", served, elapsed)
        self._report(
            "floor (bare Django function: lock, update, insert one history row)",
            "tx",
            floor,
            floor_elapsed,
        )
        during = units_with_two_owners()
        active = Hold.objects.filter(created_by=manager, state=HoldState.ACTIVE)
        held = active.count()
        released = self._release(active)
        self.stdout.write(f"released: {released} holds of the run cancelled (untimed)")
        removed, _kinds = StatusChange.objects.filter(reason=BASELINE_REASON).delete()
        self.stdout.write(f"removed: {removed} history rows of the floor")

        hold_rate = served.done / elapsed if elapsed else 0.0
        floor_rate = floor.done / floor_elapsed if floor_elapsed else 0.0
        if floor_rate:
            self.stdout.write(
                f"ratio service / floor: {hold_rate:.1f} holds/s / {floor_rate:.1f} tx/s = "
                f"{hold_rate / floor_rate:.2f} (goal ≥ 0.8)"
            )
        after = units_with_two_owners()
        self.stdout.write(
            f"integrity: units with more than one active hold or deal: {during + after} "
            f"({during} with the run's {held} holds active, {after} after the release)"
        )
        if during or after:
            raise CommandError("A unit is held or sold twice.")

    def _people(self, clients: int):
        manager, _created = User.objects.get_or_create(
            username=MANAGER,
            defaults={"role": Role.SALES_MANAGER, "last_name": "Bench", "first_name": "Holds"},
        )
        people = []
        for n in range(clients):
            name = f"Client {n}"
            client = Client.objects.filter(
                last_name="Bench", first_name=name, manager=manager
            ).first()
            if client is None:
                client = Client.objects.create(
                    last_name="Bench", first_name=name, manager=manager, created_by=manager
                )
            people.append(client)
        return manager, people

    def _run(self, work: str, clients: int, shares, ctx: dict) -> tuple[Tally, float]:
        """Fork ``clients`` processes, start them together, collect their tallies."""
        mp = multiprocessing.get_context("fork")
        ready, go = mp.Barrier(clients + 1), mp.Event()
        start, results = mp.Value("d", 0.0), mp.Queue()
        # Nothing may cross the fork: not a connection, not unflushed output.
        connections.close_all()
        self.stdout.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        procs = [
            mp.Process(
                target=_client,
                args=(work, n, shares[n], ctx, ready, go, start, results),
                daemon=True,
            )
            for n in range(clients)
        ]
        for proc in procs:
            proc.start()
        total = Tally()
        try:
            ready.wait(timeout=60)  # every client connected
        except Exception as error:  # noqa: BLE001 - a client died before the start
            total.errors.append(f"start: {type(error).__name__}")
        start.value = time.monotonic()
        go.set()
        for _n in range(clients):
            try:
                _n, tally = results.get(timeout=ctx["phase"] + 120)
            except Exception:  # noqa: BLE001 - a client died without reporting
                total.errors.append("a client process reported nothing")
                continue
            total.done += tally.done
            total.refused += tally.refused
            total.errors += tally.errors
            total.latencies += tally.latencies
            total.exhausted += tally.exhausted
            total.ended = max(total.ended, tally.ended)
        for proc in procs:
            proc.join(timeout=30)
        elapsed = max(total.ended - start.value, 1e-9) if total.ended else 0.0
        return total, elapsed

    def _release(self, active) -> int:
        """Cancel the run's holds through the service: the units go back on sale."""
        manager = User.objects.get(username=MANAGER)
        count = 0
        for hold in active.order_by("pk").iterator():
            hold_cancel(hold=hold, by=manager, reason=RELEASE_REASON)
            count += 1
        return count

    def _report(
        self, title: str, unit: str, tally: Tally, elapsed: float, *, brief: bool = False
    ) -> None:
        rate = tally.done / elapsed if elapsed else 0.0
        if brief:
            self.stdout.write(
                f"{title}: {tally.done} {unit} in {elapsed:.1f} s = {rate:.1f} {unit}/s"
            )
            return
        self.stdout.write(
            f"{title}: {tally.done} {unit} in {elapsed:.1f} s = {rate:.1f} {unit}/s; "
            f"latency p50 {percentile(tally.latencies, 0.50) * 1000:.1f} ms, "
            f"p95 {percentile(tally.latencies, 0.95) * 1000:.1f} ms; "
            f"refused {tally.refused}; errors {len(tally.errors)}"
        )
        if tally.exhausted:
            self.stdout.write(
                f"  note: {tally.exhausted} client(s) ran out of units before the time was up"
            )
        for error in sorted(set(tally.errors))[:5]:
            self.stdout.write(f"  error: {error}")
