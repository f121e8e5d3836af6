"""Parking, as a keeper builds it: level 0, typical underground levels, renamed levels, the
generator's words and the spaces per level on the sheet."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kvartal.inventory import services, summaries
from kvartal.inventory.models import BuildingKind, Floor, Unit, UnitChange, UnitKind
from kvartal.inventory.services import SectionPlan, UnitSpec
from kvartal.testing import make_building

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}


def spaces(n: int, area: str = "13.25") -> list[UnitSpec]:
    return [
        UnitSpec(position=p, kind=UnitKind.PARKING, total_area=Decimal(area))
        for p in range(1, n + 1)
    ]


def garage(keeper, **plan):
    structure = make_building(kind=BuildingKind.PARKING, name="П1")
    plan = {"number": 1, "floors": 0, "underground": 2, "ground_level": True, **plan}
    services.section_generate(building=structure, plan=SectionPlan(**plan), by=keeper)
    return structure


def test_a_parking_has_a_level_0_and_typical_underground_levels(keeper):
    structure = garage(keeper, typical_from=-2, typical_to=0, risers=spaces(3), first_number=1)

    levels = list(
        Floor.objects.filter(section__building=structure)
        .order_by("index")
        .values_list("index", "label", "level_type", "is_typical")
    )
    assert levels == [
        (-2, "-2", "underground", True),
        (-1, "-1", "underground", True),
        (0, "0", "above_ground", True),
    ]
    rows = list(
        structure.units.order_by("floor__index", "position").values_list("number", "code", "kind")
    )
    assert len(rows) == 9  # three spaces typed once, on each of the three levels
    assert rows[0] == ("1", "1.-2.001", UnitKind.PARKING)
    assert rows[-1] == ("9", "1.0.003", UnitKind.PARKING)


def test_typical_levels_must_lie_within_the_section(keeper):
    structure = make_building(kind=BuildingKind.PARKING)
    plan = SectionPlan(number=1, floors=0, underground=2, typical_from=-3, risers=spaces(2))
    with pytest.raises(ValidationError) as error:
        services.section_generate(building=structure, plan=plan, by=keeper)
    assert "typical_from" in error.value.message_dict
    assert not structure.units.exists()


def test_a_renamed_level_re_codes_its_spaces(keeper):
    structure = make_building(kind=BuildingKind.PARKING)
    services.section_generate(
        building=structure,
        plan=SectionPlan(number=1, floors=1, underground=1, typical_from=-1, risers=spaces(2)),
        by=keeper,
    )
    level = Floor.objects.get(section__building=structure, index=1)
    level.label = "0"
    services.floor_save(floor=level, by=keeper)

    codes = set(structure.units.filter(floor=level).values_list("code", flat=True))
    assert codes == {"1.0.001", "1.0.002"}
    recoded = sorted(
        UnitChange.objects.filter(unit__floor=level)
        .exclude(changes={})
        .values_list("changes", flat=True),
        key=str,
    )
    assert recoded == [{"code": ["1.1.001", "1.0.001"]}, {"code": ["1.1.002", "1.0.002"]}]

    # A label that is another level's number would give two spaces one code: refused.
    below = Floor.objects.get(section__building=structure, index=-1)
    below.label = "0"
    with pytest.raises(ValidationError) as error:
        services.floor_save(floor=below, by=keeper)
    assert "label" in error.value.message_dict
    assert set(structure.units.filter(floor=below).values_list("code", flat=True)) == {
        "1.-1.001",
        "1.-1.002",
    }


def test_a_level_renamed_from_its_page_shows_the_new_code(client, keeper):
    structure = make_building(kind=BuildingKind.PARKING)
    services.section_generate(
        building=structure,
        plan=SectionPlan(number=1, floors=1, typical_from=1, risers=spaces(1)),
        by=keeper,
    )
    level = Floor.objects.get(section__building=structure)
    client.force_login(keeper)
    response = client.post(
        reverse("inventory:floor-update", args=[level.pk]),
        {"label": "0", "level_type": "above_ground"},
    )
    assert response.status_code == 302
    assert Unit.objects.get(floor=level).code == "1.0.001"


def test_the_parking_generator_speaks_of_levels_and_spaces(client, keeper):
    structure = make_building(kind=BuildingKind.PARKING)
    client.force_login(keeper)
    url = reverse("inventory:section-generate", args=[structure.pk])
    page = client.get(url, headers=EN).content.decode()
    assert "Level 0 (ground level)" in page
    assert "Typical levels from" in page
    assert "First space number" in page
    for word in ("apartment", "Apartment", "Rooms", "Kitchen", "Living", "Riser", "typical floor"):
        assert word not in page.split("<main", 1)[-1], word

    response = client.post(
        url,
        {
            "number": "1",
            "floors": "0",
            "underground": "2",
            "ground_level": "on",
            "typical_from": "-2",
            "typical_to": "0",
            "numbering": "left_to_right",
            "floor_price_step": "0",
            "risers-TOTAL_FORMS": "2",
            "risers-INITIAL_FORMS": "0",
            "risers-0-position": "1",
            "risers-0-kind": "parking",
            "risers-0-total_area": "13.25",
            "risers-1-position": "2",
            "risers-1-kind": "parking",
            "risers-1-total_area": "13.25",
            "other-TOTAL_FORMS": "0",
            "other-INITIAL_FORMS": "0",
        },
        headers=EN,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert structure.units.count() == 6
    assert set(structure.units.values_list("floor__index", flat=True)) == {-2, -1, 0}


def test_the_parking_sheet_counts_the_spaces_per_level(client, keeper, manager):
    structure = garage(
        keeper,
        typical_from=-2,
        typical_to=-1,
        risers=spaces(3),
        non_typical=[
            UnitSpec(floor=0, position=1, kind=UnitKind.PARKING, total_area=Decimal("15"))
        ],
    )
    sheet = summaries.building_sheet(structure)
    assert sheet.parking.levels == [("", "-2", 3), ("", "-1", 3), ("", "0", 1)]

    client.force_login(manager)
    html = client.get(
        reverse("inventory:building-sheet", args=[structure.pk]), headers=EN
    ).content.decode()
    assert "Spaces per level" in html
    assert "level -2" in html and "level 0" in html
