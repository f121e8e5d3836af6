"""Schematic floor plans for the demo: one SVG per section's typical floor, with each unit's
place marked on it (``Unit.plan_region``), so the unit card shows where the flat is."""

from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from kvartal.inventory.models import Section, UnitKind
from kvartal.inventory.services import floor_save, unit_update

WIDTH, HEIGHT = 1000, 420
MARGIN, CORRIDOR = 20, 60


def _boxes(positions: list[int]) -> dict[int, tuple[float, float, float, float]]:
    """Units around a corridor: the first half along the top, left to right, the rest along
    the bottom, right to left (so position numbers go round the landing like the doors)."""
    top = positions[: (len(positions) + 1) // 2]
    bottom = list(reversed(positions[len(top) :]))
    inner_w = WIDTH - 2 * MARGIN
    row_h = (HEIGHT - 2 * MARGIN - CORRIDOR) / 2
    boxes = {}
    for row, y in ((top, MARGIN), (bottom, MARGIN + row_h + CORRIDOR)):
        if not row:
            continue
        w = inner_w / len(row)
        for i, position in enumerate(row):
            boxes[position] = (MARGIN + i * w, y, w, row_h)
    return boxes


def _svg(title: str, boxes: dict[int, tuple[float, float, float, float]], rooms: dict) -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="DejaVu Sans, Arial, sans-serif">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f7f9fb"/>',
        f'<rect x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}" '
        f'height="{HEIGHT - 2 * MARGIN}" fill="#fff" stroke="#33414f" stroke-width="6"/>',
        f'<rect x="{WIDTH / 2 - 45}" y="{HEIGHT / 2 - CORRIDOR / 2}" width="90" '
        f'height="{CORRIDOR}" fill="#dfe6ee" stroke="#33414f" stroke-width="2"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2 + 6}" font-size="16" text-anchor="middle" '
        'fill="#33414f">▲▼</text>',
    ]
    for position, (x, y, w, h) in boxes.items():
        label = "Ст" if rooms.get(position) == 0 else f"{rooms.get(position, '')}к"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="none" '
            'stroke="#33414f" stroke-width="3"/>'
            f'<text x="{x + w / 2:.1f}" y="{y + h / 2:.1f}" font-size="22" text-anchor="middle" '
            f'fill="#5b6775">{position}</text>'
            f'<text x="{x + w / 2:.1f}" y="{y + h / 2 + 26:.1f}" font-size="16" '
            f'text-anchor="middle" fill="#8a94a0">{label}</text>'
        )
    parts.append(
        f'<text x="{MARGIN + 8}" y="{HEIGHT - 4}" font-size="13" fill="#8a94a0">{title}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def draw_plans(section: Section, *, by, at: datetime) -> None:
    """Give the section's typical floors one plan and mark every flat's place on it."""
    floors = list(section.floors.filter(is_typical=True))
    if not floors:
        return
    flats = list(
        section.units.filter(kind=UnitKind.APARTMENT, floor__in=floors).select_related(
            "floor", "section"
        )
    )
    rooms = {u.position: u.rooms for u in flats}
    boxes = _boxes(sorted(rooms))
    svg = _svg(f"{section.building.name}, {section}", boxes, rooms)
    name = default_storage.save(
        f"plans/floors/demo-{section.building_id}-{section.number}.svg", ContentFile(svg)
    )
    for floor in floors:
        floor.plan.name = name
        floor_save(floor=floor, by=by)
    for unit in flats:
        x, y, w, h = boxes[unit.position]
        region = ",".join(
            f"{value:.1f}"
            for value in (x / WIDTH * 100, y / HEIGHT * 100, w / WIDTH * 100, h / HEIGHT * 100)
        )
        unit_update(unit=unit, data={"plan_region": region}, by=by, reason="Поэтажный план", at=at)
