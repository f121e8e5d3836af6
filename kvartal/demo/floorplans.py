"""Schematic plans for the demo, drawn as PNG (the showcase and the feeds show raster images
only): one floor plan per section's typical floor, with each flat's place marked on it
(``Unit.plan_region``), and one flat plan per layout (a riser: every flat of the same position
on the typical floors has the same rooms and areas) — walls, windows, door openings and the
rooms labelled by their area. Deterministic: the same section draws the same bytes.

Cheap on purpose (a few ms each): greyscale images, drawn once per layout and per section
(not per unit), stored without PNG optimisation passes."""

from datetime import datetime
from decimal import Decimal
from functools import cache
from io import BytesIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFont

from kvartal.inventory.models import Section, Unit, UnitKind
from kvartal.inventory.services import floor_save, units_set_plan_regions

# 4:3, the size the unit page gives both pictures (480 × 360), at about twice that
WIDTH, HEIGHT = 800, 600
MARGIN, CORRIDOR = 24, 90
WALL, PARTITION = 7, 3

PAPER, INK, ROOM, GREY, WINDOW = "#ffffff", "#2b2b2b", "#f3f3f3", "#7a7a7a", "#b4b4b4"


@cache
def _font(size: int):
    """DejaVu Sans (Cyrillic) where the system has it, else Pillow's own scalable font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


@cache
def _speaks_russian() -> bool:
    font = _font(16)
    return isinstance(font, ImageFont.FreeTypeFont) and "DejaVu" in (font.getname()[0] or "")


def _m2(area) -> str:
    unit = "м²" if _speaks_russian() else "m²"
    return f"{Decimal(area):.1f}".replace(".", ",") + f" {unit}"


def _png(image: Image.Image) -> bytes:
    buffer = BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    # greyscale, as plans are printed: a third of the bytes to compress, and quick
    image = Image.new("L", (WIDTH, HEIGHT), PAPER)
    return image, ImageDraw.Draw(image)


def _label(draw, box, lines: list[tuple[str, int, str]]) -> None:
    """Lines of text centred in ``box`` (x0, y0, x1, y1), each (text, size, colour)."""
    x0, y0, x1, y1 = box
    heights = [size + 4 for _, size, _ in lines]
    y = (y0 + y1) / 2 - sum(heights) / 2
    for (text, size, colour), h in zip(lines, heights, strict=True):
        draw.text(((x0 + x1) / 2, y + h / 2), text, fill=colour, font=_font(size), anchor="mm")
        y += h


# --- the floor plan ------------------------------------------------------------------------


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


def floor_plan_png(title: str, boxes: dict, flats: dict) -> bytes:
    """The typical floor: outer walls, the corridor with the stairs and lifts, each flat's
    walls with its entrance from the corridor, its number, rooms and total area.
    ``flats``: {position: (rooms, total area)}."""
    image, draw = _canvas()
    draw.rectangle([MARGIN, MARGIN, WIDTH - MARGIN, HEIGHT - MARGIN], fill=ROOM)
    cy = HEIGHT / 2
    draw.rectangle([MARGIN, cy - CORRIDOR / 2, WIDTH - MARGIN, cy + CORRIDOR / 2], fill=PAPER)
    core = (WIDTH / 2 - 60, cy - CORRIDOR / 2 + 12, WIDTH / 2 + 60, cy + CORRIDOR / 2 - 12)
    draw.rectangle(core, fill="#dfe6ee", outline=INK, width=PARTITION)
    _label(draw, core, [("▲▼", 16, INK)])
    for position, (x, y, w, h) in boxes.items():
        draw.rectangle([x, y, x + w, y + h], outline=INK, width=PARTITION + 1)
        door_y = y + h if y < cy else y  # the entrance: a gap in the wall on the corridor
        draw.line([x + w / 2 - 14, door_y, x + w / 2 + 14, door_y], fill=PAPER, width=WALL)
        window_y = y if y < cy else y + h  # windows on the outer wall
        draw.line([x + w * 0.25, window_y, x + w * 0.75, window_y], fill=WINDOW, width=WALL - 2)
        rooms, total = flats.get(position, (None, None))
        kind = "" if rooms is None else ("студия" if rooms == 0 else f"{rooms}-комн.")
        if not _speaks_russian():
            kind = "" if rooms is None else ("studio" if rooms == 0 else f"{rooms} rooms")
        lines = [(str(position), 26, INK)]
        if kind:
            lines.append((kind, 15, GREY))
        if total:
            lines.append((_m2(total), 15, GREY))
        _label(draw, (x, y, x + w, y + h), lines)
    draw.rectangle([MARGIN, MARGIN, WIDTH - MARGIN, HEIGHT - MARGIN], outline=INK, width=WALL)
    draw.text((MARGIN + 6, HEIGHT - MARGIN + 4), title, fill=GREY, font=_font(13))
    return _png(image)


# --- the flat plan (one per layout) ----------------------------------------------------------


def _rooms_of(rooms: int, total, living, kitchen) -> tuple[list, list]:
    """The flat's rooms as (name, area): the top row (living rooms and the kitchen, by the
    windows) and the bottom row (hall and bathroom). Areas add up to the total area."""
    total = Decimal(total)
    living = Decimal(living or total * Decimal("0.5"))
    ru = _speaks_russian()
    if rooms == 0:  # a studio: one room with the kitchen corner
        top = [("Комната" if ru else "Room", living)]
        kitchen = Decimal(0)
    else:
        kitchen = Decimal(kitchen or 0)
        weights = [Decimal(10 + 3 * (rooms - i)) for i in range(rooms)]  # the first the largest
        parts = [(living * w / sum(weights)).quantize(Decimal("0.1")) for w in weights]
        parts[0] += living - sum(parts)
        top = [("Комната" if ru else "Room", a) for a in parts]
        top.append(("Кухня" if ru else "Kitchen", kitchen))
    rest = max(total - living - kitchen, Decimal("4.0"))
    bath = min((rest * Decimal("0.35")).quantize(Decimal("0.1")), Decimal("6.0") + rooms)
    bottom = [("Прихожая" if ru else "Hall", rest - bath), ("С/у" if ru else "Bath", bath)]
    return top, bottom


def flat_plan_png(rooms: int, total, living, kitchen) -> bytes:
    """A flat of ``rooms`` rooms: outer walls with windows, the living rooms and the kitchen
    along the windows, the hall and the bathroom behind, door openings, areas in m²."""
    top, bottom = _rooms_of(rooms, total, living, kitchen)
    image, draw = _canvas()
    x0, y0, x1, y1 = MARGIN + 10, MARGIN + 10, WIDTH - MARGIN - 10, HEIGHT - MARGIN - 40
    draw.rectangle([x0, y0, x1, y1], fill=ROOM)
    top_area = sum(a for _, a in top)
    bottom_area = sum(a for _, a in bottom)
    split = y0 + (y1 - y0) * float(top_area / (top_area + bottom_area))
    split = min(max(split, y0 + (y1 - y0) * 0.55), y0 + (y1 - y0) * 0.78)
    doors = []  # where each room of the top row opens to the hall
    for row, (ry0, ry1), windows in ((top, (y0, split), True), (bottom, (split, y1), False)):
        row_area = sum(a for _, a in row) or Decimal(1)
        x = x0
        for n, (name, area) in enumerate(row):
            w = (x1 - x0) * float(area / row_area)
            right = x1 if n == len(row) - 1 else x + w
            if n:
                draw.line([x, ry0, x, ry1], fill=INK, width=PARTITION)
            if windows:
                draw.line([x + w * 0.3, y0, x + w * 0.7, y0], fill=WINDOW, width=WALL - 2)
                doors.append((x, right))
            elif n:  # the bathroom's door, from the hall
                draw.line([x, ry0 + 14, x, ry0 + 50], fill=ROOM, width=PARTITION + 2)
            _label(draw, (x, ry0, right, ry1), [(name, 17, INK), (_m2(area), 20, INK)])
            x = right
    draw.line([x0, split, x1, split], fill=INK, width=PARTITION)
    hall_right = x0 + (x1 - x0) * float(bottom[0][1] / bottom_area)
    for left, right in doors:  # into the hall; a room beyond it opens into its neighbour
        door = min(right - 56, hall_right - 56)
        if door >= left + 12:
            draw.line([door, split, door + 40, split], fill=ROOM, width=PARTITION + 2)
        else:
            draw.line([left, split - 54, left, split - 12], fill=ROOM, width=PARTITION + 2)
    draw.rectangle([x0, y0, x1, y1], outline=INK, width=WALL)
    draw.line([x0 + 30, y1, x0 + 80, y1], fill=PAPER, width=WALL + 1)
    caption = f"{_m2(total)}"
    draw.text((x0, y1 + 12), caption, fill=GREY, font=_font(15))
    return _png(image)


# --- the demo's sections ---------------------------------------------------------------------


def draw_plans(section: Section, *, by, at: datetime) -> None:
    """Give the section's typical floors one floor plan, each layout of them (a position on
    the typical floors) one flat plan, and mark every flat's place on the floor plan."""
    floors = list(section.floors.filter(is_typical=True))
    if not floors:
        return
    flats = list(
        section.units.filter(kind=UnitKind.APARTMENT, floor__in=floors).only(
            "pk", "position", "rooms", "total_area", "living_area", "kitchen_area"
        )
    )
    layouts = {}  # position → a flat of it (all flats of a position share the layout)
    for unit in flats:
        layouts.setdefault(unit.position, unit)
    boxes = _boxes(sorted(layouts))
    png = floor_plan_png(
        f"{section.building.name}, {section}",
        boxes,
        {p: (u.rooms, u.total_area) for p, u in layouts.items()},
    )
    prefix = f"demo-{section.building_id}-{section.number}"
    name = default_storage.save(f"plans/floors/{prefix}.png", ContentFile(png))
    for floor in floors:
        floor.plan.name = name
        floor_save(floor=floor, by=by)
    for position, unit in sorted(layouts.items()):
        png = flat_plan_png(unit.rooms or 0, unit.total_area, unit.living_area, unit.kitchen_area)
        layout = default_storage.save(f"plans/units/{prefix}-{position}.png", ContentFile(png))
        # a file field, not a sales fact: one statement for the flats of this layout
        Unit.objects.filter(pk__in=[u.pk for u in flats if u.position == position]).update(
            layout=layout
        )
    regions = {}
    for unit in flats:
        x, y, w, h = boxes[unit.position]
        regions[unit.pk] = ",".join(
            f"{value:.1f}"
            for value in (x / WIDTH * 100, y / HEIGHT * 100, w / WIDTH * 100, h / HEIGHT * 100)
        )
    # One statement for the section's flats (a locked read, a validation and two writes per
    # flat through ``unit_update`` were a fifth of the demo's load).
    units_set_plan_regions(regions=regions, by=by, reason="Поэтажный план", at=at)
