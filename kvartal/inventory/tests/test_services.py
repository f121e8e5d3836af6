"""The inventory's rules, stated as tests of the services."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kvartal.inventory import services
from kvartal.inventory.models import (
    PriceBatch,
    PriceChange,
    StatusChange,
    Unit,
    UnitChange,
    UnitKind,
    UnitStatus,
)
from kvartal.inventory.services import SectionPlan, UnitSpec
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.testing import make_building, make_section, typical_risers

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything a refused action must leave as it was."""
    return (
        list(Unit.objects.order_by("pk").values_list("pk", "number", "code", "price", "status")),
        StatusChange.objects.count(),
        PriceChange.objects.count(),
        UnitChange.objects.count(),
    )


# --- the generator ------------------------------------------------------------------------


def test_generator_numbers_bottom_up_left_to_right_and_codes_units(keeper):
    section = make_section(floors=3, per_floor=2, by=keeper)
    units = list(section.units.order_by("floor__index", "position"))
    assert [(u.number, u.code) for u in units] == [
        ("1", "1.1.1"),
        ("2", "1.1.2"),
        ("3", "1.2.1"),
        ("4", "1.2.2"),
        ("5", "1.3.1"),
        ("6", "1.3.2"),
    ]
    # risers share their characteristics on every typical floor
    assert {(u.rooms, u.total_area) for u in units if u.position == 2} == {(1, Decimal("38.40"))}


@pytest.mark.parametrize(
    ("numbering", "expected"),
    [
        ("left_to_right", ["1.1.1", "1.1.2", "1.2.1", "1.2.2"]),
        ("right_to_left", ["1.1.2", "1.1.1", "1.2.2", "1.2.1"]),
        ("by_riser", ["1.1.1", "1.2.1", "1.1.2", "1.2.2"]),
    ],
)
def test_generator_numbers_in_the_developers_order(keeper, numbering, expected):
    section = make_section(floors=2, per_floor=2, numbering=numbering, by=keeper)
    codes_by_number = dict(section.units.values_list("number", "code"))
    assert [codes_by_number[str(n)] for n in range(1, 5)] == expected


def test_second_section_continues_the_building_numbering(keeper):
    building = make_building()
    make_section(building, number=1, floors=2, per_floor=3, by=keeper)
    second = make_section(building, number=2, floors=2, per_floor=2, by=keeper)
    assert sorted(int(n) for n in second.units.values_list("number", flat=True)) == [7, 8, 9, 10]
    assert set(second.units.values_list("code", flat=True)) == {"2.1.1", "2.1.2", "2.2.1", "2.2.2"}


def test_generator_fills_non_typical_floors_and_underground_levels(keeper):
    building = make_building()
    plan = SectionPlan(
        number=1,
        floors=4,
        typical_from=2,
        underground=1,
        risers=typical_risers(2),
        non_typical=[
            UnitSpec(floor=1, position=1, kind=UnitKind.COMMERCIAL, total_area=Decimal("120")),
            UnitSpec(floor=-1, position=13, kind=UnitKind.STORAGE, total_area=Decimal("4.5")),
        ],
        first_number=101,
    )
    section = services.section_generate(building=building, plan=plan, by=keeper)
    rows = set(section.units.values_list("kind", "number", "code"))
    assert rows == {
        (UnitKind.STORAGE, "1", "1.-1.013"),
        (UnitKind.COMMERCIAL, "1", "1.1.1"),
        (UnitKind.APARTMENT, "101", "1.2.1"),
        (UnitKind.APARTMENT, "102", "1.2.2"),
        (UnitKind.APARTMENT, "103", "1.3.1"),
        (UnitKind.APARTMENT, "104", "1.3.2"),
        (UnitKind.APARTMENT, "105", "1.4.1"),
        (UnitKind.APARTMENT, "106", "1.4.2"),
    }
    assert list(section.floors.values_list("index", "label", "level_type")) == [
        (-1, "-1", "underground"),
        (1, "1", "above_ground"),
        (2, "2", "above_ground"),
        (3, "3", "above_ground"),
        (4, "4", "above_ground"),
    ]


