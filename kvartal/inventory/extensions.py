"""Hooks through which higher apps (sales, clients) add to inventory's pages.

Inventory never imports a higher app. A higher app registers providers here from its
``AppConfig.ready()``; the chessboard and the unit card call every registered provider.
Each provider must cost a constant number of queries however many units it is given.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True)
class CellMark:
    """Something a chessboard cell shows beside its status: an extra CSS class (``css``,
    e.g. ``expiring``, ``promo``, ``overdue``, ``paid``, ``part-paid``) and a line for the
    cell's tooltip."""

    css: str
    title: str = ""


class BoardUnit(NamedTuple):
    """What a marks provider may know of a unit without a query: the chessboard has read it
    already (its own query), the unit card has the unit. ``status`` is the effective one (a
    hold that ran out reads as available); ``hold_until`` is the live hold's end. A named
    tuple: a board makes one per unit, and a tuple is made several times faster than a
    frozen dataclass."""

    pk: int
    building_id: int
    project_id: int
    building_kind: str
    kind: str
    rooms: int | None
    status: str
    hold_until: datetime | None


class BoardUnits(list):
    """A chessboard's units (``BoardUnit``s, all of one building), with what they share
    known once: a provider given them needs no pass over a thousand units to learn their
    building, which kinds are on the board or which units are held."""

    def __init__(
        self,
        units: Iterable[BoardUnit],
        *,
        building_id: int,
        project_id: int,
        building_kind: str,
        kinds: Iterable[str],
        held: Iterable[BoardUnit],
    ):
        super().__init__(units)
        self.building_id = building_id
        self.project_id = project_id
        self.building_kind = building_kind
        self.kinds = frozenset(kinds)  # the unit kinds among them
        self.held = list(held)  # those with a live hold (``hold_until`` set)


@dataclass
class Panel:
    """A block on the unit card: a template and its context."""

    template: str
    context: dict = field(default_factory=dict)
    order: int = 50


# (units, now) → {unit id: [marks]}. ``units`` are ``BoardUnit``s (the chessboard and the
# unit card pass them, so that a provider needs no query for what the board has read) or
# plain unit ids. A board's units all belong to one building: filter by it, not by a
# thousand ids.
ChessboardMarks = Callable[[Iterable[BoardUnit | int], datetime], dict[int, list[CellMark]]]
# (request, unit) → panels
UnitPanels = Callable[[object, object], list[Panel]]
# unit → timeline events (dicts with at, kind, actor, text …) merged into the unit's history
UnitTimeline = Callable[[object], list]

chessboard_marks: list[ChessboardMarks] = []
unit_panels: list[UnitPanels] = []
unit_timeline: list[UnitTimeline] = []

# (request, changes: list of services.PricePreview, reason) → the URL to go to. When a higher
# app (pricing) registers one, the bulk price page sends its changes there (an approval
# queue) instead of applying them: every bulk change is then approved before it applies.
BulkPriceProposer = Callable[[object, list, str], str]
bulk_price_proposers: list[BulkPriceProposer] = []
