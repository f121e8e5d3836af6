"""The live feed: what an open page must show without a reload.

Two sources, read by primary key after a cursor ``"<unit>.<event>"``:

- every unit's status changes, straight from inventory's append-only ``StatusChange`` rows
  (the sales services write one in the same transaction as the hold or deal), for anyone who
  may see the inventory: open chessboards, unit cards and the panel recolour the unit;
- ``LiveEvent`` rows for one user: a call ringing on their extension (the screen pop).

The page reads the feed as server-sent events (one short response at a time: the browser
reconnects with ``Last-Event-ID``) or, when streams are refused or unsupported, by polling.
A database table rather than Redis pub/sub: it works the same on one laptop with SQLite and on
several app servers with PostgreSQL, and a reconnecting page misses nothing.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Max, Min

from kvartal.accounts.permissions import INVENTORY_VIEW, has_capability
from kvartal.inventory.models import STATUS_COLOURS, StatusChange, UnitStatus

from .models import LiveEvent

BATCH = 200


@dataclass(frozen=True)
class Cursor:
    unit: int = 0
    event: int = 0

    def __str__(self) -> str:
        return f"{self.unit}.{self.event}"

    @classmethod
    def parse(cls, text: str) -> "Cursor | None":
        try:
            unit, event = (int(part) for part in (text or "").split("."))
        except ValueError:
            return None
        if unit < 0 or event < 0 or unit > 2**62 or event > 2**62:
            return None
        return cls(unit, event)


def cursor_now(user) -> Cursor:
    """The feed's end now: a page starts reading after it."""
    unit = StatusChange.objects.aggregate(m=Max("pk"))["m"] or 0
    event = LiveEvent.objects.filter(user=user).aggregate(m=Max("pk"))["m"] or 0
    return Cursor(unit, event)


def cursor_since(user, epoch: int) -> Cursor:
    """The cursor just before whatever was written at or after ``epoch`` (Unix seconds): a
    page stamps the moment it was rendered, so changes made while it loaded are not lost."""
    try:
        moment = datetime.fromtimestamp(int(epoch), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return cursor_now(user)
    first_unit = StatusChange.objects.filter(at__gte=moment).aggregate(m=Min("pk"))["m"]
    first_event = LiveEvent.objects.filter(user=user, at__gte=moment).aggregate(m=Min("pk"))["m"]
    now = cursor_now(user)
    return Cursor(
        first_unit - 1 if first_unit else now.unit,
        first_event - 1 if first_event else now.event,
    )


def read(user, cursor: Cursor) -> list[tuple[str, dict, Cursor]]:
    """Events after ``cursor`` for ``user``: ``(kind, data, cursor after it)``, in order.
    Two queries however many events."""
    out: list[tuple[str, dict, Cursor]] = []
    if has_capability(user, INVENTORY_VIEW):
        rows = (
            StatusChange.objects.filter(pk__gt=cursor.unit)
            .order_by("pk")
            .values_list("pk", "unit_id", "new_status")[:BATCH]
        )
        for pk, unit_id, status in rows:
            cursor = Cursor(pk, cursor.event)
            out.append(
                (
                    "unit",
                    {
                        "id": unit_id,
                        "status": status,
                        "label": str(UnitStatus(status).label),
                        "colour": STATUS_COLOURS.get(status, ""),
                    },
                    cursor,
                )
            )
    events = (
        LiveEvent.objects.filter(user=user, pk__gt=cursor.event)
        .order_by("pk")
        .values_list("pk", "kind", "data")[:BATCH]
    )
    for pk, kind, data in events:
        cursor = Cursor(cursor.unit, pk)
        out.append((kind, data, cursor))
    return out
