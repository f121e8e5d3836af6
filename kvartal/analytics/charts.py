"""Charts drawn on the server as inline SVG: the same markup on the page and in the PDF.

WeasyPrint draws inline SVG but runs no JavaScript and reads CSS variables unreliably, and the
product must work in a closed network, so a chart is plain SVG with presentation attributes
(``fill=``, ``stroke=``), no stylesheet, no script, nothing fetched. Text comes from user data
(series names, labels) and is always escaped. The output depends only on the input and the
active language, so the same chart gives the same string (cacheable, testable).

Sizes are in SVG user units inside ``viewBox="0 0 width height"``; the element also carries
``width``/``height`` (WeasyPrint's intrinsic size) and an inline ``max-width:100%``, so in a
PDF it shrinks to the column and keeps its proportions. Not ``height:auto`` inline: WeasyPrint
70 then draws the chart square. A web page wanting the chart to scale with the column adds
``svg.chart { height: auto; }`` (or ``width: 100%; height: auto``) to its stylesheet, which
WeasyPrint also gets right.
"""

import math
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import gettext, pgettext

from .results import UNIT_LABELS, Chart, format_value

FONT_FAMILY = "DejaVu Sans, Arial, sans-serif"
FONT_SIZE = 12  # ticks, labels and legend: ~8 pt when 720 units are printed 170 mm wide
TEXT = "#333333"
MUTED = "#666666"
GRID = "#e4e4e4"
AXIS = "#8a8a8a"
FALLBACK_COLOUR = "#1f4e79"

PAD = 8  # around the whole drawing
TICK_GAP = 6  # between a tick label and the plot
LABEL_GAP = 8  # the least space between two horizontal x labels
ROTATED_PITCH = FONT_SIZE * 1.6  # the least distance between two rotated (-45°) x labels
MAX_LABEL_WIDTH = 180  # longer x labels are cut with "…" (the tooltip keeps the whole label)
LEGEND_SWATCH = 11
LEGEND_ROW = 18
LEGEND_ITEM_GAP = 18
MIN_PLOT_HEIGHT = 100
SIN45 = math.sqrt(0.5)

THOUSAND, MILLION, BILLION = Decimal(10) ** 3, Decimal(10) ** 6, Decimal(10) ** 9
_NICE_MANTISSAS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))
# Characters XML 1.0 forbids (C0 controls but tab/newline/return, lone surrogates, U+FFFE/F):
# one of them in a client's name would make the whole SVG unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --- public helpers ------------------------------------------------------------------------


def nice_ticks(lo, hi, count: int = 5, *, whole: bool = False) -> list:
    """Round axis ticks covering ``lo``..``hi``: a step of 1, 2, 2.5 or 5 × 10ⁿ, at most
    ``count`` intervals (so 4 to 6 ticks for the default 5), every tick a multiple of the
    step (so 0 is a tick whenever the range crosses it). ``whole``: no step below 1 (counts
    of units have no halves; 0..2 gives three ticks). Ticks are ``int`` when whole, else
    ``float``; computed in ``Decimal`` so 0.1 steps do not drift.
    """
    lo, hi = _decimal(lo), _decimal(hi)
    if lo > hi:
        lo, hi = hi, lo
    if lo == hi:  # one value: show it against zero
        if lo == 0:
            hi = Decimal(1)
        elif lo > 0:
            lo = Decimal(0)
        else:
            hi = Decimal(0)
    count = max(2, int(count))
    step = _nice_at_least((hi - lo) / count)
    if whole:
        step = max(step, Decimal(1))
    while True:
        first = (lo / step).to_integral_value(ROUND_FLOOR)
        last = (hi / step).to_integral_value(ROUND_CEILING)
        if last - first <= count:
            break
        step = _next_nice(step)
    return [_plain(k * step) for k in range(int(first), int(last) + 1)]


