"""Hooks through which higher apps (sales, clients) add to inventory's pages.

Inventory never imports a higher app. A higher app registers providers here from its
``AppConfig.ready()``; the chessboard and the unit card call every registered provider.
Each provider must cost a constant number of queries however many units it is given.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CellMark:
    """Something a chessboard cell shows beside its status: an extra CSS class (``css``,
    e.g. ``expiring``, ``promo``, ``overdue``, ``paid``, ``part-paid``) and a line for the
    cell's tooltip."""

    css: str
    title: str = ""


@dataclass
class Panel:
    """A block on the unit card: a template and its context."""

    template: str
    context: dict = field(default_factory=dict)
    order: int = 50


# (unit ids, now) → {unit id: [marks]}
ChessboardMarks = Callable[[Iterable[int], datetime], dict[int, list[CellMark]]]
# (request, unit) → panels
UnitPanels = Callable[[object, object], list[Panel]]
# unit → timeline events (dicts with at, kind, actor, text …) merged into the unit's history
UnitTimeline = Callable[[object], list]

chessboard_marks: list[ChessboardMarks] = []
unit_panels: list[UnitPanels] = []
unit_timeline: list[UnitTimeline] = []