def test_skipped_floor_labels_keep_the_physical_index(keeper):
    section = make_section(floors=14, per_floor=1, skip_floor_labels=[13], by=keeper)
    labels = dict(section.floors.values_list("index", "label"))
    assert labels[12] == "12" and labels[13] == "14" and labels[14] == "15"


def test_generator_prices_by_floor_and_records_who_entered_the_data(keeper):
    section = make_section(
        floors=3,
        per_floor=1,
        price_per_m2=Decimal("100000"),
        floor_price_step=Decimal("10"),
        by=keeper,
    )
    prices = list(section.units.order_by("floor__index").values_list("price", flat=True))
    # 27.50 m² × 100 000 ₽ × (1, 1.1, 1.2), rounded to 1 000 ₽
    assert prices == [Decimal("2750000"), Decimal("3025000"), Decimal("3300000")]
    assert UnitChange.objects.filter(actor=keeper, changes={}).count() == 3
    assert StatusChange.objects.filter(actor=keeper, new_status=UnitStatus.AVAILABLE).count() == 3


@pytest.mark.parametrize(
    ("plan_changes", "field"),
    [
        ({"risers": [UnitSpec(position=1, total_area=Decimal("-5"))]}, "risers"),
        ({"risers": [UnitSpec(position=1, total_area=Decimal("0"))]}, "risers"),
        (
            {"risers": [UnitSpec(position=1, total_area=Decimal("40"), living_area=Decimal("41"))]},
            "risers",
        ),
        (
            {
                "non_typical": [
                    UnitSpec(
                        floor=30, position=1, total_area=Decimal("40"), kind=UnitKind.COMMERCIAL
                    )
                ]
            },
            "non_typical",
        ),
        ({"typical_from": 0}, "typical_from"),
        ({"floors": 0}, "floors"),
        (
            {
                "risers": [
                    UnitSpec(position=1, total_area=Decimal("40")),
                    UnitSpec(position=1, total_area=Decimal("30")),
                ]
            },
            "risers",
        ),
    ],
)
def test_generator_refuses_an_impossible_plan_and_creates_nothing(keeper, plan_changes, field):
    building = make_building()
    plan = SectionPlan(number=1, floors=5, typical_from=2, risers=typical_risers(2))
    for name, value in plan_changes.items():
        setattr(plan, name, value)
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.section_generate(building=building, plan=plan, by=keeper)
    assert field in error.value.message_dict
    assert snapshot() == before
    assert not building.sections.exists()


def test_generator_refuses_numbers_already_used_in_the_building(keeper):
    building = make_building()
    make_section(building, number=1, floors=2, per_floor=2, by=keeper)
    before = snapshot()
    plan = SectionPlan(number=2, floors=2, typical_from=1, risers=typical_risers(2), first_number=3)
    with pytest.raises(ValidationError) as error:
        services.section_generate(building=building, plan=plan, by=keeper)
    assert "3, 4" in error.value.message_dict["first_number"][0]
    assert snapshot() == before
    assert building.sections.count() == 1


def test_regenerating_a_section_replaces_it_while_nothing_is_taken(keeper):
    building = make_building()
    make_section(building, floors=2, per_floor=2, by=keeper)
    section = make_section(building, floors=3, per_floor=3, by=keeper)
    assert section.units.count() == 9
    assert building.sections.count() == 1


def test_regenerating_a_section_with_a_sold_unit_is_refused_and_changes_nothing(keeper):
    building = make_building()
    section = make_section(building, floors=2, per_floor=2, by=keeper)
    set_sales_state(unit=section.units.first(), status=UnitStatus.SOLD, by=keeper)
    before = snapshot()
    with pytest.raises(services.SectionLocked):
        make_section(building, floors=5, per_floor=5, by=keeper)
    assert snapshot() == before


# --- status -------------------------------------------------------------------------------


