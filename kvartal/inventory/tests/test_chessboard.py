"""The chessboard of a building and the unit card: what people see, and what it costs to show."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from kvartal.core.templatetags.kvartal import area, millions
from kvartal.inventory import extensions, selectors, services
from kvartal.inventory.models import (
    BuildingKind,
    Floor,
    Unit,
    UnitKind,
    UnitStatus,
)
from kvartal.inventory.services import SectionPlan, UnitSpec
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.testing import make_building, make_section

CELL = re.compile(r'<td class="(cell[^"]*)"><a href="/app/units/(\d+)/"')

# Riser prices of make_section at 150 000 ₽/m² (area × price, rounded to 1 000 ₽), by hand:
STUDIO = Decimal("4125000")  # 27.50 m²
ONE = Decimal("5760000")  # 38.40 m²
TWO = Decimal("8430000")  # 56.20 m²
THREE = Decimal("11835000")  # 78.90 m²

# session + user (sign-in), then building with project, sections, floors, units; then what
# the higher apps' registered providers read (marks), a few queries each at most.
BOARD_QUERIES = 6 + 3 * len(extensions.chessboard_marks)
# session, user, unit with its place, price / status / data history; then the providers.
CARD_QUERIES = 6 + 3 * (
    len(extensions.chessboard_marks) + len(extensions.unit_panels) + len(extensions.unit_timeline)
)


def _in_hundredths(value: Decimal) -> int:
    """A price or an area as the board reads it: a whole number of hundredths."""
    return int(value.scaleb(2))


def board_url(building, query=""):
    return reverse("inventory:building-chessboard", args=[building.pk]) + query


def cells(response) -> dict[int, str]:
    """unit id → the classes of its cell."""
    return {int(pk): css for css, pk in CELL.findall(response.content.decode())}


def unit_at(building, floor: int, position: int, section: int = 1) -> Unit:
    return Unit.objects.get(
        building=building, section__number=section, floor__index=floor, position=position
    )


@pytest.fixture
def building(keeper):
    """One section, floors 1-2, four risers (studio, 1, 2, 3 rooms), all on sale."""
    building = make_building()
    make_section(building, floors=2, per_floor=4, by=keeper)
    return building


# --- the board ----------------------------------------------------------------------------


def test_chessboard_shows_every_unit_coloured_by_status(client, manager, keeper, building):
    sold = unit_at(building, 2, 1)
    held = unit_at(building, 1, 3)
    closed = unit_at(building, 2, 4)
    set_sales_state(unit=sold, status=UnitStatus.SOLD, by=keeper)
    set_sales_state(unit=held, status=UnitStatus.RESERVED, by=keeper)
    services.unit_set_status(unit=closed, status=UnitStatus.NOT_FOR_SALE, by=keeper)
    client.force_login(manager)

    response = client.get(board_url(building))

    assert response.status_code == 200
    shown = cells(response)
    assert set(shown) == set(building.units.values_list("pk", flat=True))
    assert shown[sold.pk] == "cell st-sold"
    assert shown[held.pk] == "cell st-reserved"
    assert shown[closed.pk] == "cell st-not_for_sale"
    others = set(shown) - {sold.pk, held.pk, closed.pk}
    assert {shown[pk] for pk in others} == {"cell st-available"}
    html = response.content.decode()
    assert 'hx-target="#panel"' in html
    assert 'id="panel" class="panel"' in html
    # Each cell says number, rooms, area and price in millions.
    studio = unit_at(building, 1, 1)
    assert f'<b>{studio.number}</b><span class="r">St</span><br>27.5 m²<br>4.1<' in html


def test_floors_run_top_first_and_empty_positions_stay_void(client, manager, keeper):
    building = make_building()
    plan = SectionPlan(
        number=1,
        floors=3,
        typical_from=2,
        risers=[UnitSpec(position=p, total_area=Decimal("40"), rooms=1) for p in (1, 2, 3)],
        non_typical=[UnitSpec(position=3, total_area=Decimal("90"), floor=1, kind="commercial")],
        price_per_m2=Decimal("100000"),
    )
    services.section_generate(building=building, plan=plan, by=keeper)
    client.force_login(manager)

    response = client.get(board_url(building))

    board = response.context["board"]
    (section,) = board.sections
    assert section.positions == [1, 2, 3]
    assert [row.label for row in section.rows] == ["3", "2", "1"]
    ground = section.rows[-1].cells
    assert ground[0] is None and ground[1] is None and ground[2].tag == "Com"
    assert response.content.decode().count('<td class="cell void"></td>') == 2


def test_filters_dim_the_cells_that_do_not_match_and_count_only_matches(
    client, manager, keeper, building
):
    set_sales_state(unit=unit_at(building, 2, 1), status=UnitStatus.SOLD, by=keeper)
    set_sales_state(unit=unit_at(building, 1, 3), status=UnitStatus.RESERVED, by=keeper)
    client.force_login(manager)

    response = client.get(board_url(building, "?rooms=0&rooms=2"))

    shown = cells(response)
    assert len(shown) == 8  # the grid keeps its shape
    dimmed = {pk for pk, css in shown.items() if css.endswith(" dim")}
    one_and_three = {unit_at(building, f, p).pk for f in (1, 2) for p in (2, 4)}
    assert dimmed == one_and_three
    totals = {t.status: t for t in response.context["board"].totals}
    # available: the studio on floor 1 and the two-room flat on floor 2
    assert totals["available"].count == 2
    assert totals["available"].area == Decimal("83.70")
    assert totals["available"].price == STUDIO + TWO == Decimal("12555000")
    assert (totals["sold"].count, totals["sold"].area, totals["sold"].price) == (
        1,
        Decimal("27.50"),
        STUDIO,
    )
    assert (totals["reserved"].count, totals["reserved"].price) == (1, TWO)
    assert totals["not_for_sale"].count == 0
    html = response.content.decode()
    assert 'data-status="available" data-count="2"' in html
    assert 'data-shown="4" data-total="8"' in html
    assert "4 of 8" in html


def test_price_is_filtered_in_millions_together_with_status(client, manager, keeper, building):
    set_sales_state(unit=unit_at(building, 1, 3), status=UnitStatus.RESERVED, by=keeper)
    client.force_login(manager)

    response = client.get(board_url(building, "?price_min=5&price_max=9&status=available"))

    board = response.context["board"]
    matching = {pk for pk, css in cells(response).items() if not css.endswith(" dim")}
    assert matching == {
        unit_at(building, 1, 2).pk,
        unit_at(building, 2, 2).pk,
        unit_at(building, 2, 3).pk,
    }
    assert board.shown == 3
    assert board.shown_area == Decimal("133.00")  # 38.40 × 2 + 56.20
    assert board.shown_price == ONE * 2 + TWO == Decimal("19950000")


def test_floor_and_area_filters(client, manager, building):
    client.force_login(manager)

    response = client.get(board_url(building, "?floor_min=2&area_min=50"))

    matching = {pk for pk, css in cells(response).items() if not css.endswith(" dim")}
    assert matching == {unit_at(building, 2, 3).pk, unit_at(building, 2, 4).pk}
    assert response.context["board"].shown_price == TWO + THREE


def test_section_filter_shows_only_that_section(client, manager, keeper, building):
    make_section(building, number=2, floors=3, per_floor=2, by=keeper)
    client.force_login(manager)

    response = client.get(board_url(building, "?section=2"))

    board = response.context["board"]
    assert [s.number for s in board.sections] == [2]
    assert len(cells(response)) == 6
    assert (board.shown, board.total) == (6, 14)


def test_a_bad_filter_value_is_ignored_and_the_rest_apply(client, manager, building):
    client.force_login(manager)

    response = client.get(board_url(building, "?area_min=lots&rooms=3"))

    assert response.status_code == 200
    assert response.context["board"].shown == 2
    assert response.context["form"].errors.keys() == {"area_min"}


def test_cells_and_floor_labels_escape_what_people_typed(client, manager, keeper, building):
    unit = services.unit_update(
        unit=unit_at(building, 2, 1), by=keeper, data={"number": '<b>1</b>"&'}
    )
    floor = unit.floor
    floor.label = "<i>2</i>"
    services.floor_save(floor=floor, by=keeper)
    client.force_login(manager)

    html = client.get(board_url(building)).content.decode()

    assert "<b><b>1</b>" not in html and "<i>2</i>" not in html
    assert (
        f'<td class="cell st-available"><a href="/app/units/{unit.pk}/" '
        f'hx-get="/app/units/{unit.pk}/" title="No. &lt;b&gt;1&lt;/b&gt;&quot;&amp; · Available">'
        '<b>&lt;b&gt;1&lt;/b&gt;&quot;&amp;</b><span class="r">St</span><br>27.5 m²<br>4.1</a></td>'
    ) in html
    assert '<th scope="row" rowspan="1">&lt;i&gt;2&lt;/i&gt;</th>' in html


def test_floor_labels_link_to_the_floor_for_those_who_edit(client, manager, keeper, building):
    edit = reverse("inventory:floor-update", args=[unit_at(building, 2, 1).floor_id])
    link = f'<th scope="row" rowspan="1"><a href="{edit}" title="Floor plan and units">2</a></th>'

    client.force_login(keeper)
    assert link in client.get(board_url(building)).content.decode()
    assert link in client.get(board_url(building), HTTP_HX_REQUEST="true").content.decode()

    client.force_login(manager)
    html = client.get(board_url(building)).content.decode()
    assert link not in html
    assert '<th scope="row" rowspan="1">2</th>' in html


def test_every_section_links_its_floors(client, keeper, building):
    """The floor links of the second section and after (the link's URL was overwritten by the
    first section's head cells)."""
    make_section(building, number=2, floors=2, per_floor=3, by=keeper)
    client.force_login(keeper)

    html = client.get(board_url(building)).content.decode()

    floors = Floor.objects.filter(section__building=building)
    assert floors.count() == 4
    for floor in floors:
        edit = reverse("inventory:floor-update", args=[floor.pk])
        assert f'<a href="{edit}" title="Floor plan and units">{floor.index}</a>' in html
    assert '<a href="<' not in html


def test_without_filters_nothing_is_dimmed(client, manager, building):
    client.force_login(manager)

    response = client.get(board_url(building))

    assert not any(css.endswith(" dim") for css in cells(response).values())
    assert response.context["board"].shown == 8


# --- cost ---------------------------------------------------------------------------------


def test_query_count_does_not_grow_with_the_building(
    client, manager, keeper, django_assert_max_num_queries
):
    tiny = make_building()
    make_section(tiny, floors=1, per_floor=1, by=keeper)
    big = make_building()
    for number in range(1, 5):
        make_section(big, number=number, floors=25, per_floor=20, by=keeper)
    assert big.units.count() == 2000
    client.force_login(manager)
    client.get(board_url(tiny))  # the session is warm for both

    with django_assert_max_num_queries(BOARD_QUERIES) as for_tiny:
        client.get(board_url(tiny))
    with django_assert_max_num_queries(BOARD_QUERIES) as for_big:
        response = client.get(board_url(big))
    with django_assert_max_num_queries(BOARD_QUERIES) as for_big_filtered:
        client.get(board_url(big, "?rooms=2&status=available"), HTTP_HX_REQUEST="true")

    assert len(for_tiny.captured_queries) == len(for_big.captured_queries)
    assert len(for_big_filtered.captured_queries) == len(for_big.captured_queries)
    assert len(cells(response)) == 2000


def test_unit_card_query_count_does_not_grow_with_history(
    client, keeper, building, django_assert_max_num_queries
):
    quiet, busy = unit_at(building, 1, 1), unit_at(building, 1, 2)
    for step in range(1, 8):
        services.unit_set_price(unit=busy, price=ONE + step * 1000, by=keeper, reason=f"{step}")
    services.unit_set_status(unit=busy, status=UnitStatus.NOT_FOR_SALE, by=keeper)
    services.unit_set_status(unit=busy, status=UnitStatus.AVAILABLE, by=keeper)
    client.force_login(keeper)
    client.get(reverse("inventory:unit-detail", args=[quiet.pk]))

    with django_assert_max_num_queries(CARD_QUERIES) as for_quiet:
        client.get(reverse("inventory:unit-detail", args=[quiet.pk]))
    with django_assert_max_num_queries(CARD_QUERIES) as for_busy:
        client.get(reverse("inventory:unit-detail", args=[busy.pk]))

    assert len(for_quiet.captured_queries) == len(for_busy.captured_queries)


def test_board_cells_are_formatted_as_the_filters_format(keeper, building):
    for language in ("ru", "en"):
        with translation.override(language):
            board = selectors.chessboard(building)
            cell = board.sections[0].rows[0].cells[2]
            assert cell.price == millions(TWO)
            assert cell.area == f"{area(Decimal('56.20'))} {translation.gettext('m²')}"


@pytest.mark.parametrize("language", ["ru", "en", "zh-hans"])
def test_board_prices_in_millions_are_what_the_filter_prints(language, settings):
    prices = [
        Decimal(v)
        for v in (
            "0.01", "99999.99", "100000", "100000.01", "999999.99", "1000000", "4125000",
            "8499999.99", "8500000", "12345678.90", "999999999999.99", "1234567890",
        )
    ]  # fmt: skip
    with translation.override(language):
        assert [selectors._Numbers().millions(_in_hundredths(p)) for p in prices] == [
            millions(p) for p in prices
        ]
        assert selectors._Numbers().millions(0) == "—"
        settings.USE_THOUSAND_SEPARATOR = True  # grouped: the general formatter, same output
        assert [selectors._Numbers().millions(_in_hundredths(p)) for p in prices] == [
            millions(p) for p in prices
        ]


@pytest.mark.parametrize("language", ["ru", "en", "zh-hans"])
def test_board_areas_are_what_the_filter_prints(language, settings):
    areas = [
        Decimal(v)
        for v in (
            "0.01", "0.10", "1", "12.00", "12.30", "56.20", "56.25", "100.00", "100.05",
            "999.99", "1000.00", "1234.56", "12345.60", "-3.40",
        )
    ]  # fmt: skip
    with translation.override(language):
        assert [selectors._Numbers().area(_in_hundredths(a)) for a in areas] == [
            area(a) for a in areas
        ]
        settings.USE_THOUSAND_SEPARATOR = True  # grouped: the filter itself, same output
        assert [selectors._Numbers().area(_in_hundredths(a)) for a in areas] == [
            area(a) for a in areas
        ]


def test_areas_group_thousands_as_money_does():
    """A building's total area beside its total price: "9 877,5 m² · 812 345 678 ₽", not
    "9877,5 m²" next to grouped roubles."""
    with translation.override("ru"):
        assert area(Decimal("9877.50")) == "9\xa0877,5"
        assert area(Decimal("123456")) == "123\xa0456"
        assert area(Decimal("999.99")) == "999,99"
        assert selectors._Numbers().area(987750) == "9\xa0877,5"
    with translation.override("en"):
        assert area(Decimal("9877.50")) == "9,877.5"


# --- htmx ---------------------------------------------------------------------------------


def test_htmx_filter_request_gets_only_the_boards(client, manager, building):
    client.force_login(manager)

    response = client.get(board_url(building, "?rooms=1"), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "board-filters" not in html
    assert 'class="board"' in html and "data-shown=" in html
    assert "HX-Request" in response["Vary"]


def test_full_page_carries_the_htmx_filter_form(client, manager, building):
    client.force_login(manager)

    html = client.get(board_url(building)).content.decode()

    assert "<html" in html
    assert 'hx-target="#boards"' in html and 'hx-push-url="true"' in html
    assert 'name="rooms" value="0"' in html  # studio is a choice of its own
    assert 'id="boards"' in html


def test_htmx_unit_request_gets_the_card_for_the_panel(client, manager, building):
    unit = unit_at(building, 1, 1)
    client.force_login(manager)

    response = client.get(reverse("inventory:unit-detail", args=[unit.pk]), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html
    assert 'class="unit-card in-panel"' in html
    assert 'class="btn btn-small close"' in html
    full = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()
    assert "<html" in full and "btn-small close" not in full


# --- the unit card ------------------------------------------------------------------------


def test_unit_card_shows_price_history_after_a_price_change(client, manager, keeper, building):
    unit = unit_at(building, 1, 1)
    services.unit_set_price(
        unit=unit, price=Decimal("4331250"), by=keeper, reason="March price list"
    )
    client.force_login(manager)

    response = client.get(reverse("inventory:unit-detail", args=[unit.pk]))

    html = response.content.decode()
    (row,) = response.context["history"].prices
    assert (row.old, row.new, row.delta_percent) == (STUDIO, Decimal("4331250"), Decimal("5.0"))
    assert "4,125,000 → <b>4,331,250</b>" in html
    assert "+5.0%" in html
    assert "March price list" in html
    assert keeper.short_name in html


def test_timeline_merges_every_history_newest_first(client, keeper, building):
    unit = unit_at(building, 1, 1)
    services.unit_set_price(unit=unit, price=Decimal("4200000"), by=keeper, reason="list")
    services.unit_update(
        unit=unit,
        by=keeper,
        data={"ceiling_height": Decimal("2.80"), "view": "park", "has_balcony": True},
    )
    services.unit_set_status(unit=unit, status=UnitStatus.NOT_FOR_SALE, by=keeper, reason="hold")
    client.force_login(keeper)

    response = client.get(reverse("inventory:unit-detail", args=[unit.pk]))

    kinds = [e.kind for e in response.context["history"].timeline]
    assert kinds == ["status", "data", "price", "status", "created"]
    (edit,) = [e for e in response.context["history"].timeline if e.kind == "data"]
    assert edit.changes == [
        ("ceiling height, m", "—", "2.80"),
        ("window view", "—", "Park"),  # the choice's label, not its code
        ("balcony or loggia", "no", "yes"),
    ]


def test_unit_card_lists_every_field(client, manager, building):
    unit = unit_at(building, 2, 3)
    client.force_login(manager)

    html = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()

    for text in (unit.code, "56.2 m²", "31 m²", "10.5 m²", "8,430,000 ₽", "150,000 ₽"):
        assert text in html
    assert 'class="badge st-available"' in html


def test_unknown_unit_is_not_found(client, manager, building):
    client.force_login(manager)

    response = client.get(reverse("inventory:unit-detail", args=[Unit.objects.count() + 999]))

    assert response.status_code == 404
    huge = 10**24  # beyond any database integer: still a plain "not found"
    assert client.get(f"/app/units/{huge}/").status_code == 404
    assert client.get(f"/app/buildings/{huge}/").status_code == 404


def test_absurd_filter_values_never_crash_the_board(client, manager, building):
    client.force_login(manager)

    response = client.get(
        board_url(building, "?floor_min=99999999999999999999999&price_max=NaN&area_min=1e400")
    )

    assert response.status_code == 200
    assert response.context["board"].shown == 0


def test_forms_follow_capabilities(client, manager, keeper, building):
    unit = unit_at(building, 1, 1)
    url = reverse("inventory:unit-detail", args=[unit.pk])

    client.force_login(manager)
    html = client.get(url).content.decode()
    assert reverse("inventory:unit-price", args=[unit.pk]) not in html
    assert reverse("inventory:unit-status", args=[unit.pk]) not in html
    assert reverse("inventory:unit-update", args=[unit.pk]) not in html

    client.force_login(keeper)
    html = client.get(url).content.decode()
    assert f'action="{reverse("inventory:unit-price", args=[unit.pk])}"' in html
    assert 'name="price"' in html and 'name="reason"' in html
    assert f'action="{reverse("inventory:unit-status", args=[unit.pk])}"' in html
    options = re.findall(r'<option value="(\w+)">', html)
    assert options == [UnitStatus.NOT_FOR_SALE]  # an available unit may only be closed by hand
    assert "csrfmiddlewaretoken" in html


def test_a_sold_unit_offers_no_price_or_status_form(client, keeper, building):
    unit = unit_at(building, 1, 1)
    set_sales_state(unit=unit, status=UnitStatus.SOLD, by=keeper)
    client.force_login(keeper)

    html = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()

    assert reverse("inventory:unit-price", args=[unit.pk]) not in html
    assert reverse("inventory:unit-status", args=[unit.pk]) not in html


def test_floor_plan_marks_the_unit_or_says_there_is_no_plan(client, manager, building):
    unit = unit_at(building, 1, 1)
    client.force_login(manager)
    url = reverse("inventory:unit-detail", args=[unit.pk])

    assert 'class="plan-empty"' in client.get(url).content.decode()

    Floor.objects.filter(pk=unit.floor_id).update(plan="plans/floors/f1.png")
    Unit.objects.filter(pk=unit.pk).update(plan_region="10,20,25,30")
    html = client.get(url).content.decode()
    assert 'src="/media/plans/floors/f1.png"' in html
    assert (
        'class="marker" data-styled data-style-left="10.0%" data-style-top="20.0%" '
        'data-style-width="25.0%" data-style-height="30.0%"'
    ) in html


# --- parking and empty buildings ------------------------------------------------------------


def test_parking_board_shows_queues_levels_and_spaces(client, manager, keeper):
    parking = make_building(kind=BuildingKind.PARKING)
    spaces = [
        UnitSpec(position=p, total_area=Decimal("13.25"), kind=UnitKind.PARKING, floor=level)
        for level in (-2, -1)
        for p in (1, 2, 3)
    ]
    storage = UnitSpec(position=1, total_area=Decimal("4.5"), kind=UnitKind.STORAGE, floor=-1)
    plan = SectionPlan(
        number=1,
        floors=1,
        underground=2,
        risers=[],
        non_typical=[
            *spaces,
            UnitSpec(position=1, total_area=Decimal("20"), kind=UnitKind.PARKING, floor=1),
            storage,
        ],
        price_per_m2=Decimal("100000"),
    )
    services.section_generate(building=parking, plan=plan, by=keeper)
    client.force_login(manager)

    response = client.get(board_url(parking))

    (queue,) = response.context["board"].sections
    assert queue.title == "Queue 1"
    # Level -1 holds a space and a storage room at position 1: two lines, one label.
    assert [(r.label, r.span) for r in queue.rows] == [("1", 1), ("-1", 2), ("-1", 0), ("-2", 1)]
    space = queue.rows[1].cells[0]
    # 13.25 m² × 100 000 ₽ = 1 325 000 ₽
    assert (space.tag, space.area, space.price) == ("", "", "1.3 mln ₽")
    assert queue.rows[2].cells[0].tag == "Stor"
    html = response.content.decode()
    assert 'rowspan="2">-1</th>' in html
    assert "Rooms" not in html  # no rooms filter for parking


def test_building_without_sections_invites_to_generate_one(client, manager, keeper):
    building = make_building()
    generate = reverse("inventory:section-generate", args=[building.pk])

    client.force_login(keeper)
    html = client.get(board_url(building)).content.decode()
    assert "board-empty" in html and f'href="{generate}"' in html

    client.force_login(manager)
    html = client.get(board_url(building)).content.decode()
    assert "board-empty" in html and generate not in html


def test_page_actions_follow_capabilities(client, manager, keeper, building):
    edit = reverse("inventory:building-update", args=[building.pk])
    sheet = reverse("inventory:building-sheet", args=[building.pk])

    client.force_login(manager)
    html = client.get(board_url(building)).content.decode()
    assert sheet in html and edit not in html

    client.force_login(keeper)
    html = client.get(board_url(building)).content.decode()
    assert sheet in html and edit in html
    assert reverse("inventory:building-sheet-pdf", args=[building.pk]) in html
    assert reverse("inventory:project-detail", args=[building.project_id]) in html  # crumbs


def test_chessboard_needs_sign_in(client, building):
    response = client.get(board_url(building))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_filters_matching_nothing_say_so(client, manager, building):
    client.force_login(manager)

    response = client.get(board_url(building, "?price_min=100"))

    assert response.context["board"].shown == 0
    assert "board-nothing" in response.content.decode()
    assert len(cells(response)) == 8


# --- holds on the board and the card (the sales app's providers) ----------------------------


def _hold(unit, manager, *, days=3, at=None):
    from kvartal.clients.services import client_create
    from kvartal.sales.services.holds import hold_create

    buyer = client_create(by=manager, last_name="Холдов", first_name="Иван")
    return hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=days, at=at)


def test_a_unit_whose_hold_ran_out_shows_and_filters_as_available(client, manager, building):
    from datetime import timedelta

    from django.utils import timezone

    ran_out = unit_at(building, 1, 1)
    held = unit_at(building, 1, 2)
    _hold(ran_out, manager, days=1, at=timezone.now() - timedelta(days=2))
    _hold(held, manager)
    client.force_login(manager)

    shown = cells(client.get(board_url(building)))
    assert shown[ran_out.pk] == "cell st-available"
    assert shown[held.pk] == "cell st-reserved"
    filtered = cells(client.get(board_url(building, "?status=available")))
    assert not filtered[ran_out.pk].endswith(" dim") and filtered[held.pk].endswith(" dim")

    card = client.get(reverse("inventory:unit-detail", args=[ran_out.pk]))
    assert card.context["status"] == "available"
    assert 'class="badge st-available"' in card.content.decode()

    found = client.get(reverse("inventory:unit-list"), {"status": "available"})
    ids = {u.pk for u in found.context["page"].object_list}
    assert ran_out.pk in ids and held.pk not in ids
    found = client.get(reverse("inventory:unit-list"), {"status": "reserved"})
    assert {u.pk for u in found.context["page"].object_list} == {held.pk}


def test_a_hold_ending_soon_marks_the_cell_and_the_card(client, manager, building):
    from datetime import timedelta

    from django.utils import timezone

    soon = unit_at(building, 2, 1)
    later = unit_at(building, 2, 2)
    _hold(soon, manager, days=1, at=timezone.now() - timedelta(hours=22))  # ends in 2 h
    _hold(later, manager, days=3)
    client.force_login(manager)

    response = client.get(board_url(building))

    shown = cells(response)
    assert shown[soon.pk] == "cell st-reserved expiring"
    assert shown[later.pk] == "cell st-reserved"
    assert "Available · Hold ends" not in response.content.decode()
    assert "· Reserved · Hold ends " in response.content.decode()
    card = client.get(reverse("inventory:unit-detail", args=[soon.pk])).content.decode()
    assert 'class="unit-card expiring"' in card
    assert "hold-panel expiring" in card
    card = client.get(reverse("inventory:unit-detail", args=[later.pk])).content.decode()
    assert "expiring" not in card.split("<article", 1)[1].split(">", 1)[0]


def test_the_card_shows_the_hold_and_its_history(client, manager, building):
    unit = unit_at(building, 1, 3)
    hold = _hold(unit, manager)
    client.force_login(manager)

    html = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()

    assert "Холдов Иван" in html
    assert reverse("sales:hold-extend", args=[hold.pk]) in html
    assert reverse("sales:hold-cancel", args=[hold.pk]) in html
    assert 'class="ev-extra ev-hold st-reserved"' in html
    assert "Held for Холдов Иван (Oral hold, Other) by " in html


def test_another_managers_hold_on_the_card_shows_no_client_nor_comment(client, manager, building):
    from kvartal.clients.services import client_create
    from kvartal.sales.services.holds import hold_create, hold_extend
    from kvartal.testing import make_user

    unit = unit_at(building, 1, 3)
    buyer = client_create(by=manager, last_name="Секретова", first_name="Анна")
    hold = hold_create(
        unit=unit, client=buyer, manager=manager, by=manager, days=3, comment="ипотека Сбер"
    )
    hold_extend(hold=hold, by=manager, days=1, reason="ждём одобрения банка")
    other = make_user()
    client.force_login(other)

    html = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()

    history = html.split("<h2>History</h2>", 1)[1]
    assert "Секретова" not in html
    assert "ипотека Сбер" not in history and "ждём одобрения банка" not in history
    assert f"Held by {manager.short_name} until " in history
    # Its manager reads it all.
    client.force_login(manager)
    history = client.get(reverse("inventory:unit-detail", args=[unit.pk])).content.decode()
    assert "Held for Секретова Анна" in history and "ждём одобрения банка" in history


def test_a_price_set_during_a_hold_shows_on_the_card_and_the_keeper_prices_a_run_out_hold(
    client, manager, keeper, building
):
    from datetime import timedelta

    from django.utils import timezone

    held = unit_at(building, 1, 1)
    ran_out = unit_at(building, 1, 2)
    _hold(held, manager)
    _hold(ran_out, manager, days=1, at=timezone.now() - timedelta(days=2))
    services.unit_set_price(unit=held, price=held.price + 100000, by=keeper, reason="прайс")
    client.force_login(keeper)

    card = client.get(reverse("inventory:unit-detail", args=[held.pk])).content.decode()
    assert 'class="pending-price"' in card
    assert "applies when the unit is back on sale" in card
    assert f'action="{reverse("inventory:unit-price", args=[held.pk])}"' in card

    card = client.get(reverse("inventory:unit-detail", args=[ran_out.pk])).content.decode()
    assert f'action="{reverse("inventory:unit-price", args=[ran_out.pk])}"' in card
    new = ran_out.price + 200000
    client.post(reverse("inventory:unit-price", args=[ran_out.pk]), {"price": new, "reason": "x"})
    ran_out.refresh_from_db()
    assert (ran_out.price, ran_out.pending_price) == (new, None)  # on sale: priced at once


def test_a_board_of_a_future_day_is_refused_not_a_crash(client, manager, building):
    client.force_login(manager)
    for day in ("9999-12-31", "2999-01-01"):
        response = client.get(board_url(building, f"?as_of={day}"))
        assert response.status_code == 200
        assert response.context["board"].as_of is None
        assert "Choose today or a past day." in response.content.decode()


# --- the board as of a past day ---------------------------------------------------------------


def test_the_board_as_of_a_past_day_comes_from_history(
    client, manager, keeper, django_assert_max_num_queries
):
    from datetime import date, datetime

    from django.utils import timezone

    from kvartal.inventory.models import PriceChange, StatusChange

    def moment(day: int) -> datetime:
        return timezone.make_aware(datetime(2024, 3, day, 12, 0))

    building = make_building()
    make_section(building, floors=1, per_floor=3, by=keeper)
    a, b, late = building.units.order_by("position")
    # Created on 1 March (late: on 20 March), on sale from then.
    Unit.objects.filter(pk__in=[a.pk, b.pk]).update(created_at=moment(1))
    Unit.objects.filter(pk=late.pk).update(created_at=moment(20))
    StatusChange.objects.filter(unit__in=[a, b]).update(at=moment(1))
    StatusChange.objects.filter(unit=late).update(at=moment(20))
    # a: reserved on 5 March, sold on 10 March; b: repriced on 8 March.
    set_sales_state(unit=a, status=UnitStatus.RESERVED, by=keeper, at=moment(5))
    set_sales_state(unit=a, status=UnitStatus.SOLD, by=keeper, at=moment(10))
    old_b = b.price
    services.unit_set_price(unit=b, price=old_b + 500000, by=keeper, at=moment(8))
    assert PriceChange.objects.filter(unit=b).count() == 1
    client.force_login(manager)

    def board(day):
        response = client.get(board_url(building, f"?as_of=2024-03-{day:02d}"))
        by_id = {
            c.id: c
            for s in response.context["board"].sections
            for r in s.rows
            for c in r.cells
            if c
        }
        return response, by_id

    response, early = board(4)
    assert response.context["board"].as_of == date(2024, 3, 4)
    assert set(early) == {a.pk, b.pk}  # the late unit did not exist yet
    assert (early[a.pk].status, early[b.pk].status) == ("available", "available")
    assert early[b.pk].price == selectors._Numbers().millions(_in_hundredths(old_b))
    assert "board-as-of" in response.content.decode()

    _response, middle = board(8)  # the end of the 8th: after the repricing
    assert middle[a.pk].status == "reserved"
    assert middle[b.pk].price == selectors._Numbers().millions(_in_hundredths(old_b + 500000))

    _response, later = board(25)
    assert later[a.pk].status == "sold" and later[late.pk].status == "available"
    assert set(cells(client.get(board_url(building)))) == {a.pk, b.pk, late.pk}

    with django_assert_max_num_queries(BOARD_QUERIES) as one_day:
        board(8)
    with django_assert_max_num_queries(BOARD_QUERIES) as another:
        board(25)
    assert len(one_day.captured_queries) == len(another.captured_queries)


def test_the_board_as_of_a_day_before_an_import_shows_the_units_from_their_history(keeper):
    """Imported units: rows created today, history dated back to when they were entered."""
    from datetime import date, datetime

    from django.utils import timezone

    from kvartal.inventory.models import StatusChange

    building = make_building()
    make_section(building, floors=1, per_floor=3, by=keeper)
    a, b, new = building.units.order_by("position")
    entered = timezone.make_aware(datetime(2024, 3, 1, 12, 0))
    StatusChange.objects.filter(unit__in=[a, b]).update(at=entered)
    set_sales_state(
        unit=a, status=UnitStatus.SOLD, by=keeper, at=timezone.make_aware(datetime(2024, 4, 1))
    )

    def shown(day):
        board = selectors.chessboard(building, as_of=day)
        return {c.id: c.status for s in board.sections for r in s.rows for c in r.cells if c}

    assert shown(date(2024, 2, 20)) == {}
    assert shown(date(2024, 3, 10)) == {a.pk: "available", b.pk: "available"}
    assert shown(date(2024, 4, 10)) == {a.pk: "sold", b.pk: "available"}
    assert new.pk in shown(timezone.localdate())


def test_a_bad_as_of_date_is_ignored(client, manager, building):
    client.force_login(manager)

    response = client.get(board_url(building, "?as_of=2024-02-31"))

    assert response.status_code == 200
    assert response.context["board"].as_of is None
    assert len(cells(response)) == 8


@pytest.mark.parametrize("grouped", [False, True])
def test_board_prices_in_millions_are_rounded_not_cut(grouped, settings):
    """10 067 220 ₽ read "10,0 млн": the tenths were cut. They are rounded (half up), on the
    cells and in the filter alike."""
    settings.USE_THOUSAND_SEPARATOR = grouped
    expected = {
        "10067220": "10.1",
        "1049999.99": "1.0",
        "1050000": "1.1",
        "99999.99": "0.1",
        "49999.99": "0.0",
        "4125000": "4.1",
    }
    with translation.override("en"):
        numbers = selectors._Numbers()
        assert {p: numbers.millions(_in_hundredths(Decimal(p))) for p in expected} == expected
        assert {p: millions(Decimal(p)) for p in expected} == expected


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"as_of": "iso", "rooms": ["1", "4"], "status": ["sold"], "price_max": "9"},
        {"as_of": "typed", "section": "2", "kind": "parking", "floor_min": "x"},
        {"as_of": "not a day"},
    ],
)
def test_the_board_filters_written_in_python_are_what_django_templates_write(language, data):
    """The board's filter form is written by the quick renderer (the typed date with its
    format's hint too); every field reads as Django's own widget templates write it."""
    from datetime import timedelta

    from django.forms.renderers import get_default_renderer
    from django.utils import timezone

    from kvartal.inventory.forms import BoardFilterForm
    from kvartal.inventory.search import QUICK_WIDGETS

    past = timezone.localdate() - timedelta(days=40)  # a past day, whenever the test runs
    days = {"iso": past.isoformat(), "typed": past.strftime("%d.%m.%Y")}
    data = {**data, "as_of": days.get(data["as_of"], data["as_of"])} if "as_of" in data else data
    with translation.override(language):
        forms = [
            BoardFilterForm(data or None, parking=False, renderer=renderer)
            for renderer in (QUICK_WIDGETS, get_default_renderer())
        ]
        for form in forms:
            form.set_sections([(1, "Section 1"), (2, "Section 2")])
        quick, plain = forms
        assert quick.is_valid() == plain.is_valid()
        for name in quick.fields:
            assert str(quick[name]) == str(plain[name]), name
        assert "format-hint" in str(quick["as_of"])
