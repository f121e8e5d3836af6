"""Promotions: which units they cover, the discount and the price after it, the marks on the
chessboard and the unit card, and the promotion pages with their validation."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.sales.models import Promotion
from kvartal.sales.selectors import promotion_marks, promotion_offers, promotions_for_units
from kvartal.testing import make_building, make_section

from .factories import make_deal, make_promotion

D = Decimal


@pytest.fixture
def section(db):
    # Four flats a floor (studio 27.50, 1-room 38.40, 2-room 56.20, 3-room 78.90 m²) at
    # 150 000 ₽/m²: the studio costs 4 125 000 ₽.
    return make_section(make_building(), floors=2, per_floor=4)


def flat(section, *, floor=1, position=1):
    return section.units.get(floor__index=floor, position=position)


# --- the discount --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "min_price", "discount", "after"),
    [
        ("percent", "5", None, "206250", "3918750"),
        ("amount", "300000", None, "300000", "3825000"),
        ("per_m2", "140000", None, "275000", "3850000"),
        # 10 % would be 412 500; the floor of 3 900 000 allows only 225 000.
        ("percent", "10", "3900000", "225000", "3900000"),
        # A new price per m² above the current one gives no discount.
        ("per_m2", "160000", None, "0", "4125000"),
    ],
)
def test_the_price_after_a_promotion(section, kind, value, min_price, discount, after):
    studio = flat(section)
    assert studio.price == D("4125000.00")
    make_promotion(
        discount_kind=kind,
        value=D(value),
        min_price=D(min_price) if min_price else None,
        units=[studio],
    )
    (offer,) = promotion_offers(studio)
    assert (offer.discount, offer.price_after) == (D(discount), D(after))


# --- which units ---------------------------------------------------------------------------


def test_a_promotion_covers_units_matching_every_list_it_sets(section):
    other = make_section(make_building(), floors=1, per_floor=4)
    studio, one_room, upstairs_two = (
        flat(section),
        flat(section, position=2),
        flat(section, floor=2, position=3),
    )
    everywhere = make_promotion(name="Everything")
    studios_here = make_promotion(name="Studios here", buildings=[section.building])
    studios_here.rooms = [0]
    studios_here.save()
    by_project = make_promotion(name="Project", projects=[section.building.project])
    listed = make_promotion(name="Listed", units=[upstairs_two])
    ids = [studio.pk, one_room.pk, upstairs_two.pk, other.units.first().pk]
    found = {k: sorted(p.name for p in v) for k, v in promotions_for_units(ids).items()}
    assert found == {
        studio.pk: ["Everything", "Project", "Studios here"],
        one_room.pk: ["Everything", "Project"],
        upstairs_two.pk: ["Everything", "Listed", "Project"],
        other.units.first().pk: ["Everything"],
    }
    assert everywhere and by_project and listed


def test_switched_off_and_out_of_period_promotions_do_not_apply(section):
    studio = flat(section)
    today = timezone.localdate()
    make_promotion(name="Off", is_active=False, units=[studio])
    make_promotion(
        name="Over", starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=1)
    )
    make_promotion(
        name="Coming",
        starts_on=today + timedelta(days=1),
        ends_on=today.replace(year=today.year + 1),
    )
    assert promotions_for_units([studio.pk], today) == {}
    assert [
        p.name for p in promotions_for_units([studio.pk], today + timedelta(days=2))[studio.pk]
    ] == ["Coming"]


def test_promotion_marks_only_on_units_on_sale_and_name_the_promotions(section, manager):
    studio, sold = flat(section), flat(section, position=2)
    make_deal(manager=manager, unit=sold)
    make_promotion(name="Spring", buildings=[section.building])
    make_promotion(name="Studios", units=[studio])
    marks = promotion_marks([studio.pk, sold.pk], timezone.now())
    assert list(marks) == [studio.pk]
    (mark,) = marks[studio.pk]
    assert mark.css == "promo" and "Spring" in mark.title and "Studios" in mark.title


def test_promotion_marks_cost_the_same_queries_for_one_unit_or_a_building(
    section, django_assert_num_queries
):
    make_promotion(buildings=[section.building])
    make_promotion(units=list(section.units.all()[:3]))
    ids = list(section.units.values_list("pk", flat=True))
    # the units (given as ids), then the running promotions with their lists in one query
    with django_assert_num_queries(2):
        one = promotion_marks(ids[:1], timezone.now())
    with django_assert_num_queries(2):
        many = promotion_marks(ids, timezone.now())
    assert len(one) == 1 and len(many) == len(ids) == 8


def test_the_unit_card_and_the_chessboard_show_the_promotion(client, manager, section):
    studio = flat(section)
    make_promotion(name="Весна", discount_kind="amount", value=D("125000"), units=[studio])
    client.force_login(manager)
    card = client.get(reverse("inventory:unit-detail", args=[studio.pk])).content.decode()
    assert "Весна" in card and "4,000,000" in card
    board = client.get(reverse("inventory:building-chessboard", args=[section.building_id]))
    assert "promo" in board.content.decode() and "Promotion: Весна" in board.content.decode()


def test_the_chessboard_escapes_a_promotions_name_in_every_cell_it_marks(client, manager, section):
    studio, one = flat(section), flat(section, position=2)
    make_promotion(name='<b>Весна</b> & "Co"', units=[studio, one])
    client.force_login(manager)
    board = client.get(reverse("inventory:building-chessboard", args=[section.building_id]))
    html = board.content.decode()
    escaped = "Promotion: &lt;b&gt;Весна&lt;/b&gt; &amp; &quot;Co&quot;"
    assert html.count(escaped) == 2 and "<b>Весна</b>" not in html


# --- pages and validation ------------------------------------------------------------------


def form_data(**changes):
    """A running promotion: it began a month ago and ends in two months (dates relative to
    today, so that the list, which hides ended promotions, shows it whenever the test runs)."""
    today = timezone.localdate()
    data = {
        "name": "Осенние скидки",
        "description": "",
        "starts_on": (today - timedelta(days=30)).isoformat(),
        "ends_on": (today + timedelta(days=60)).isoformat(),
        "is_active": "on",
        "discount_kind": "percent",
        "value": "7,5",
        "min_price": "",
        "room_counts": "",
        "unit_list": "",
    }
    data.update(changes)
    return data


def test_the_sales_head_creates_a_promotion_for_listed_units(client, sales_head, section):
    client.force_login(sales_head)
    studio = flat(section)
    response = client.post(
        reverse("sales:promotion-create"),
        form_data(
            unit_list=f"{studio.number}, {flat(section, position=2).code}",
            buildings=[section.building_id],
            room_counts="0 1",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    promotion = Promotion.objects.get()
    assert promotion.value == D("7.50") and promotion.rooms == [0, 1]
    assert set(promotion.units.all()) == {studio, flat(section, position=2)}
    assert promotion.created_by == sales_head
    listing = client.get(reverse("sales:promotion-list")).content.decode()
    assert "Осенние скидки" in listing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"starts_on": "2999-12-01"}, "ends_on", "ends before it starts"),
        ({"value": "100"}, "value", "below 100"),
        ({"value": "0"}, "value", "greater than zero"),
        ({"value": "десять"}, "value", "Enter a number"),
        ({"min_price": "-1"}, "min_price", "greater than zero"),
        ({"room_counts": "one"}, "room_counts", "whole numbers"),
        ({"unit_list": "99999"}, "unit_list", "Not found: 99999"),
    ],
)
def test_bad_promotions_are_refused_with_a_clear_message(
    client, sales_head, section, changes, field, message
):
    client.force_login(sales_head)
    response = client.post(reverse("sales:promotion-create"), form_data(**changes))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Promotion.objects.exists()


def test_editing_keeps_or_drops_listed_units(client, sales_head, section):
    studio, one_room = flat(section), flat(section, position=2)
    promotion = make_promotion(units=[studio, one_room], starts_on=date(2026, 1, 1))
    client.force_login(sales_head)
    response = client.post(
        reverse("sales:promotion-update", args=[promotion.pk]),
        form_data(name="Переименована", keep_units=[one_room.pk]),
    )
    assert response.status_code == 302
    promotion.refresh_from_db()
    assert promotion.name == "Переименована"
    assert list(promotion.units.all()) == [one_room]


def test_an_inverted_period_on_edit_changes_nothing(client, sales_head, section):
    promotion = make_promotion(name="Было", starts_on=date(2026, 1, 1), ends_on=date(2026, 2, 1))
    client.force_login(sales_head)
    response = client.post(
        reverse("sales:promotion-update", args=[promotion.pk]),
        form_data(name="Стало", starts_on="2026-03-01", ends_on="2026-02-01"),
    )
    assert response.status_code == 400
    promotion.refresh_from_db()
    assert (promotion.name, promotion.starts_on) == ("Было", date(2026, 1, 1))


def test_a_manager_reads_promotions_but_cannot_create_them(client, manager):
    client.force_login(manager)
    assert client.get(reverse("sales:promotion-list")).status_code == 200
    response = client.post(reverse("sales:promotion-create"), form_data())
    assert response.status_code == 403
    assert not Promotion.objects.exists()