def test_status_change_appends_a_history_row(keeper):
    unit = make_section(floors=1, per_floor=1, by=keeper).units.get()
    services.unit_set_status(
        unit=unit, status=UnitStatus.NOT_FOR_SALE, by=keeper, reason="закрыт этаж"
    )
    row = StatusChange.objects.filter(unit=unit).order_by("-pk").first()
    assert (row.old_status, row.new_status, row.actor, row.reason) == (
        UnitStatus.AVAILABLE,
        UnitStatus.NOT_FOR_SALE,
        keeper,
        "закрыт этаж",
    )
    unit.refresh_from_db()
    assert unit.status == UnitStatus.NOT_FOR_SALE and unit.status_changed_at == row.at


def test_a_unit_without_a_price_cannot_go_on_sale(keeper):
    unit = make_section(floors=1, per_floor=1, price_per_m2=None, by=keeper).units.get()
    before = snapshot()
    with pytest.raises(ValidationError):
        services.unit_set_status(unit=unit, status=UnitStatus.AVAILABLE, by=keeper)
    assert snapshot() == before


def test_a_sold_unit_cannot_be_closed_from_sale(keeper):
    unit = make_section(floors=1, per_floor=1, by=keeper).units.get()
    set_sales_state(unit=unit, status=UnitStatus.SOLD, by=keeper)
    before = snapshot()
    with pytest.raises(services.InvalidStatusTransition):
        services.unit_set_status(unit=unit, status=UnitStatus.NOT_FOR_SALE, by=keeper)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (UnitStatus.AVAILABLE, UnitStatus.SOLD),
        (UnitStatus.AVAILABLE, UnitStatus.RESERVED),
        (UnitStatus.AVAILABLE, UnitStatus.IN_DEAL),
        (UnitStatus.SOLD, UnitStatus.AVAILABLE),
        (UnitStatus.RESERVED, UnitStatus.AVAILABLE),
        (UnitStatus.IN_DEAL, UnitStatus.AVAILABLE),
    ],
)
def test_the_public_status_services_make_no_sales_moves(keeper, start, target):
    """Reserved, in a deal and sold come only with a hold or a deal: not by hand."""
    section = make_section(floors=1, per_floor=2, by=keeper)
    one, two = section.units.order_by("position")
    if start != UnitStatus.AVAILABLE:
        set_sales_state(unit=one, status=start, by=keeper)
        set_sales_state(unit=two, status=start, by=keeper)
    before = snapshot()
    with pytest.raises(services.InvalidStatusTransition):
        services.unit_set_status(unit=one, status=target, by=keeper)
    with pytest.raises(services.InvalidStatusTransition):
        services.units_bulk_set_status(units=section.units.all(), status=target, by=keeper)
    assert snapshot() == before


def test_the_public_status_services_open_and_close_sales(keeper):
    section = make_section(floors=1, per_floor=2, by=keeper)
    assert (
        services.units_bulk_set_status(
            units=section.units.all(), status=UnitStatus.NOT_FOR_SALE, by=keeper
        )
        == 2
    )
    assert (
        services.units_bulk_set_status(
            units=section.units.all(), status=UnitStatus.AVAILABLE, by=keeper
        )
        == 2
    )
    assert set(section.units.values_list("status", flat=True)) == {UnitStatus.AVAILABLE}


# --- price --------------------------------------------------------------------------------


def test_a_price_set_during_a_hold_survives_the_deal_and_applies_when_back_on_sale(keeper):
    unit = make_section(floors=1, per_floor=1, by=keeper).units.get()
    old = unit.price
    set_sales_state(unit=unit, status=UnitStatus.RESERVED, by=keeper)
    services.unit_set_price(unit=unit, price=old + 100000, by=keeper, reason="прайс")
    set_sales_state(unit=unit, status=UnitStatus.IN_DEAL, by=keeper)
    unit.refresh_from_db()
    assert (unit.price, unit.pending_price) == (old, old + 100000)  # kept through the deal
    assert not PriceChange.objects.filter(unit=unit).exists()
    set_sales_state(unit=unit, status=UnitStatus.AVAILABLE, by=keeper)  # terminated
    unit.refresh_from_db()
    assert (unit.price, unit.pending_price) == (old + 100000, None)
    row = PriceChange.objects.get(unit=unit)
    assert (row.old_price, row.new_price, row.reason) == (
        old,
        old + 100000,
        "Price set during the hold",
    )


