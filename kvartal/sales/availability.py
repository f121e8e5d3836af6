"""The one availability rule: may this unit be held or sold now, and if not, why.

Every door asks here — the unit card and the hold and deal pages, the admin, imports, jobs,
the API, the showcase, the call-centre panel and the agency cabinet — and every sales service
repeats the same rule under the unit's row lock with the facts it read there, so a refusal
reads the same whichever door it came through. Lists of what can be taken (the catalogue, the
showcase, feeds) filter with ``Unit.objects.on_sale(now)``: the same rule as SQL over the
fields the sales services keep on the unit row in the same transaction as the hold or deal
(a test holds the two together).

The rule: a unit can be taken when it is in no active deal, has no live hold (or the live hold
belongs to the one taking it: a deal takes over its buyers' hold), and its status as users see
it (``Unit.effective_status``: a hold that ran out reads as ended) is "available".
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kvartal.core.errors import DomainError
from kvartal.inventory.models import Unit, UnitStatus

from .models import DealUnit, Hold, HoldState, QueueEntry, QueueState


class UnitNotAvailable(DomainError):
    """The unit is in a deal, sold, not on sale, or held for somebody else."""

    code = "unit_not_available"
    field = "unit"


@dataclass(frozen=True)
class UnitFacts:
    """What the rule needs besides the unit row: the unit's active hold (live or run out) and
    whether it is in an active deal (an active ``DealUnit``: any unit of a deal counts)."""

    hold_id: int | None = None
    hold_client_id: int | None = None
    hold_expires_at: datetime | None = None
    in_deal: bool = False

    def live_hold(self, now: datetime) -> bool:
        return self.hold_id is not None and self.hold_expires_at > now


# Read under the unit's lock, as one statement (the hot path of taking a unit; the ORM's four
# subqueries cost several times the query itself in CPU). A statement of its own after the
# lock's, so that on PostgreSQL it sees what the previous holder of the lock committed.
_FACTS_SQL = """
SELECT h.id, h.client_id, h.expires_at,
    EXISTS (SELECT 1 FROM {deal} d WHERE d.unit_id = %(unit)s AND d.is_active = %(true)s),
    EXISTS (SELECT 1 FROM {queue} q
            WHERE q.unit_id = %(unit)s AND q.client_id = %(client)s AND q.state = %(waiting)s)
FROM (SELECT 1) one
LEFT JOIN {hold} h ON h.unit_id = %(unit)s AND h.state = %(active)s
"""


def unit_facts(unit: Unit, *, client=None) -> tuple[UnitFacts, bool]:
    """The facts of ``unit`` in one query, and whether ``client`` waits in its queue (a new
    client, ``None``, does not). Services call it right after taking the unit's lock."""
    sql = _FACTS_SQL.format(
        hold=Hold._meta.db_table, deal=DealUnit._meta.db_table, queue=QueueEntry._meta.db_table
    )
    params = {
        "unit": unit.pk,
        "active": HoldState.ACTIVE,
        "true": True,
        "client": client.pk if client is not None else None,
        "waiting": QueueState.WAITING,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        hold_id, client_id, expires_at, in_deal, waiting = cursor.fetchone()
    if isinstance(expires_at, str):  # SQLite hands raw datetimes back as text
        expires_at = parse_datetime(expires_at)
    if expires_at is not None and timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at, UTC)
    return UnitFacts(hold_id, client_id, expires_at, bool(in_deal)), bool(waiting)


def _read_facts(unit: Unit) -> UnitFacts:
    return unit_facts(unit)[0]


def _until(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def unit_blocker(
    unit: Unit,
    *,
    now: datetime | None = None,
    facts: UnitFacts | None = None,
    for_clients: frozenset[int] | set[int] = frozenset(),
    hold_id: int | None = None,
) -> str | None:
    """Why ``unit`` cannot be held or sold now (a message), or ``None`` when it can.

    ``for_clients``: the clients taking it (a deal's buyers) — their own live hold does not
    block them; ``hold_id``: the live hold being turned into a deal. ``facts``: what a service
    read under the unit's lock (``unit_facts``); a page leaves it out and it is read here.
    """
    now = now or timezone.now()
    facts = facts if facts is not None else _read_facts(unit)
    if facts.in_deal or unit.status == UnitStatus.SOLD:
        if unit.status == UnitStatus.SOLD:
            return _("%(unit)s is already sold.") % {"unit": unit}
        return _("%(unit)s is in a deal.") % {"unit": unit}
    if facts.live_hold(now):
        if facts.hold_id == hold_id or facts.hold_client_id in for_clients:
            return None  # the taker's own hold: the deal takes it over
        return _("%(unit)s is already held (until %(until)s).") % {
            "unit": unit,
            "until": _until(facts.hold_expires_at),
        }
    status = unit.effective_status(now)
    if status != UnitStatus.AVAILABLE:
        return _("%(unit)s is not on sale: it is “%(status)s”.") % {
            "unit": unit,
            "status": UnitStatus(status).label,
        }
    return None


def unit_is_available(unit: Unit, *, now: datetime | None = None) -> bool:
    """The predicate for pages: can anyone hold or buy ``unit`` now."""
    return unit_blocker(unit, now=now) is None


def unit_check(
    unit: Unit,
    *,
    now: datetime | None = None,
    facts: UnitFacts | None = None,
    for_clients: frozenset[int] | set[int] = frozenset(),
    hold_id: int | None = None,
) -> None:
    """``unit_blocker`` for services: raises ``UnitNotAvailable`` with its message."""
    reason = unit_blocker(unit, now=now, facts=facts, for_clients=for_clients, hold_id=hold_id)
    if reason is not None:
        raise UnitNotAvailable(reason)


def facts_from_hold(hold: Hold | None, *, in_deal: bool) -> UnitFacts:
    """Facts from a unit's active hold read under its lock (the deal services' way)."""
    if hold is None or hold.state != HoldState.ACTIVE:
        return UnitFacts(in_deal=in_deal)
    return UnitFacts(hold.pk, hold.client_id, hold.expires_at, in_deal)
