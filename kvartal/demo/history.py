"""The 18 months: every sale, reservation, price rise and reopening, replayed in date order."""

import calendar
import heapq
import math
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby

from kvartal.accounts.models import Role
from kvartal.inventory.models import Unit, UnitKind, UnitStatus, WindowView
from kvartal.inventory.services import units_bulk_set_price, units_bulk_set_status

from .data import CHUNK, DEMAND, END, MONTHS, ROOMS_DEMAND, SALE_HOURS, SEASON, START, month_start
from .plan import ProjectDraft
from .sales import SalePath, SalesReplay, draw_path

# An event: (at, order, group, payload). Events with equal (at, order, group) are one service
# call; ``order`` puts price moves before status moves, and those before sales, of a moment.
PRICE, STATUS, SALE = 1, 2, 3
REOPENING = "Открыты продажи верхних этажей"
RISE = "Плановое повышение цен"
PROMO = "Акция на трёхкомнатные квартиры"
PROGRESS_SECONDS = 3  # the longest silence of the replay


class Paths:
    """Numbers the client paths and draws who buys and through which manager."""

    def __init__(self, seed: int, managers: int):
        self.rng = random.Random(f"{seed}/paths")
        self.managers = managers
        self.count = 0

    def new(self, unit: int) -> SalePath:
        self.count += 1
        return draw_path(self.rng, unit, self.managers, self.count)


def simulate(projects: list[ProjectDraft], seed: int, managers: int = 1) -> list[tuple]:
    """Plan every sale, reservation, price rise and reopening, in Python, unit by unit."""
    drafts = [b for p in projects for b in p.buildings]
    rows = defaultdict(list)
    for row in (
        Unit.objects.filter(building__in=[b.obj for b in drafts])
        .order_by("building_id", "section__number", "floor__index", "kind", "position")
        .values_list("building_id", "id", "kind", "rooms", "view", "status", "section__number")
    ):
        rows[row[0]].append(row[1:])
    events: list[tuple] = []
    free_at: dict[int, datetime] = {}  # unit → when it is next free (after its last event)
    status: dict[int, str] = {}
    paths = Paths(seed, managers)
    for k, b in enumerate(drafts):
        rng = random.Random(f"{seed}/sales/{k}")
        _simulate_building(b, rows[b.obj.pk], rng, events, status, free_at, paths)
    _last_reservations(rows, random.Random(f"{seed}/reservations"), events, status, free_at, paths)
    events.sort(key=lambda e: e[:3])
    return events


def _simulate_building(b, rows, rng, events, status, free_at, paths) -> None:
    weights = {}
    for unit_id, kind, rooms, view, state, _section in rows:
        w = DEMAND.get(kind) or ROOMS_DEMAND[rooms]
        if view in (WindowView.PARK, WindowView.WATER, WindowView.CITY):
            w *= 1.2
        weights[unit_id] = w
        status[unit_id] = state
        free_at[unit_id] = b.launch + timedelta(hours=3)
    available = {u for u in weights if status[u] == UnitStatus.AVAILABLE}
    reopening = {s.plan.number for s in b.sections if s.reopens}
    closed = [  # closed top floors that open again (the sales office stays closed)
        unit_id
        for unit_id, kind, *_, section in rows
        if status[unit_id] == UnitStatus.NOT_FOR_SALE
        and kind != UnitKind.COMMERCIAL
        and section in reopening
    ]
    returns: list[tuple[int, int]] = []  # (month, unit) back on sale from that month
    n = len(rows)

    def sold(age: float) -> float:
        return 1 - math.exp(-max(age, 0) / b.pace)

    def pick(count: int) -> list[int]:
        pool = sorted(available)
        chosen = heapq.nlargest(
            min(count, len(pool)), pool, key=lambda u: rng.random() ** (1 / weights[u])
        )
        available.difference_update(chosen)
        return sorted(chosen)

    if b.launch_month <= 0:  # sold before the data set begins: entered as sold at START
        at = b.launch + timedelta(hours=3)
        for u in pick(round(n * sold(-b.launch_month))):
            path = paths.new(u)
            _sale_event(events, at, "deal", path, status, UnitStatus.IN_DEAL)
            _sale_event(events, at + timedelta(hours=2), "register", path, status, UnitStatus.SOLD)
            free_at[u] = END
    first = max(b.launch_month, 0)
    for m in range(first, MONTHS):
        start = month_start(m)
        available.update(u for month, u in returns if month == m)
        if m == b.reopen_month:
            for u in closed:
                _status(
                    events, start + timedelta(hours=4), u, UnitStatus.AVAILABLE, REOPENING, status
                )
                free_at[u] = start + timedelta(hours=4)
            available.update(closed)
        if m > first and (m - first) % b.cadence == 0:
            percent = Decimal(rng.randint(5, 30)) / 10
            events.append(
                (
                    start + timedelta(hours=5),
                    PRICE,
                    f"{b.obj.pk:09d}",
                    (b.obj.pk, percent, None, RISE),
                )
            )
        if m == b.promo_month:
            events.append(
                (
                    start + timedelta(hours=5, minutes=30),
                    PRICE,
                    f"{b.obj.pk:09d}p",
                    (b.obj.pk, Decimal(-3), 3, PROMO),
                ),
            )
        quota = n * (sold(m + 1 - b.launch_month) - sold(m - b.launch_month))
        quota *= SEASON[(START.month - 5 + m) % 12] * rng.uniform(0.7, 1.3)
        count = int(quota) + (rng.random() < quota % 1)
        days = calendar.monthrange(start.year, start.month)[1]
        for u in pick(count):
            day = rng.randint(0, days - 1)
            at = start + timedelta(days=day, hours=rng.choice(SALE_HOURS))
            at = max(at, free_at[u] + timedelta(days=1))
            if at >= END:
                available.add(u)
                continue
            back = _sale(events, rng, u, at, status, free_at, paths.new(u))
            if back is not None:
                returns.append((back, u))