def compact_number(value, value_kind: str) -> str:
    """A value in few characters, as on an axis: money and price per m² in thousands,
    millions or billions ("12.5M", in Russian "12,5 млн"), percent with " %", counts and
    areas grouped. At most one decimal, none when it is zero.
    """
    number = _decimal(value)
    if value_kind in ("money", "price_m2"):
        divisor, template = _money_unit(abs(number))
        scaled = (number / divisor).quantize(Decimal("0.1"), ROUND_HALF_UP)
        if abs(scaled) >= 1000 and divisor < BILLION:  # 999 999 is "1M", not "1,000k"
            divisor, template = _money_unit(divisor * 1000)
            scaled = (number / divisor).quantize(Decimal("0.1"), ROUND_HALF_UP)
        if abs(scaled) >= 100:
            scaled = scaled.quantize(Decimal(1), ROUND_HALF_UP)
        return _with_unit(_format(scaled), template)
    places = 1 if value_kind in ("percent", "area") and abs(number) < 100 else 0
    text = _format(number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))
    return text + " %" if value_kind == "percent" else text


def render_svg(
    chart: Chart, *, palette: list[str], kind: str = "bar", width: int = 720, height: int = 280
) -> str:
    """The chart as a complete ``<svg>`` element: grouped bars or lines (``chart.kind`` wins
    over ``kind`` when set), a y axis of round ticks, x labels thinned (or turned 45°) so
    they never overlap, a legend for several series, a tooltip per bar or point. ``None``
    is a gap: no bar, a break in the line. Series *i* is drawn in ``palette[i % len]``.
    No labels, or nothing but ``None`` and zeros: a placeholder saying there is no data.
    """
    kind = chart.kind or kind
    kind = kind if kind in ("bar", "line") else "bar"
    palette = [str(c) for c in palette if c] or [FALLBACK_COLOUR]
    labels = [str(label) for label in chart.labels]
    n = len(labels)
    series = [
        (str(s.name), [_float(v) for v in (list(s.values) + [None] * n)[:n]], list(s.values))
        for s in chart.series
    ]
    present = [v for _name, values, _raw in series for v in values if v is not None]
    if not n or not any(present):
        return _placeholder(str(chart.title), width, height)
    return _Drawing(chart, kind, palette, labels, series, present, width, height).svg()


# --- the drawing ---------------------------------------------------------------------------