def test_bulk_price_change_gives_a_held_unit_a_pending_price(keeper):
    section = make_section(floors=2, per_floor=1, price_per_m2=Decimal("100000"), by=keeper)
    free, held = section.units.order_by("floor__index")
    set_sales_state(unit=held, status=UnitStatus.RESERVED, by=keeper)
    held.refresh_from_db()
    changes, skipped = services.units_price_preview(
        units=section.units.all(), percent=Decimal("10")
    )
    assert skipped == []
    assert {(c.unit.pk, c.pending) for c in changes} == {(free.pk, False), (held.pk, True)}
    batch = services.units_bulk_set_price(
        units=section.units.all(), percent=Decimal("10"), reason="индексация", by=keeper
    )
    assert batch.units_count == 2
    free.refresh_from_db()
    old_held = held.price
    held.refresh_from_db()
    assert free.price == Decimal("3025000")
    assert (held.price, held.pending_price) == (old_held, Decimal("3025000"))
    assert list(PriceChange.objects.values_list("unit", flat=True)) == [free.pk]
    assert UnitChange.objects.filter(unit=held, changes__has_key="pending_price").exists()


def test_price_change_keeps_date_old_new_who_and_why(keeper):
    unit = make_section(floors=1, per_floor=1, by=keeper).units.get()
    old = unit.price
    unit = services.unit_set_price(
        unit=unit, price=Decimal("5000000"), by=keeper, reason="старт продаж"
    )
    row = unit.price_changes.get()
    assert (row.old_price, row.new_price, row.actor, row.reason) == (
        old,
        Decimal("5000000"),
        keeper,
        "старт продаж",
    )
    assert unit.price_per_m2 == Decimal("181818.18")  # 5 000 000 / 27.50


def test_zero_price_for_a_unit_on_sale_is_refused(keeper):
    unit = make_section(floors=1, per_floor=1, by=keeper).units.get()
    before = snapshot()
    with pytest.raises(ValidationError):
        services.unit_set_price(unit=unit, price=Decimal(0), by=keeper)
    assert snapshot() == before


def test_price_of_a_sold_unit_is_locked(keeper):
    unit = make_section(floors=1, per_floor=1, by=keeper).units.get()
    set_sales_state(unit=unit, status=UnitStatus.SOLD, by=keeper)
    before = snapshot()
    with pytest.raises(services.PriceLocked):
        services.unit_set_price(unit=unit, price=Decimal("1"), by=keeper)
    assert snapshot() == before


def test_bulk_change_by_percent_writes_the_same_history_and_skips_sold(keeper):
    section = make_section(floors=2, per_floor=1, price_per_m2=Decimal("100000"), by=keeper)
    low, high = section.units.order_by("floor__index")
    set_sales_state(unit=high, status=UnitStatus.SOLD, by=keeper)
    batch = services.units_bulk_set_price(
        units=section.units.all(), percent=Decimal("5"), reason="индексация", by=keeper
    )
    low.refresh_from_db()
    high.refresh_from_db()
    assert low.price == Decimal("2887500")  # 2 750 000 × 1.05
    assert high.price == Decimal("2750000")  # sold: kept
    assert batch.units_count == 1
    assert list(PriceChange.objects.values_list("unit", "old_price", "new_price", "batch")) == [
        (low.pk, Decimal("2750000"), Decimal("2887500"), batch.pk)
    ]


def test_bulk_change_per_m2(keeper):
    section = make_section(floors=1, per_floor=2, price_per_m2=Decimal("100000"), by=keeper)
    services.units_bulk_set_price(
        units=section.units.all(), per_m2_delta=Decimal("2000"), reason="шаг", by=keeper
    )
    # 27.50 m² and 38.40 m²: +55 000 and +76 800
    assert sorted(section.units.values_list("price", flat=True)) == [
        Decimal("2805000"),
        Decimal("3916800"),
    ]


def test_bulk_change_that_would_zero_a_price_changes_nothing(keeper):
    section = make_section(floors=1, per_floor=2, by=keeper)
    before = snapshot()
    with pytest.raises(ValidationError):
        services.units_bulk_set_price(
            units=section.units.all(), per_m2_delta=Decimal("-1000000"), reason="x", by=keeper
        )
    assert snapshot() == before
    assert not PriceBatch.objects.exists()


