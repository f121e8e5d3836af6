"""Reads built by the ORM once per process (``core.statements``) give what the ORM gives."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kvartal.core.statements import Statement, Update
from kvartal.inventory.models import Unit, UnitStatus
from kvartal.testing import make_building, make_section

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "number", "total_area", "price", "status", "hold_until", "section__number")


def units_of(building_id):
    return Unit.objects.filter(building_id=building_id).order_by("pk").values_list(*COLUMNS)


def test_the_rows_are_the_querysets_rows_for_every_value(keeper):
    first, second = make_building(), make_building()
    make_section(first, floors=2, per_floor=3, by=keeper)
    make_section(second, floors=1, per_floor=2, by=keeper)
    # values the converters must bring back as the ORM does: money, an aware time
    Unit.objects.filter(building=second).update(
        price=Decimal("1234567.89"),
        status=UnitStatus.RESERVED,
        hold_until=timezone.now() + timedelta(hours=3),
    )
    units = Statement(units_of, samples=(-1, -2))
    for building in (first, second, first):
        with CaptureQueriesContext(connection) as queries:
            rows = units.rows(building.pk)
        assert len(queries) == 1
        assert rows == list(units_of(building.pk))
        assert all(isinstance(row[3], Decimal) for row in rows)
    assert units.rows(-3) == []


def test_a_date_is_a_parameter_as_the_orm_adapts_it(keeper):
    building = make_building()
    make_section(building, floors=1, per_floor=2, by=keeper)

    def created_by(day):
        return Unit.objects.filter(created_at__date__lte=day).order_by("pk").values_list("pk")

    created = Statement(
        created_by,
        samples=(date(1001, 2, 3), date(1002, 3, 4)),
        adapt=lambda connection, day: connection.ops.adapt_datefield_value(day),
    )
    today = timezone.localdate()
    assert created.rows(today) == list(created_by(today))
    assert created.rows(today - timedelta(days=3650)) == []


def test_a_query_whose_sql_changes_with_the_value_is_refused():
    def unfit(value):  # the value decides the shape of the query, not a parameter
        units = Unit.objects.values_list("pk")
        return units.filter(price__gt=F("total_area")) if value < 0 else units

    with pytest.raises(RuntimeError):
        Statement(unfit, samples=(-1, 1)).rows(5)


def test_a_query_of_two_values_takes_each_where_it_goes(keeper):
    building = make_building()
    make_section(building, floors=2, per_floor=3, by=keeper)

    def on_floor(building_id, number):
        return (
            Unit.objects.filter(building_id=building_id, number__gte=number)
            .order_by("pk")
            .values_list(*COLUMNS)
        )

    both = Statement(on_floor, samples=((-1, "stand-in-a"), (-2, "stand-in-b")), arity=2)
    for number in ("1", "3", "9"):
        assert both.rows(building.pk, number) == list(on_floor(building.pk, number))
    assert both.rows(-3, "1") == []
    with pytest.raises(TypeError):
        both.rows(building.pk)


def test_a_value_the_query_does_not_take_is_refused():
    def ignores_second(building_id, _unused):
        return Unit.objects.filter(building_id=building_id).values_list("pk")

    with pytest.raises(RuntimeError):
        Statement(ignores_second, samples=((-1, "a"), (-2, "b")), arity=2).rows(1, "c")


def test_an_update_changes_what_the_orms_update_would(keeper):
    building = make_building()
    make_section(building, floors=1, per_floor=3, by=keeper)
    first, second, third = Unit.objects.filter(building=building).order_by("pk")
    mark = Update(
        lambda pk, until: (
            Unit.objects.filter(pk=pk),
            {"hold_until": until, "total_area": F("total_area") + 1},
        ),
        samples=((-1, timezone.now() - timedelta(days=9000)), (-2, timezone.now())),
        arity=2,
    )
    until = timezone.now() + timedelta(hours=5)
    with CaptureQueriesContext(connection) as queries:
        assert mark.run(second.pk, until) == 1
    assert len(queries) == 1
    assert mark.run(-5, until) == 0
    second_before = second.total_area
    second.refresh_from_db()
    assert second.hold_until == until and second.total_area == second_before + 1
    for other in (first, third):  # the others untouched
        assert Unit.objects.get(pk=other.pk).hold_until is None


def test_objects_are_the_querysets_instances_with_their_related_rows(keeper):
    from kvartal.inventory.models import Building

    first, second = make_building(), make_building()

    def building(pk):
        return Building.objects.select_related("project").filter(pk=pk)

    buildings = Statement(building, samples=(-1, -2))
    for pk in (first.pk, second.pk, first.pk):
        with CaptureQueriesContext(connection) as queries:
            (found,) = buildings.objects(pk)
            project = found.project  # in its cache: no query
        assert len(queries) == 1
        (expected,) = building(pk)
        assert [getattr(found, f.attname) for f in Building._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in Building._meta.concrete_fields
        ]
        assert (project.pk, project.name) == (expected.project.pk, expected.project.name)
        assert not found._state.adding and found._state.db == expected._state.db
    assert buildings.objects(-3) == []
