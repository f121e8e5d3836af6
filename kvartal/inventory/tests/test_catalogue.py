"""The unit catalogue: one search across all projects, filters, sorting, paging, errors."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.forms.renderers import get_default_renderer
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.inventory.models import Unit, UnitStatus
from kvartal.inventory.search import (
    QUICK_WIDGETS,
    CatalogueFilterForm,
    filter_units,
    sort_units,
)
from kvartal.inventory.services import (
    SectionPlan,
    UnitSpec,
    section_generate,
    unit_set_status,
    unit_update,
)
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.testing import make_building, make_project, make_section

URL = reverse("inventory:unit-list")
EN = {"accept-language": "en"}


@pytest.fixture
def catalogue(keeper):
    """Two projects.

    ЖК Альфа / А1 (completion 30.06.2026): 3 floors × (studio 27.50, 1-room 38.40, 2-room 56.20,
    3-room 78.90) at 150 000 ₽/m², numbers 1–12 bottom-up; no. 1 reserved, 2 sold, 3 not for
    sale. ЖК Бета / Б1 (completion 31.12.2027): section 1, 2 floors × (studio, 1-room) at
    200 000 ₽/m² (numbers 1–4); section 2, one floor with a 4-room 95 m² (no. 5) and a 5-room
    120 m² (no. 6). Everything else is on sale.
    """
    alpha = make_project(name="ЖК Альфа")
    a1 = make_building(alpha, name="А1", completion_date=date(2026, 6, 30))
    make_section(a1, floors=3, per_floor=4, price_per_m2=Decimal("150000"))
    beta = make_project(name="ЖК Бета")
    b1 = make_building(beta, name="Б1", completion_date=date(2027, 12, 31))
    make_section(b1, floors=2, per_floor=2, price_per_m2=Decimal("200000"))
    section_generate(
        building=b1,
        plan=SectionPlan(
            number=2,
            floors=1,
            typical_from=1,
            risers=[
                UnitSpec(position=1, rooms=4, total_area=Decimal("95.00")),
                UnitSpec(position=2, rooms=5, total_area=Decimal("120.00")),
            ],
            price_per_m2=Decimal("200000"),
        ),
        by=keeper,
    )
    unit = Unit.objects.get
    set_sales_state(unit=unit(building=a1, number="1"), status=UnitStatus.RESERVED, by=keeper)
    set_sales_state(unit=unit(building=a1, number="2"), status=UnitStatus.SOLD, by=keeper)
    unit_set_status(unit=unit(building=a1, number="3"), status=UnitStatus.NOT_FOR_SALE, by=keeper)
    return {"alpha": alpha, "a1": a1, "beta": beta, "b1": b1}


def found(response) -> list[str]:
    """The rows shown, as "building/number", in page order."""
    assert response.status_code == 200
    return [f"{u.building.name}/{u.number}" for u in response.context["page"].object_list]


def search(client, **params):
    return client.get(URL, params, headers=EN)


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"rooms": "2"}, {"А1/7", "А1/11"}),
        ({"rooms": ["0", "4+"]}, {"А1/5", "А1/9", "Б1/1", "Б1/3", "Б1/5", "Б1/6"}),
        ({"rooms": "4+"}, {"Б1/5", "Б1/6"}),
        (
            {"area_min": "38", "area_max": "57"},
            {"А1/6", "А1/10", "А1/7", "А1/11", "Б1/2", "Б1/4"},
        ),
        ({"price_min": "5000000", "price_max": "6000000"}, {"А1/6", "А1/10", "Б1/1", "Б1/3"}),
        ({"price_m2_min": "180000"}, {"Б1/1", "Б1/2", "Б1/3", "Б1/4", "Б1/5", "Б1/6"}),
        ({"status": ["reserved", "sold"]}, {"А1/1", "А1/2"}),
        ({"status": "not_for_sale"}, {"А1/3"}),
        ({"floor_min": "3"}, {"А1/9", "А1/10", "А1/11", "А1/12"}),
        ({"floor_min": "2", "floor_max": "2", "rooms": "0"}, {"А1/5", "Б1/3"}),
        ({"q": "7"}, {"А1/7"}),
        ({"q": "1"}, {"Б1/1"}),  # number 1 only, not all of section 1 (А1/1 is held)
        ({"q": "1."}, {f"А1/{n}" for n in range(4, 13)} | {f"Б1/{n}" for n in range(1, 5)}),
        ({"q": "1.2"}, {"А1/5", "А1/6", "А1/7", "А1/8", "Б1/3", "Б1/4"}),
        ({"section": "2"}, {"Б1/5", "Б1/6"}),
        ({"q": "4", "section": "1"}, {"А1/4", "Б1/4"}),
        ({"q": "4", "section": "1", "building": "b1"}, {"Б1/4"}),
        ({"completion_from": "2027-01-01"}, {"Б1/1", "Б1/2", "Б1/3", "Б1/4", "Б1/5", "Б1/6"}),
        (
            {"completion_to": "2026-12-31"},
            {"А1/4", "А1/5", "А1/6", "А1/7", "А1/8", "А1/9", "А1/10", "А1/11", "А1/12"},
        ),
        ({"kind": "parking"}, set()),
    ],
)
def test_filters_find_exactly_the_matching_units(as_manager, catalogue, params, expected):
    if params.get("building") in catalogue:
        params = {**params, "building": catalogue[params["building"]].pk}
    response = search(as_manager, **params)
    assert set(found(response)) == expected
    assert response.context["totals"].count == len(expected)


def test_a_code_finds_codes_not_a_number_that_reads_the_same(as_manager, catalogue, keeper):
    """An imported unit numbered "2.1.1" is not the unit whose code is 2.1.1."""
    odd = Unit.objects.get(building=catalogue["a1"], number="9")
    unit_update(unit=odd, data={"number": "2.1.1"}, by=keeper)

    assert found(search(as_manager, q="2.1.1")) == ["Б1/5"]
    assert set(found(search(as_manager, q="2.1."))) == {"Б1/5", "Б1/6"}


def test_a_section_out_of_range_is_an_error_next_to_the_field(as_manager, catalogue):
    response = search(as_manager, section="0")
    assert response.status_code == 200
    assert "section" in response.context["form"].errors


def test_only_units_on_sale_are_shown_by_default(as_manager, catalogue):
    response = search(as_manager)
    rows = found(response)
    assert len(rows) == 9 + 6  # А1 without its reserved, sold and closed units; all of Б1
    assert {"А1/1", "А1/2", "А1/3"}.isdisjoint(rows)
    assert response.context["form"]["status"].value() == ["available"]


def test_project_and_building_filters(as_manager, catalogue):
    beta, b1 = catalogue["beta"], catalogue["b1"]
    assert set(found(search(as_manager, project=beta.pk))) == {f"Б1/{n}" for n in range(1, 7)}
    response = search(as_manager, project=beta.pk, building=b1.pk, rooms="1")
    assert set(found(response)) == {"Б1/2", "Б1/4"}
    # the building list follows the chosen project
    choices = list(response.context["form"].fields["building"].queryset)
    assert choices == [b1]


def test_a_building_of_another_project_is_an_error_not_a_crash(as_manager, catalogue):
    response = search(as_manager, project=catalogue["beta"].pk, building=catalogue["a1"].pk)
    assert response.status_code == 200
    assert "building" in response.context["form"].errors
    assert found(response) == []


def test_result_count_and_sums(as_manager, catalogue):
    response = search(as_manager, project=catalogue["beta"].pk)
    totals = response.context["totals"]
    assert totals.count == 6
    # 2 × 27.50 + 2 × 38.40 + 95 + 120
    assert totals.total_area == Decimal("346.80")
    # 2 × 5 500 000 + 2 × 7 680 000 + 19 000 000 + 24 000 000
    assert totals.total_price == Decimal("69360000")
    assert totals.price_per_m2 == Decimal("200000")
    assert "6 units found" in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", ["Б1/1", "Б1/3", "Б1/2", "Б1/4", "Б1/5", "Б1/6"]),
        ("-price", ["Б1/6", "Б1/5", "Б1/4", "Б1/2", "Б1/3", "Б1/1"]),
        ("-rooms", ["Б1/6", "Б1/5", "Б1/4", "Б1/2", "Б1/3", "Б1/1"]),
        ("area", ["Б1/1", "Б1/3", "Б1/2", "Б1/4", "Б1/5", "Б1/6"]),
        ("-floor", ["Б1/4", "Б1/3"]),
        ("number", ["Б1/1", "Б1/2", "Б1/3", "Б1/4", "Б1/5", "Б1/6"]),
        ("-number", ["Б1/6", "Б1/5", "Б1/4", "Б1/3", "Б1/2", "Б1/1"]),
    ],
)
def test_sorting(as_manager, catalogue, sort, expected):
    rows = found(search(as_manager, project=catalogue["beta"].pk, sort=sort))
    assert rows[: len(expected)] == expected


def test_sorting_by_price_per_m2_and_completion_across_projects(as_manager, catalogue):
    # ties fall back to the newest first when descending
    rows = found(search(as_manager, sort="-price_m2", rooms="0"))
    assert rows == ["Б1/3", "Б1/1", "А1/9", "А1/5"]
    rows = found(search(as_manager, sort="completion", rooms="0"))
    assert rows == ["А1/5", "А1/9", "Б1/1", "Б1/3"]


def test_sort_header_links_toggle_the_direction_and_keep_the_filters(as_manager, catalogue):
    html = search(as_manager, rooms="2", sort="price").content.decode()
    assert 'href="?rooms=2&amp;sort=-price"' in html
    assert 'href="?rooms=2&amp;sort=area"' in html


def test_an_unknown_sort_is_ignored(as_manager, catalogue):
    response = search(as_manager, sort="password", project=catalogue["beta"].pk)
    assert len(found(response)) == 6


def test_pages_of_fifty_keep_the_filters(as_manager, keeper):
    project = make_project(name="ЖК Большой")
    make_section(make_building(project, name="Дом"), floors=14, per_floor=4)  # 56 units
    make_section(make_building(name="Чужой"), floors=1, per_floor=4)  # another project
    response = search(as_manager, project=project.pk, sort="price")
    assert len(found(response)) == 50
    assert response.context["totals"].count == 56
    html = response.content.decode()
    assert f'href="?project={project.pk}&amp;sort=price&amp;page=2"' in html
    second = search(as_manager, project=project.pk, sort="price", page="2")
    rows = found(second)
    assert len(rows) == 6
    assert all(row.startswith("Дом/") for row in rows)
    assert set(rows).isdisjoint(found(response))


def test_a_page_out_of_range_shows_the_last_page(as_manager, catalogue):
    response = search(as_manager, page="999")
    assert response.status_code == 200
    assert len(found(response)) == 15


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"area_min": "abc"}, "area_min", "Enter a number."),
        ({"price_min": "9000000", "price_max": "5000000"}, "price_max", "lower bound"),
        ({"floor_min": "x"}, "floor_min", "Enter a whole number."),
        ({"completion_from": "2027-13-45"}, "completion_from", "Enter a valid date."),
        (
            {"completion_from": "2027-06-01", "completion_to": "2026-01-01"},
            "completion_to",
            "lower bound",
        ),
        ({"rooms": "9"}, "rooms", "Select a valid choice"),
        ({"project": "abc"}, "project", "Select a valid choice"),
        ({"area_min": "-5"}, "area_min", "greater than or equal to 0"),
    ],
)
def test_invalid_filters_show_an_error_next_to_the_field(
    as_manager, catalogue, params, field, message
):
    response = search(as_manager, **params)
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert 'class="error" role="alert"' in html
    assert message in html
    assert found(response) == []


@pytest.mark.parametrize(
    "params",
    [
        {"floor_min": "99999999999999999999"},
        {"project": "99999999999999999999"},
        {"building": "99999999999999999999"},
        {"area_min": "1e400"},
        {"price_max": "99999999999999999999999999"},
        {"page": "99999999999999999999"},
        {"q": "x" * 100},
        {"completion_from": "9999-12-31"},
        {"status": "gone"},
    ],
)
def test_absurd_values_never_crash_the_page(as_manager, catalogue, params):
    assert search(as_manager, **params).status_code == 200


def test_query_count_does_not_grow_with_the_rows(as_manager, keeper):
    small = make_project(name="ЖК Малый")
    make_section(make_building(small), floors=1, per_floor=4)
    make_section(make_building(small), floors=1, per_floor=1)  # 5 units
    big = make_project(name="ЖК Крупный")
    make_section(make_building(big), floors=15, per_floor=4)  # 60 units
    counts = []
    for project, rows in ((small, 5), (big, 50)):
        with CaptureQueriesContext(connection) as queries:
            response = search(as_manager, project=project.pk, sort="-price")
        assert len(found(response)) == rows
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_queries_are_few(as_manager, keeper, django_assert_max_num_queries):
    project = make_project()
    make_section(make_building(project), floors=15, per_floor=4)
    with django_assert_max_num_queries(8):
        response = search(as_manager, project=project.pk, rooms=["1", "2"], area_min="30")
    assert response.context["totals"].count == 30


def test_a_row_shows_the_unit_and_escapes_what_people_typed(as_manager, keeper, catalogue):
    studio = Unit.objects.get(building=catalogue["a1"], number="5")
    unit_update(unit=studio, by=keeper, data={"number": '<b>5</b>"&'})
    sold = Unit.objects.get(building=catalogue["a1"], number="2")

    html = search(as_manager, status=["available", "sold"], rooms=["0", "1"]).content.decode()

    assert "<b>5</b>" not in html
    assert (
        "\n          <tr>"
        "\n            <td>ЖК Альфа</td>"
        "\n            <td>А1</td>"
        '\n            <td class="num">1</td>'
        '\n            <td class="num">2</td>'
        f'\n            <td class="nowrap"><a class="strong" href="/app/units/{studio.pk}/">'
        "&lt;b&gt;5&lt;/b&gt;&quot;&amp;</a></td>"
        '\n            <td class="muted nowrap">1.2.1</td>'
        '\n            <td class="num">studio</td>'
        '\n            <td class="num">27.5</td>'
        '\n            <td class="num strong">4,125,000</td>'
        '\n            <td class="num">150,000</td>'
        '\n            <td class="num">06/30/2026</td>'
        '\n            <td><span class="badge st-available">Available</span>\n</td>'
        "\n          </tr>\n          "
    ) in html
    assert (
        f'<a class="strong" href="/app/units/{sold.pk}/">2</a></td>'
        '\n            <td class="muted nowrap">1.1.2</td>'
        '\n            <td class="num">1</td>'
    ) in html
    assert '<span class="badge st-sold">Sold</span>' in html


def test_quick_widgets_write_what_the_django_templates_write(catalogue):
    """The catalogue filters are written in Python; the markup is that of Django's templates."""
    data = {
        "q": "<b>\"1&2'</b>",
        "project": catalogue["beta"].pk,
        "building": catalogue["a1"].pk,  # another project's building: an error
        "kind": "apartment",
        "rooms": ["0", "4+"],
        "status": ["sold", "reserved"],
        "area_min": "30",
        "area_max": "x",
        "floor_min": "2",
        "completion_from": "2026-01-01",
        "sort": "-price",
    }
    quick = CatalogueFilterForm(data)
    plain = CatalogueFilterForm(data, renderer=get_default_renderer())
    assert quick.renderer is QUICK_WIDGETS and not quick.is_valid() and not plain.is_valid()
    assert set(quick.errors) == {"building", "area_max"}
    for name in quick.fields:
        assert str(quick[name]) == str(plain[name]), name
        for ours, django in zip(quick[name].subwidgets, plain[name].subwidgets, strict=True):
            assert ours.tag() == django.tag(), name
            assert str(ours) == str(django), name  # with the label: Django's template
    empty = CatalogueFilterForm()
    assert str(empty["building"]) == str(
        CatalogueFilterForm(renderer=get_default_renderer())["building"]
    )
    assert '<option value="" selected>' in str(empty["building"])


def test_the_filters_work_without_the_page(catalogue):
    """Other pages (the bulk price change) select units with the same form and function."""
    form = CatalogueFilterForm({"project": catalogue["alpha"].pk, "rooms": ["3"]})
    assert form.is_valid(), form.errors
    units = sort_units(filter_units(form.cleaned_data), "-number")
    assert [u.number for u in units] == ["12", "8", "4"]
    everything = CatalogueFilterForm({"rooms": ["3"]}, default_statuses=())
    assert everything.is_valid()
    assert filter_units(everything.cleaned_data).count() == 3


def test_the_catalogue_needs_a_sign_in(client, catalogue):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
