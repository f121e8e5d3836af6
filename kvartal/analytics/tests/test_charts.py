"""Charts as inline SVG: well-formed, one mark per value, round axes, escaped text, the
placeholder when there is nothing to draw, numbers in the reader's language."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import translation

from kvartal.analytics.charts import axis_labels, compact_number, nice_ticks, render_svg
from kvartal.analytics.results import Chart, Series

SVG = "{http://www.w3.org/2000/svg}"
PALETTE = ["#1f4e79", "#e07b39", "#3c9d5d"]
NBSP = "\xa0"


def draw(chart: Chart, **kwargs) -> ET.Element:
    """Render and parse: a chart that is not well-formed XML fails here."""
    return ET.fromstring(render_svg(chart, palette=kwargs.pop("palette", PALETTE), **kwargs))


def of_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if cls in e.get("class", "").split()]


def tooltips(elements) -> list[str]:
    return [e.find(SVG + "title").text for e in elements]


def tick_texts(root) -> list[str]:
    return [t.text for t in of_class(root, "text", "tick")]


def series_group(root, index: int) -> ET.Element:
    return next(g for g in of_class(root, "g", "series") if g.get("data-series") == str(index))


def points(polyline) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in polyline.get("points").split()]


def months_chart(**kwargs) -> Chart:
    return Chart(
        "by_month",
        "Sales by month",
        ["Jan", "Feb", "Mar"],
        kwargs.pop("series", [Series("Flats", [10, 20, 30]), Series("Parking", [1, 2, 3])]),
        **kwargs,
    )


# --- the element ---------------------------------------------------------------------------


def test_the_chart_is_a_complete_svg_element_titled_by_the_chart():
    root = draw(months_chart())
    assert root.tag == SVG + "svg"
    assert root.get("viewBox") == "0 0 720 280"
    assert (root.get("width"), root.get("height")) == ("720", "280")
    assert root.get("preserveAspectRatio") == "xMidYMid meet"
    assert root.get("role") == "img"
    assert root[0].tag == SVG + "title" and root[0].text == "Sales by month"
    assert root.get("font-family") == "DejaVu Sans, Arial, sans-serif"
    # No style attribute (the Content-Security-Policy forbids them): kvartal.css and the PDF's
    # own stylesheet size the chart (not height:auto: WeasyPrint squares it).
    assert root.get("style") is None


def replaced_boxes(box) -> list:
    found = [box] if "Replaced" in type(box).__name__ else []
    for child in getattr(box, "children", None) or []:
        found += replaced_boxes(child)
    return found


@pytest.mark.parametrize(("column", "size"), [("170mm", (642.5, 249.9)), ("300px", (300, 116.7))])
def test_in_a_pdf_the_chart_fits_the_column_and_keeps_its_proportions(column, size):
    weasyprint = pytest.importorskip("weasyprint")
    svg = render_svg(months_chart(), palette=PALETTE)
    # The PDFs' stylesheet (templates/pdf/base.html) sizes charts: no style attribute on them.
    sizing = next(
        line.strip()
        for line in (settings.BASE_DIR / "templates/pdf/base.html").read_text().splitlines()
        if line.strip().startswith("svg.chart")
    )
    page = f"@page {{ size: A4; margin: 20mm }} body {{ width: {column} }} {sizing}"
    html = f"<style>{page}</style>{svg}"
    document = weasyprint.HTML(string=html).render()
    (box,) = replaced_boxes(document.pages[0]._page_box)  # WeasyPrint's layout of the chart
    assert (round(box.width, 1), round(box.height, 1)) == size


def test_width_and_height_are_those_asked_for():
    root = draw(months_chart(), width=400, height=200)
    assert root.get("viewBox") == "0 0 400 200"
    for bar in of_class(root, "rect", "bar"):
        assert float(bar.get("x")) >= 0 and float(bar.get("x")) + float(bar.get("width")) <= 400
        assert float(bar.get("y")) >= 0 and float(bar.get("y")) + float(bar.get("height")) <= 200


def test_the_same_chart_gives_the_same_svg():
    chart = months_chart()
    assert render_svg(chart, palette=PALETTE) == render_svg(chart, palette=list(PALETTE))


def test_nothing_is_fetched_and_nothing_runs():
    svg = render_svg(months_chart(), palette=PALETTE)
    for needle in ("<script", "href", "url(", "var(--", "<style", "@import", "http:", "https:"):
        assert needle not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    attributes = {name for e in ET.fromstring(svg).iter() for name in e.attrib}
    assert not [name for name in attributes if name.startswith("on")]


# --- bars ----------------------------------------------------------------------------------


def test_two_series_by_three_labels_draw_six_bars():
    bars = of_class(draw(months_chart()), "rect", "bar")
    assert tooltips(bars) == [
        "Jan: Flats: 10",
        "Feb: Flats: 20",
        "Mar: Flats: 30",
        "Jan: Parking: 1",
        "Feb: Parking: 2",
        "Mar: Parking: 3",
    ]


def test_a_none_draws_no_bar():
    chart = months_chart(series=[Series("Flats", [10, None, 30]), Series("Parking", [1, 2, 3])])
    bars = of_class(draw(chart), "rect", "bar")
    assert len(bars) == 5
    assert "Feb: Flats" not in " ".join(tooltips(bars))


def test_bars_grow_from_zero_in_proportion():
    root = draw(months_chart(series=[Series("Flats", [10, 20, 40])]))
    zero = float(of_class(root, "line", "zero")[0].get("y1"))
    bars = of_class(root, "rect", "bar")
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.02)
    assert heights[2] == pytest.approx(4 * heights[0], abs=0.02)
    for bar in bars:
        assert float(bar.get("y")) + float(bar.get("height")) == pytest.approx(zero, abs=0.01)
    assert tick_texts(root) == ["0", "10", "20", "30", "40"]


def test_a_negative_value_hangs_below_the_zero_line():
    root = draw(months_chart(series=[Series("Balance", [-20, 40, 0])]))
    zero = float(of_class(root, "line", "zero")[0].get("y1"))
    down, up, flat = of_class(root, "rect", "bar")
    assert float(down.get("y")) == pytest.approx(zero, abs=0.01)
    assert float(up.get("y")) + float(up.get("height")) == pytest.approx(zero, abs=0.01)
    assert float(up.get("height")) == pytest.approx(2 * float(down.get("height")), abs=0.02)
    assert float(flat.get("height")) == 0  # zero is a value: a bar of no height, not a gap
    assert tick_texts(root) == ["-20", "0", "20", "40"]


def test_bars_of_one_label_stand_side_by_side_within_its_slot():
    bars = of_class(draw(months_chart()), "rect", "bar")
    jan_flats, jan_parking = bars[0], bars[3]
    feb_flats = bars[1]
    right_of_flats = float(jan_flats.get("x")) + float(jan_flats.get("width"))
    assert right_of_flats <= float(jan_parking.get("x"))
    assert float(jan_parking.get("x")) + float(jan_parking.get("width")) < float(feb_flats.get("x"))


# --- lines ---------------------------------------------------------------------------------


def test_a_line_breaks_where_a_value_is_missing():
    chart = Chart(
        "trend",
        "Price per m²",
        ["W1", "W2", "W3", "W4", "W5"],
        [Series("Tower A", [1, 2, None, 4, 5]), Series("Tower B", [5, 4, 3, 2, 1])],
    )
    root = draw(chart, kind="line")
    assert of_class(root, "rect", "bar") == []
    broken = of_class(series_group(root, 0), "polyline", "line")
    assert [len(points(p)) for p in broken] == [2, 2]
    whole = of_class(series_group(root, 1), "polyline", "line")
    assert [len(points(p)) for p in whole] == [5]
    # the gap is where W3 is: the first piece ends before the second begins
    assert points(broken[0])[-1][0] < points(whole[0])[2][0] < points(broken[1])[0][0]
    assert tooltips(of_class(series_group(root, 0), "circle", "point")) == [
        "W1: Tower A: 1",
        "W2: Tower A: 2",
        "W4: Tower A: 4",
        "W5: Tower A: 5",
    ]
    assert len(of_class(series_group(root, 1), "circle", "point")) == 5


def test_a_point_between_two_gaps_keeps_its_marker():
    chart = Chart("t", "T", ["a", "b", "c", "d", "e"], [Series("S", [1, None, 3, None, 5])])
    root = draw(chart, kind="line")
    assert of_class(root, "polyline", "line") == []
    assert len(of_class(root, "circle", "point")) == 3


def test_the_chart_kind_wins_over_the_default_kind():
    as_line = draw(months_chart(kind="line"), kind="bar")
    assert of_class(as_line, "rect", "bar") == []
    assert len(of_class(as_line, "polyline", "line")) == 2
    as_default = draw(months_chart(kind=""), kind="line")
    assert len(of_class(as_default, "polyline", "line")) == 2
    assert len(of_class(draw(months_chart(kind="")), "rect", "bar")) == 6


def test_a_line_of_high_prices_does_not_start_at_zero():
    chart = Chart(
        "price",
        "Price per m²",
        ["Q1", "Q2", "Q3", "Q4"],
        [Series("Average", [180_000, 185_500, None, 199_000])],
        kind="line",
        value_kind="price_m2",
    )
    assert tick_texts(draw(chart)) == ["180k", "185k", "190k", "195k", "200k"]


# --- colours and legend --------------------------------------------------------------------


def three_series(kind: str) -> Chart:
    return months_chart(
        kind=kind,
        series=[Series("A", [1, 2, 3]), Series("B", [2, 3, 4]), Series("C", [3, 4, 5])],
    )


def test_series_take_the_palette_colours_in_order_and_start_over():
    palette = ["#111111", "#222222"]
    bars = draw(three_series("bar"), palette=palette)
    fills = [series_group(bars, i).get("fill") for i in range(3)]
    assert fills == ["#111111", "#222222", "#111111"]
    swatches = [s.get("fill") for s in of_class(bars, "rect", "swatch")]
    assert swatches == ["#111111", "#222222", "#111111"]

    lines = draw(three_series("line"), palette=palette)
    strokes = [p.get("stroke") for p in of_class(lines, "polyline", "line")]
    assert strokes == ["#111111", "#222222", "#111111"]


def test_one_series_needs_no_legend():
    root = draw(months_chart(series=[Series("Flats", [10, 20, 30])]))
    assert of_class(root, "g", "legend") == []


def test_the_legend_names_every_series():
    root = draw(three_series("bar"))
    assert [t.text for t in of_class(root, "text", "legend-item")] == ["A", "B", "C"]


def test_a_long_legend_wraps_onto_more_lines_inside_the_chart():
    chart = months_chart(
        series=[Series(f"Building {i}, sections 1 to 4, phase two", [i, i, i]) for i in range(8)]
    )
    root = draw(chart)
    items = of_class(root, "text", "legend-item")
    assert len(items) == 8
    assert len({t.get("y") for t in items}) >= 3
    for swatch in of_class(root, "rect", "swatch"):
        assert float(swatch.get("x")) >= 0 and float(swatch.get("x")) <= 720
    # the bars sit below the legend
    lowest_legend = max(float(t.get("y")) for t in items)
    assert min(float(b.get("y")) for b in of_class(root, "rect", "bar")) > lowest_legend


# --- axes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0, 97, [0, 20, 40, 60, 80, 100]),
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0, 7, [0, 2, 4, 6, 8]),
        (0, 3, [0, 1, 2, 3]),
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 0.9, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 12_500_000, [0, 2_500_000, 5_000_000, 7_500_000, 10_000_000, 12_500_000]),
        (0, 3_400, [0, 1_000, 2_000, 3_000, 4_000]),
        (-35, 80, [-50, 0, 50, 100]),
        (-20, 40, [-20, 0, 20, 40]),
        (-97, 0, [-100, -80, -60, -40, -20, 0]),
        (180_000, 200_000, [180_000, 185_000, 190_000, 195_000, 200_000]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (5, 5, [0, 1, 2, 3, 4, 5]),
        (97, 0, [0, 20, 40, 60, 80, 100]),
        (Decimal("0"), Decimal("12.5"), [0, 2.5, 5, 7.5, 10, 12.5]),
    ],
)
def test_nice_ticks(lo, hi, expected):
    assert nice_ticks(lo, hi) == expected


def test_whole_ticks_have_no_fractions():
    assert nice_ticks(0, 2, whole=True) == [0, 1, 2]
    assert nice_ticks(0, 97, whole=True) == [0, 20, 40, 60, 80, 100]


@pytest.mark.parametrize("exponent", [-2, 0, 3, 6, 9])
@pytest.mark.parametrize(
    ("lo", "hi"),
    [(0, 1), (0, 1.1), (0, 1.3), (0, 3.3), (0, 4.9), (0, 6.1), (0, 9.9), (-1, 8.2), (-4.4, 4.4),
     (-9.1, 0.3), (2.2, 9.7), (-0.35, 0.8), (-2.6, 7.6), (-7.6, 2.6), (1, 1.2)],
)  # fmt: skip
def test_any_range_gets_four_to_six_round_ticks_covering_it(lo, hi, exponent):
    lo, hi = lo * 10**exponent, hi * 10**exponent
    ticks = [Decimal(repr(t)) for t in nice_ticks(lo, hi)]
    assert 4 <= len(ticks) <= 6
    assert ticks[0] <= Decimal(repr(lo)) and ticks[-1] >= Decimal(repr(hi))
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1
    mantissa = steps.pop().normalize().as_tuple()
    assert "".join(map(str, mantissa.digits)) in {"1", "2", "25", "5"}


def test_an_int_axis_never_shows_half_a_unit():
    root = draw(months_chart(series=[Series("Deals", [0, 1, 2])], value_kind="int"))
    assert tick_texts(root) == ["0", "1", "2"]


def test_tick_labels_sit_on_their_grid_lines():
    root = draw(months_chart(series=[Series("Flats", [10, 20, 40])]))
    grid = [float(line.get("y1")) for line in of_class(root, "line", "grid")]
    assert grid == sorted(grid, reverse=True)  # 0 at the bottom, 40 at the top
    ticks = of_class(root, "text", "tick")
    # the text's baseline a third of its size below the line centres it on the line
    assert [round(float(t.get("y")) - y, 1) for t, y in zip(ticks, grid, strict=True)] == [4.2] * 5


# --- x labels ------------------------------------------------------------------------------


def days(n: int) -> list[str]:
    return [f"{1 + i % 28:02d}.{1 + i // 28 % 12:02d}.2025" for i in range(n)]


def x_labels(root) -> list[ET.Element]:
    return of_class(root, "text", "label")


def test_a_few_short_labels_are_all_shown_level():
    labels = x_labels(draw(months_chart()))
    assert [t.text for t in labels] == ["Jan", "Feb", "Mar"]
    assert all(t.get("transform") is None for t in labels)


def test_a_year_of_days_shows_every_nth_label_without_overlap():
    chart = Chart("daily", "Daily sales", days(365), [Series("Sum", [1] * 365)], kind="line")
    root = draw(chart)
    labels = x_labels(root)
    assert 5 <= len(labels) <= 12
    assert [t.text for t in labels][0] == "01.01.2025"
    xs = [float(t.get("x")) for t in labels]
    gaps = {round(b - a, 1) for a, b in zip(xs, xs[1:], strict=False)}
    assert len(gaps) == 1  # evenly spaced
    # "01.01.2025" in DejaVu Sans 12 is about 69 units wide; neighbours never touch
    assert gaps.pop() > 75
    assert xs[0] - 35 >= 0 and xs[-1] + 35 <= 720
    assert all(t.get("transform") is None for t in labels)
    assert len(of_class(root, "circle", "point")) == 365  # every value keeps its tooltip


def test_labels_too_wide_to_stand_level_are_turned_rather_than_dropped():
    names = [f"Residential complex North Star, building {i}" for i in range(1, 13)]
    root = draw(Chart("b", "By building", names, [Series("Units", list(range(1, 13)))]))
    labels = x_labels(root)
    assert len(labels) == 12
    assert all(t.get("transform", "").startswith("rotate(-45 ") for t in labels)
    # cut in the middle so the part that tells them apart stays; the tooltip has it all
    assert [t.text[-2:] for t in labels] == [f" {i}"[-2:] for i in range(1, 13)]
    assert all("…" in t.text for t in labels)
    bars = of_class(root, "rect", "bar")
    assert tooltips(bars)[0] == "Residential complex North Star, building 1: Units: 1"
    assert int(root.get("height")) >= 280


# --- text from users -----------------------------------------------------------------------


def test_labels_names_and_titles_are_escaped():
    chart = Chart(
        "x",
        'Report <b>"bold"</b>',
        ["<script>alert('x')</script>", "Tom & Jerry", "\x07bell"],
        [Series('Agency "A&B" <i>', [1, 2, 3]), Series("Other", [3, 2, 1])],
    )
    svg = render_svg(chart, palette=PALETTE)
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg
    root = ET.fromstring(svg)
    assert root[0].text == 'Report <b>"bold"</b>'
    assert [t.text for t in x_labels(root)] == [
        "<script>alert('x')</script>",
        "Tom & Jerry",
        "bell",
    ]
    assert of_class(root, "text", "legend-item")[0].text == 'Agency "A&B" <i>'
    assert tooltips(of_class(root, "rect", "bar"))[1] == 'Tom & Jerry: Agency "A&B" <i>: 2'


def test_colours_are_escaped_too():
    root = draw(months_chart(), palette=['#000" onload="x', "#222222"])
    assert series_group(root, 0).get("fill") == '#000" onload="x'
    assert series_group(root, 0).get("onload") is None


# --- nothing to draw -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "chart",
    [
        Chart("e", "Empty", [], []),
        Chart("e", "Empty", [], [Series("S", [])]),
        Chart("e", "Empty", ["Jan", "Feb"], []),
        Chart("e", "Empty", ["Jan", "Feb"], [Series("S", [None, None])]),
        Chart("e", "Empty", ["Jan", "Feb"], [Series("S", [0, None]), Series("T", [0, 0])]),
        Chart("e", "Empty", ["Jan", "Feb"], [Series("S", [0, 0])], kind="line"),
    ],
    ids=["nothing", "no-labels", "no-series", "all-none", "none-and-zeros", "zero-line"],
)
def test_a_chart_without_values_says_so(chart):
    root = draw(chart)
    assert root[0].text == "Empty"
    assert root.get("viewBox") == "0 0 720 280"
    assert [t.text for t in root.iter(SVG + "text")] == ["No data for this period"]
    assert of_class(root, "rect", "bar") == [] and list(root.iter(SVG + "polyline")) == []


def test_the_placeholder_speaks_russian():
    with translation.override("ru"):
        root = draw(Chart("e", "Пусто", [], []))
    assert [t.text for t in root.iter(SVG + "text")] == ["Нет данных за этот период"]


# --- numbers in the reader's language ------------------------------------------------------


def money_chart(top) -> Chart:
    return Chart("m", "Sum", ["Jan", "Feb"], [Series("Sum", [top / 2, top])], value_kind="money")


def test_money_axis_in_english():
    root = draw(money_chart(Decimal("12500000")))
    assert tick_texts(root) == ["0", "2.5M", "5M", "7.5M", "10M", "12.5M"]
    assert tooltips(of_class(root, "rect", "bar")) == [
        "Jan: Sum: 6,250,000 ₽",
        "Feb: Sum: 12,500,000 ₽",
    ]


def test_money_axis_in_russian():
    with translation.override("ru"):
        root = draw(money_chart(Decimal("12500000")))
    assert tick_texts(root) == ["0", "2,5 млн", "5 млн", "7,5 млн", "10 млн", "12,5 млн"]


def test_small_sums_on_the_axis_are_thousands():
    assert tick_texts(draw(money_chart(850_000))) == ["0", "200k", "400k", "600k", "800k", "1M"]
    assert axis_labels([0, 750_000, 1_250_000], "money") == ["0", "750k", "1.25M"]
    with translation.override("ru"):
        assert axis_labels([0, 250_000, 500_000], "price_m2") == ["0", "250 тыс", "500 тыс"]
        assert axis_labels([0, 750_000, 1_250_000], "money") == ["0", "750 тыс", "1,25 млн"]


@pytest.mark.parametrize(
    ("value", "kind", "english", "russian"),
    [
        (12_500_000, "money", "12.5M", "12,5 млн"),
        (Decimal("850000"), "money", "850k", "850 тыс"),
        (999_999, "money", "1M", "1 млн"),
        (1_234_567_890, "money", "1.2bn", "1,2 млрд"),
        (-1_500_000, "money", "-1.5M", "-1,5 млн"),
        (185_400, "price_m2", "185k", "185 тыс"),
        (Decimal("95450"), "price_m2", "95.5k", "95,5 тыс"),
        (950, "money", "950", "950"),
        (12, "percent", "12 %", "12 %"),
        (Decimal("12.5"), "percent", "12.5 %", "12,5 %"),
        (12_345, "int", "12,345", f"12{NBSP}345"),
        (Decimal("1234.56"), "area", "1,235", f"1{NBSP}235"),
        (Decimal("54.27"), "area", "54.3", "54,3"),
    ],
)
def test_compact_numbers(value, kind, english, russian):
    with translation.override("en"):
        assert compact_number(value, kind) == english
    with translation.override("ru"):
        assert compact_number(value, kind) == russian


def test_percent_and_grouped_axes():
    percent = Chart("p", "Share", ["a", "b"], [Series("S", [50, 97])], value_kind="percent")
    assert tick_texts(draw(percent)) == ["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"]
    units = Chart("u", "Units", ["a", "b"], [Series("S", [1200, 9700])], value_kind="int")
    assert tick_texts(draw(units)) == ["0", "2,000", "4,000", "6,000", "8,000", "10,000"]
    share = Chart("q", "Share", ["a"], [Series("S", [1])], value_kind="percent")
    with translation.override("ru"):
        assert tick_texts(draw(units))[-1] == f"10{NBSP}000"
        assert tick_texts(draw(share)) == ["0 %", "0,2 %", "0,4 %", "0,6 %", "0,8 %", "1 %"]


def test_no_float_noise_in_the_output():
    values = [0.1, 0.2, 0.30000000000000004]
    chart = Chart("f", "F", ["a", "b", "c"], [Series("S", values)], value_kind="area")
    svg = render_svg(chart, palette=PALETTE)
    assert not re.search(r"\d\.\d{3,}", svg)
    assert tick_texts(ET.fromstring(svg)) == ["0", "0.1", "0.2", "0.3", "0.4"]