# --- unit data ----------------------------------------------------------------------------


def test_unit_edit_records_old_and_new_values(keeper):
    unit = make_section(floors=2, per_floor=1, by=keeper).units.order_by("number").first()
    services.unit_update(unit=unit, by=keeper, data={"bti_area": Decimal("27.10"), "rooms": 1})
    change = unit.data_changes.exclude(changes={}).get()
    assert change.changes == {"bti_area": [None, "27.10"], "rooms": ["0", "1"]}
    assert change.actor == keeper


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"total_area": Decimal("-1")}, "total_area"),
        ({"total_area": Decimal("0")}, "total_area"),
        ({"living_area": Decimal("99")}, "living_area"),
        ({"number": "2"}, "number"),
    ],
)
def test_unit_edit_refuses_bad_data_and_changes_nothing(keeper, data, field):
    section = make_section(floors=2, per_floor=1, by=keeper)
    unit = section.units.get(number="1")
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.unit_update(unit=unit, by=keeper, data=data)
    assert field in error.value.message_dict
    assert snapshot() == before


def test_moving_a_unit_to_a_floor_of_another_section_is_refused(keeper):
    building = make_building()
    first = make_section(building, number=1, floors=2, per_floor=1, by=keeper)
    second = make_section(building, number=2, floors=2, per_floor=1, by=keeper)
    unit = first.units.first()
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.unit_update(unit=unit, by=keeper, data={"floor": second.floors.first()})
    assert "floor" in error.value.message_dict
    assert snapshot() == before


def test_the_database_refuses_a_duplicate_number_even_past_the_services(keeper):
    section = make_section(floors=2, per_floor=1, by=keeper)
    with pytest.raises(IntegrityError), transaction.atomic():
        section.units.filter(number="2").update(number="1")


def test_the_database_refuses_a_unit_on_sale_without_price(keeper):
    section = make_section(floors=1, per_floor=1, by=keeper)
    with pytest.raises(IntegrityError), transaction.atomic():
        section.units.update(price=0)


def test_a_parking_can_be_underground_only(keeper):
    building = make_building(kind="parking")
    plan = SectionPlan(
        number=1,
        floors=0,
        underground=2,
        non_typical=[
            UnitSpec(floor=level, position=p, kind=UnitKind.PARKING, total_area=Decimal("13.25"))
            for level in (-2, -1)
            for p in (1, 2)
        ],
    )
    section = services.section_generate(building=building, plan=plan, by=keeper)
    assert sorted(section.units.values_list("code", flat=True)) == [
        "1.-1.001",
        "1.-1.002",
        "1.-2.001",
        "1.-2.002",
    ]
    assert list(section.floors.values_list("index", flat=True)) == [-2, -1]


def test_bulk_change_leaves_unpriced_units_alone(keeper):
    building = make_building()
    make_section(building, number=1, floors=1, per_floor=1, price_per_m2=Decimal("100000"))
    make_section(building, number=2, floors=1, per_floor=1, price_per_m2=None)
    batch = services.units_bulk_set_price(
        units=building.units.all(), percent=Decimal("3"), reason="индексация", by=keeper
    )
    assert batch.units_count == 1
    assert sorted(building.units.values_list("price", flat=True)) == [
        0,
        Decimal("2832500"),
    ]  # 2 750 000 × 1.03


def test_bulk_change_that_changes_nothing_is_refused(keeper):
    section = make_section(floors=1, per_floor=1, price_per_m2=None, by=keeper)
    before = snapshot()
    with pytest.raises(ValidationError):
        services.units_bulk_set_price(
            units=section.units.all(), percent=Decimal("3"), reason="x", by=keeper
        )
    assert snapshot() == before
    assert not PriceBatch.objects.exists()


def test_a_building_with_units_can_be_deleted_whole_but_not_a_floor_alone(keeper):
    from django.db.models import RestrictedError

    section = make_section(floors=2, per_floor=1, by=keeper)
    with pytest.raises(RestrictedError), transaction.atomic():
        section.floors.first().delete()
    section.building.delete()
    assert not Unit.objects.exists()