class _Drawing:
    """One chart laid out: margins from the text that must fit, then the marks."""

    def __init__(self, chart, kind, palette, labels, series, present, width, height):
        self.chart, self.kind, self.palette = chart, kind, palette
        self.labels, self.series = labels, series
        self.value_kind = chart.value_kind
        self.width, self.requested_height = width, height

        lo, hi = min(present), max(present)
        if kind == "bar" or _line_from_zero(lo, hi):
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        ticks = nice_ticks(lo, hi, whole=self.value_kind == "int")
        self.ticks = [float(t) for t in ticks]
        self.tick_labels = axis_labels(ticks, self.value_kind)

        self.left = PAD + max(_text_width(t) for t in self.tick_labels) + TICK_GAP
        self.right = float(PAD)
        self._place_x_labels()
        self.legend = self._legend_rows() if len(series) > 1 else []
        self.top = PAD + len(self.legend) * LEGEND_ROW + (FONT_SIZE / 2 if self.legend else 6)
        self.height = max(height, math.ceil(self.top + self.bottom + MIN_PLOT_HEIGHT))
        self.plot_bottom = self.height - self.bottom
        self.plot_height = self.plot_bottom - self.top

    # geometry

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def slot(self) -> float:
        return self.plot_width / len(self.labels)

    def x_center(self, i: int) -> float:
        return self.left + (i + 0.5) * self.slot

    def y(self, value: float) -> float:
        lo, hi = self.ticks[0], self.ticks[-1]
        return self.top + self.plot_height * (hi - value) / (hi - lo)

    # layout

    def _legend_rows(self) -> list[list[tuple[int, str, float]]]:
        """Legend items (series index, name, x) wrapped into rows that fit the width."""
        available = self.width - self.left - PAD
        rows, row, x = [], [], 0.0
        for i, (name, _values, _raw) in enumerate(self.series):
            text = _shorten(name, available - LEGEND_SWATCH - 5)
            item = LEGEND_SWATCH + 5 + _text_width(text)
            if row and x + item > available:
                rows.append(row)
                row, x = [], 0.0
            row.append((i, text, self.left + x))
            x += item + LEGEND_ITEM_GAP
        rows.append(row)
        return rows

    def _place_x_labels(self) -> None:
        """Which x labels to show and how: all flat if they fit; else all turned 45° if
        that fits; else every n-th flat. Margins widen until edge labels fit the drawing."""
        texts = [_shorten(label, MAX_LABEL_WIDTH) for label in self.labels]
        widest = max(_text_width(t) for t in texts)
        # a turned label takes at most about a third of the height
        rotated_limit = 0.35 * self.requested_height / SIN45 - FONT_SIZE
        for _attempt in range(4):
            slot = self.slot
            if widest + LABEL_GAP <= slot:
                self.rotated, self.every = False, 1
            elif slot >= ROTATED_PITCH:
                self.rotated, self.every = True, 1
            else:
                self.rotated, self.every = False, math.ceil((widest + LABEL_GAP) / slot)
            self.x_texts = [
                (i, _shorten(self.labels[i], rotated_limit) if self.rotated else texts[i])
                for i in range(0, len(texts), self.every)
            ]
            reach_left, reach_right = [], []
            for i, text in self.x_texts:
                w = _text_width(text)
                if self.rotated:
                    reach_left.append(self.x_center(i) - w * SIN45)
                    reach_right.append(self.x_center(i) + FONT_SIZE)
                else:
                    reach_left.append(self.x_center(i) - w / 2)
                    reach_right.append(self.x_center(i) + w / 2)
            over_left = PAD - min(reach_left)
            over_right = max(reach_right) - (self.width - PAD)
            if over_left <= 0.5 and over_right <= 0.5:
                break
            # widen the margins, though never past a quarter of the width each
            self.left = min(self.left + max(over_left, 0), max(self.left, self.width / 4))
            self.right = min(self.right + max(over_right, 0), max(self.right, self.width / 4))
        if self.rotated:
            longest = max(_text_width(t) for _i, t in self.x_texts)
            self.bottom = 8 + (longest + FONT_SIZE) * SIN45 + PAD
        else:
            self.bottom = 8 + FONT_SIZE + PAD

    # output

    def svg(self) -> str:
        parts = [
            _open_svg(self.width, self.height),
            f"<title>{_esc(self.chart.title)}</title>",
            *self._axis(),
            *(self._bars() if self.kind == "bar" else self._lines()),
            *self._x_axis(),
            *self._legend(),
            "</svg>",
        ]
        return "\n".join(parts)

    def _axis(self) -> list[str]:
        parts = ['<g class="y-axis">']
        x1, x2 = _n(self.left), _n(self.width - self.right)
        for tick, text in zip(self.ticks, self.tick_labels, strict=True):
            y = self.y(tick)
            parts.append(
                f'<line class="grid" x1="{x1}" y1="{_n(y)}" x2="{x2}" y2="{_n(y)}" '
                f'stroke="{GRID}" stroke-width="1"/>'
            )
            parts.append(
                f'<text class="tick" x="{_n(self.left - TICK_GAP)}" '
                f'y="{_n(y + FONT_SIZE * 0.35)}" text-anchor="end" fill="{MUTED}">'
                f"{_esc(text)}</text>"
            )
        parts.append("</g>")
        return parts

    def _x_axis(self) -> list[str]:
        # the base line: at zero, or at the bottom when a line's axis does not reach zero
        zero = self.y(0.0 if self.ticks[0] <= 0 <= self.ticks[-1] else self.ticks[0])
        parts = [
            '<g class="x-axis">',
            f'<line class="zero" x1="{_n(self.left)}" y1="{_n(zero)}" '
            f'x2="{_n(self.width - self.right)}" y2="{_n(zero)}" stroke="{AXIS}" '
            f'stroke-width="1"/>',
        ]
        y = self.plot_bottom + 8 + FONT_SIZE * (0.35 if self.rotated else 0.85)
        for i, text in self.x_texts:
            if self.rotated:
                x = self.x_center(i) + FONT_SIZE * 0.35
                parts.append(
                    f'<text class="label" x="{_n(x)}" y="{_n(y)}" text-anchor="end" '
                    f'transform="rotate(-45 {_n(x)} {_n(y)})" fill="{TEXT}">{_esc(text)}</text>'
                )
            else:
                parts.append(
                    f'<text class="label" x="{_n(self.x_center(i))}" y="{_n(y)}" '
                    f'text-anchor="middle" fill="{TEXT}">{_esc(text)}</text>'
                )
        parts.append("</g>")
        return parts

    def _bars(self) -> list[str]:
        slot, count = self.slot, len(self.series)
        group = slot - min(slot * 0.3, 24)
        bar = group / count
        inner = min(bar * 0.1, 2) if count > 1 else 0
        zero = self.y(0.0)
        parts = []
        for s, (name, values, raw) in enumerate(self.series):
            colour = _esc(self.palette[s % len(self.palette)])
            parts.append(f'<g class="series" data-series="{s}" fill="{colour}">')
            for i, value in enumerate(values):
                if value is None:
                    continue
                x = self.left + i * slot + (slot - group) / 2 + s * bar + inner / 2
                top = min(zero, self.y(value))
                parts.append(
                    f'<rect class="bar" x="{_n(x)}" y="{_n(top)}" width="{_n(bar - inner)}" '
                    f'height="{_n(abs(self.y(value) - zero))}">'
                    f"<title>{_esc(self._tooltip(i, name, raw[i]))}</title></rect>"
                )
            parts.append("</g>")
        return parts

    def _lines(self) -> list[str]:
        radius = max(1.0, min(3.0, self.slot / 4))
        parts = []
        for s, (name, values, raw) in enumerate(self.series):
            colour = _esc(self.palette[s % len(self.palette)])
            parts.append(f'<g class="series" data-series="{s}">')
            runs, run = [], []
            for i, value in enumerate(values):
                if value is None:
                    runs.append(run)
                    run = []
                else:
                    run.append(f"{_n(self.x_center(i))},{_n(self.y(value))}")
            runs.append(run)
            for points in runs:
                if len(points) > 1:
                    parts.append(
                        f'<polyline class="line" points="{" ".join(points)}" fill="none" '
                        f'stroke="{colour}" stroke-width="2" stroke-linejoin="round" '
                        f'stroke-linecap="round"/>'
                    )
            for i, value in enumerate(values):
                if value is not None:
                    parts.append(
                        f'<circle class="point" cx="{_n(self.x_center(i))}" '
                        f'cy="{_n(self.y(value))}" r="{_n(radius)}" fill="{colour}" '
                        f'stroke="#ffffff" stroke-width="1">'
                        f"<title>{_esc(self._tooltip(i, name, raw[i]))}</title></circle>"
                    )
            parts.append("</g>")
        return parts

    def _legend(self) -> list[str]:
        if not self.legend:
            return []
        parts = ['<g class="legend">']
        for r, row in enumerate(self.legend):
            y = PAD + r * LEGEND_ROW
            for i, text, x in row:
                colour = _esc(self.palette[i % len(self.palette)])
                parts.append(
                    f'<rect class="swatch" x="{_n(x)}" y="{_n(y + 1)}" width="{LEGEND_SWATCH}" '
                    f'height="{LEGEND_SWATCH}" fill="{colour}"/>'
                )
                parts.append(
                    f'<text class="legend-item" x="{_n(x + LEGEND_SWATCH + 5)}" '
                    f'y="{_n(y + 1 + LEGEND_SWATCH / 2 + FONT_SIZE * 0.35)}" fill="{TEXT}">'
                    f"{_esc(text)}</text>"
                )
        parts.append("</g>")
        return parts

    def _tooltip(self, i: int, name: str, raw) -> str:
        value = format_value(raw, self.value_kind)
        unit = UNIT_LABELS.get(self.value_kind)
        if unit and self.value_kind != "percent":
            value = f"{value} {unit}"
        parts = [self.labels[i], name, value] if name else [self.labels[i], value]
        return ": ".join(parts)