def _sale(events, rng, u, at, status, free_at, path: SalePath) -> int | None:
    """One client's path; returns the month the unit is back on sale, if it comes back."""
    roll = rng.random()
    if roll < 0.25:  # signed the same day
        _sale_event(events, at, "deal", path, status, UnitStatus.IN_DEAL)
        deal_at = at
    else:
        later = at + timedelta(days=rng.randint(3, 30), hours=rng.choice((0, 2, 5)))
        later = later.replace(hour=rng.choice(SALE_HOURS))
        if later >= END:  # still thinking it over today
            _sale_event(events, at, "hold", path, status, UnitStatus.RESERVED)
            free_at[u] = END
            return None
        _sale_event(events, at, "hold", path, status, UnitStatus.RESERVED, until=later)
        if roll < 0.35:
            _sale_event(events, later, "cancel", path, status, UnitStatus.AVAILABLE)
            free_at[u] = later
            return _month_of(later) + 1
        _sale_event(events, later, "deal", path, status, UnitStatus.IN_DEAL)
        deal_at = later
    registered = deal_at + timedelta(days=rng.randint(7, 21))
    if registered < END:
        _sale_event(events, registered, "register", path, status, UnitStatus.SOLD)
    free_at[u] = END
    if registered < END and rng.random() < 0.01:
        gone = registered + timedelta(days=rng.randint(30, 150))
        if gone < END:
            path.terminates = True
            _sale_event(events, gone, "terminate", path, status, UnitStatus.AVAILABLE)
            free_at[u] = gone
            return _month_of(gone) + 1
    return None


def _month_of(at: datetime) -> int:
    return (at.year - START.year) * 12 + at.month - START.month


def _status(events, at, unit_id, new, reason, status) -> None:
    events.append((at, STATUS, f"{new}|{reason}", unit_id))
    status[unit_id] = new


def _sale_event(events, at, action, path: SalePath, status, new, until=None) -> None:
    """A step of a client's path (hold, cancel, deal, register, terminate): one service call.
    ``len(events)`` keeps the steps of one moment in the order they were planned."""
    events.append((at, SALE, f"{len(events):09d}", (action, path, until)))
    status[path.unit] = new


def _last_reservations(rows, rng, events, status, free_at, paths) -> None:
    """Bring the units held today to ~5 %: reservations of the last weeks, not yet decided."""
    total = sum(len(r) for r in rows.values())
    held = sum(1 for s in status.values() if s == UnitStatus.RESERVED)
    candidates = [
        u
        for building in sorted(rows)
        for u, kind, *_ in rows[building]
        if status[u] == UnitStatus.AVAILABLE and kind != UnitKind.STORAGE
    ]
    for u in sorted(rng.sample(candidates, max(0, min(len(candidates), total // 20 - held)))):
        at = END - timedelta(days=rng.randint(1, 40), hours=24 - rng.choice(SALE_HOURS))
        if at > free_at[u]:
            _sale_event(events, at, "hold", paths.new(u), status, UnitStatus.RESERVED)


def replay(events: list[tuple], people, managers: list, seed: int, say=lambda line: None) -> None:
    """Write the events in date order through the services, one call per group; the sales
    steps go through ``SalesReplay`` (which adds the payments as they fall due). ``say``
    hears the progress: a line per tenth of the events, and one at least every
    ``PROGRESS_SECONDS`` between them, with the month reached."""
    keeper = people[Role.INVENTORY_KEEPER]
    sales = SalesReplay(people=people, managers=managers, end=END, seed=seed)
    started, done, tenth = time.perf_counter(), 0, max(len(events) // 10, 1)
    next_report, last_said = tenth, started
    for (at, order, group), items in groupby(events, key=lambda e: e[:3]):
        now = time.perf_counter()
        if done >= next_report or now - last_said >= PROGRESS_SECONDS:
            while next_report <= done:
                next_report += tenth
            last_said = now
            say(
                f"  {done * 100 // len(events):>3} %  {at:%Y-%m}  {done:,} of {len(events):,} "
                f"events, {now - started:.0f} s"
            )
        sales.play_due(at)
        payloads = [e[3] for e in items]
        done += len(payloads)
        if order == SALE:
            for action, path, until in payloads:
                sales.apply(at, action, path, until)
            continue
        if order == PRICE:
            for building_id, percent, rooms, reason in payloads:
                units = Unit.objects.filter(
                    building_id=building_id,
                    status__in=[UnitStatus.AVAILABLE, UnitStatus.NOT_FOR_SALE],
                )
                if rooms is not None:
                    units = units.filter(rooms=rooms)
                if not units.exists():
                    continue
                units_bulk_set_price(
                    units=units,
                    percent=percent,
                    round_to=Decimal(1000),
                    by=keeper,
                    reason=reason,
                    at=at,
                )
            continue
        new_status, reason = group.split("|", 1)
        for i in range(0, len(payloads), CHUNK):
            units_bulk_set_status(
                units=Unit.objects.filter(pk__in=payloads[i : i + CHUNK]),
                status=new_status,
                by=keeper,
                reason=reason,
                at=at,
            )
    sales.play_to_end()
