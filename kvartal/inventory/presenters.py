"""The chessboard as HTML: its cells' marks from the sales hooks and its grids written as
ready markup (a thousand cells and more on a big building; the template engine would spend
most of the page's time on them). ``selectors.chessboard`` reads; this module presents."""

from collections import defaultdict
from collections.abc import Iterable
from html import escape

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from . import extensions, selectors
from .models import Unit, UnitStatus


def unit_marks(
    units: Iterable[extensions.BoardUnit | int], now=None
) -> dict[int, list[extensions.CellMark]]:
    """What the registered ``extensions.chessboard_marks`` providers add to these units
    (``BoardUnit``s or ids; a constant number of queries per provider)."""
    if not extensions.chessboard_marks:
        return {}
    if not isinstance(units, list):  # a board's ``BoardUnits`` go on as they are
        units = list(units)
    now = now or timezone.now()
    merged: dict[int, list[extensions.CellMark]] = defaultdict(list)
    for provider in extensions.chessboard_marks:
        for pk, marks in provider(units, now).items():
            merged[pk].extend(marks)
    return merged


def board_marks(board: selectors.Board) -> dict[int, list[extensions.CellMark]]:
    """The marks of the board's cells; none on a board of the past (``as_of``)."""
    if board.as_of is not None or not board.units:
        return {}
    return unit_marks(board.units)


def card_unit(unit: Unit) -> extensions.BoardUnit:
    """The unit card's unit as the marks providers see it (no query: the card has read it)."""
    status = unit.effective_status()
    return extensions.BoardUnit(
        pk=unit.pk,
        building_id=unit.building_id,
        project_id=unit.building.project_id,
        building_kind=unit.building.kind,
        kind=unit.kind,
        rooms=unit.rooms,
        status=status,
        hold_until=unit.hold_until if status == UnitStatus.RESERVED else None,
    )


# Stands for the number in the tooltip's text, made once and split where the number goes.
_MARKER = "\x00"


def board_grids(
    board: selectors.Board, *, floor_links: bool, marks: dict | None = None
) -> list[tuple[selectors.SectionBoard, SafeString, SafeString]]:
    """Each shown section with the head cells of its grid (``<th class="pos">`` per position)
    and its rows (``<tr>…</tr>`` lines) as ready HTML.

    A big building has a thousand cells and more; printed by the template engine they cost
    most of the page's time, so they are written here, markup for markup what the template
    wrote before. Every text is escaped (``html.escape`` is what ``django.utils.html.escape``
    runs, without its lazy-string wrapper); areas, prices, tags and classes repeat from cell
    to cell and are escaped once each. ``floor_links``: floor labels link to the floor's page.
    ``marks``: unit id → ``CellMark``s (extra classes and tooltip lines, ``board_marks``).
    """
    marks = marks or {}
    memo: dict[str, str] = {}
    ends: dict[tuple[str, str, str], str] = {}
    # What repeats from cell to cell is written and escaped once: the card URL around the
    # unit's id, the tooltip around its number (the translation split where the number
    # goes) and the tooltip's end per status. Escaping is per character, so the escaped
    # parts joined are the whole text escaped.
    marker = 987654321
    href = reverse("inventory:unit-detail", kwargs={"pk": marker}).split(str(marker))
    href_head, href_tail = escape(href[0]), escape(href[1])
    title_parts = escape(_("No. %(number)s") % {"number": _MARKER}).split(_MARKER)
    title_ends = {value: escape(f" · {label}") for value, label in UnitStatus.choices}

    def once(text: str) -> str:
        html = memo.get(text)
        if html is None:
            html = memo[text] = escape(text)
        return html

    floor_url = None
    if floor_links:
        marker = 987654321
        floor_head, floor_tail = map(
            escape, reverse("inventory:floor-update", kwargs={"pk": marker}).split(str(marker))
        )
        floor_title = escape(_("Floor plan and units"))

        def floor_url(floor_id: int, label: str) -> str:
            return f'<a href="{floor_head}{floor_id}{floor_tail}" title="{floor_title}">{label}</a>'

    void = '<td class="cell void"></td>'
    grids = []
    for section in board.sections:
        lines = []
        for row in section.rows:
            html = ["<tr>"]
            if row.span:
                label = escape(row.label)
                if floor_url is not None:
                    label = floor_url(row.floor_id, label)
                html.append(f'<th scope="row" rowspan="{row.span}">{label}</th>')
            for c in row.cells:
                if c is None:
                    html.append(void)
                    continue
                url = f"{href_head}{c.id}{href_tail}"
                number = c.number
                if not number.isalnum():  # letters and digits need no escaping
                    number = escape(number)
                css, title = c.css, number.join(title_parts) + title_ends[c.status]
                if extra := marks.get(c.id):
                    css = " ".join([css, *(m.css for m in extra)])
                    title = " · ".join([title, *(once(m.title) for m in extra if m.title)])
                # The cell's end (tag, area, price) repeats across a building: made once.
                end = ends.get(key := (c.tag, c.area, c.price))
                if end is None:
                    area = f"{once(c.area)}<br>" if c.area else ""
                    end = ends[key] = (
                        f'<span class="r">{once(c.tag)}</span><br>{area}{once(c.price)}</a></td>'
                    )
                html.append(
                    f'<td class="{once(css)}"><a href="{url}" hx-get="{url}" '
                    f'title="{title}"><b>{number}</b>{end}'
                )
            html.append("</tr>\n")
            lines.append("".join(html))
        head = "".join(f'<th class="pos">{p}</th>' for p in section.positions)
        grids.append((section, mark_safe(head), mark_safe("".join(lines))))
    return grids