def axis_labels(ticks: list, value_kind: str) -> list[str]:
    """Tick labels, exact (ticks are round, so no rounding is needed) and short: money in
    thousands, millions or billions each by its own size ("0", "500k", "1M", "1.5M"),
    percent with " %", other numbers grouped.
    """
    labels = []
    for tick in map(_decimal, ticks):
        if value_kind in ("money", "price_m2"):
            divisor, template = _money_unit(abs(tick))
            labels.append(_with_unit(_format(tick / divisor), template))
        elif value_kind == "percent":
            labels.append(_format(tick) + " %")
        else:
            labels.append(_format(tick))
    return labels


# --- pieces --------------------------------------------------------------------------------


def _open_svg(width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="xMidYMid meet" '
        f'font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}">'
    )


def _placeholder(title: str, width: int, height: int) -> str:
    message = gettext("No data for this period")  # not inside the f-string: makemessages
    return "\n".join(
        [
            _open_svg(width, height),
            f"<title>{_esc(title)}</title>",
            f'<rect class="placeholder" x="1" y="1" width="{width - 2}" height="{height - 2}" '
            f'rx="6" fill="#fafafa" stroke="{GRID}" stroke-width="1" stroke-dasharray="6 4"/>',
            f'<text class="empty" x="{_n(width / 2)}" y="{_n(height / 2 + FONT_SIZE * 0.35)}" '
            f'text-anchor="middle" font-size="{FONT_SIZE + 2}" fill="{MUTED}">'
            f"{_esc(message)}</text>",
            "</svg>",
        ]
    )


