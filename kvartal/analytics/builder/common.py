"""The builder's limits and its vocabulary (dimensions, measures, a broken template)."""

from collections.abc import Callable
from dataclasses import dataclass

MAX_DIMENSIONS = 4
MAX_MEASURES = 6
MAX_ROWS = 2000  # beyond this a page is unreadable; the total still counts everything
MAX_SERIES = 8  # two dimensions: one chart series per value of the second, up to this many
TIME_DIMENSIONS = ("day", "week", "month", "quarter", "year")
FILTER_KEYS = (
    "period",
    "date_from",
    "date_to",
    "project",
    "building",
    "section",
    "unit_type",
    "manager",
)


class TemplateBroken(Exception):
    """A template (or a builder form) that cannot be built; ``str()`` says what to change.
    ``field`` names the part that is wrong: source, dimensions, measures or filters."""

    def __init__(self, message, field: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


@dataclass(frozen=True)
class Dimension:
    key: str
    label: object  # lazy text


@dataclass(frozen=True)
class Measure:
    key: str
    label: object  # lazy text
    kind: str  # a Column kind
    value: Callable[[dict], object]  # the figure from a group's sums