def _money_unit(magnitude: Decimal) -> tuple[Decimal, str | None]:
    """The divisor and the translated "%(number)s…" pattern for a money value this big."""
    if magnitude >= BILLION:
        return BILLION, pgettext("compact number, billions", "%(number)sbn")
    if magnitude >= MILLION:
        return MILLION, pgettext("compact number, millions", "%(number)sM")
    if magnitude >= THOUSAND:
        return THOUSAND, pgettext("compact number, thousands", "%(number)sk")
    return Decimal(1), None


def _with_unit(text: str, template: str | None) -> str:
    return template % {"number": text} if template else text


def _format(number: Decimal) -> str:
    """Grouped, with the language's separators, and only the decimals the number has."""
    places = max(0, -number.normalize().as_tuple().exponent)
    return number_format(number, places, force_grouping=True)


def _decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _float(value) -> float | None:
    """A value as a coordinate; ``None`` (and anything not a finite number) is a gap."""
    if value is None or isinstance(value, str) and not value.strip():
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, InvalidOperation):
        return None
    return number if math.isfinite(number) else None


def _plain(number: Decimal):
    return int(number) if number == number.to_integral_value() else float(number)


def _nice_at_least(raw: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ not below ``raw``."""
    base = Decimal(1).scaleb(raw.adjusted())
    for mantissa in (*_NICE_MANTISSAS, Decimal(10)):
        if mantissa * base >= raw:
            return mantissa * base
    raise AssertionError("unreachable: 10 × 10ⁿ ≥ raw")


def _next_nice(step: Decimal) -> Decimal:
    base = Decimal(1).scaleb(step.adjusted())
    mantissa = (step / base).normalize()
    bigger = [m for m in _NICE_MANTISSAS if m > mantissa]
    return bigger[0] * base if bigger else 10 * base


def _line_from_zero(lo: float, hi: float) -> bool:
    """Whether a line's axis starts at zero: unless the values sit in a narrow band far from
    it (the spread under a sixth of the largest magnitude, the rule spreadsheets use)."""
    if lo <= 0 <= hi:
        return True
    far = max(abs(lo), abs(hi))
    return (hi - lo) / far >= 1 / 6


_NARROW = set(" .,:;'!|()[]{}ijlrtf-\u00a0\u202f")
_WIDE = set("mwMWЖШЩЮМДФЫжшщюмдфы@%—")


def _text_width(text: str) -> float:
    """An estimate of the drawn width in DejaVu Sans (a wide font), erring on the wide side."""
    em = 0.0
    for char in text:
        if char in _NARROW:
            em += 0.36
        elif char in _WIDE:
            em += 0.9
        elif char.isupper():
            em += 0.72
        else:
            em += 0.64
    return em * FONT_SIZE


def _shorten(text: str, width: float) -> str:
    """The text no wider than ``width``: its middle replaced by "…" when needed. The middle,
    because names of the same kind often differ only at the end ("Building 1, section 2")."""
    if _text_width(text) <= width:
        return text
    keep = min(len(text) - 1, int(width / (0.36 * FONT_SIZE)))  # no character is narrower
    while keep > 1:
        head, tail = text[: (keep + 1) // 2].rstrip(), text[len(text) - keep // 2 :].lstrip()
        if _text_width(head + "…" + tail) <= width:
            return head + "…" + tail
        keep -= 1
    return text[:1] + "…"


def _esc(text) -> str:
    """Text safe in an XML text node and in a double-quoted attribute."""
    text = _NOT_XML.sub("", str(text))
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _n(number: float) -> str:
    """A coordinate, two decimals at most, always the same text for the same number."""
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
