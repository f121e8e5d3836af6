"""The start page and a project's page."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.inventory.models import BuildingKind, Readiness, Unit, UnitStatus
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.testing import make_building, make_project, make_section

HOME = reverse("inventory:home")
EN = {"accept-language": "en"}


def project_with_units(name, *, keeper, sold=0):
    project = make_project(name=name, address="ул. Ленина, 1")
    building = make_building(project, name="Корпус 1", completion_date=date(2026, 12, 31))
    make_section(building, floors=2, per_floor=4)  # 8 units on sale
    for unit in Unit.objects.filter(building=building).order_by("pk")[:sold]:
        set_sales_state(unit=unit, status=UnitStatus.SOLD, by=keeper)
    return project, building


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def as_keeper(client, keeper):
    client.force_login(keeper)
    return client


def test_home_lists_projects_with_their_buildings_and_status_counts(as_manager, keeper):
    project, building = project_with_units("ЖК Северный", keeper=keeper, sold=3)
    make_building(project, name="Паркинг", kind=BuildingKind.PARKING, serves=building)
    response = as_manager.get(HOME, headers=EN)
    assert response.status_code == 200
    assert response.context["nav"] == "projects"
    (shown,) = response.context["projects"]
    assert [b.name for b in shown.building_list] == ["Корпус 1", "Паркинг"]
    counts = shown.building_list[0].counts
    assert (counts.count("available"), counts.count("sold"), counts.total) == (5, 3, 8)
    html = response.content.decode()
    assert "ЖК Северный" in html
    assert reverse("inventory:building-chessboard", args=[building.pk]) in html
    assert '<span class="badge st-available" title="Available">5' in html
    assert '<span class="badge st-sold" title="Sold">3' in html
    assert "Under construction" in html
    assert "12/31/2026" in html


def test_home_query_count_does_not_grow_with_projects(as_manager, keeper):
    project_with_units("ЖК Первый", keeper=keeper)
    with CaptureQueriesContext(connection) as one:
        as_manager.get(HOME)
    for n in range(2, 6):
        project, _ = project_with_units(f"ЖК {n}", keeper=keeper, sold=1)
        make_building(project, name="Корпус 2", readiness=Readiness.COMPLETED)
    with CaptureQueriesContext(connection) as five:
        response = as_manager.get(HOME)
    assert len(response.context["projects"]) == 5
    assert len(one) == len(five) <= 6


def test_home_empty_state_offers_a_new_project_to_editors(as_keeper):
    html = as_keeper.get(HOME, headers=EN).content.decode()
    assert "No projects yet" in html
    assert reverse("inventory:project-create") in html


def test_home_empty_state_without_the_link_for_sales(as_manager):
    html = as_manager.get(HOME, headers=EN).content.decode()
    assert "No projects yet" in html
    assert reverse("inventory:project-create") not in html


def test_project_page_shows_buildings_with_counts_and_areas(as_manager, keeper):
    project, building = project_with_units("ЖК Южный", keeper=keeper, sold=2)
    parking = make_building(project, name="Паркинг", kind=BuildingKind.PARKING, serves=building)
    response = as_manager.get(reverse("inventory:project-detail", args=[project.pk]), headers=EN)
    assert response.status_code == 200
    assert response.context["nav"] == "projects"
    assert response.context["crumbs"] == [
        (reverse("inventory:project-detail", args=[project.pk]), "ЖК Южный")
    ]
    first, second = response.context["buildings"]
    assert (first, second) == (building, parking)
    assert first.counts.by_status == {"available": 6, "sold": 2}
    # 2 floors × (27.50 + 38.40 + 56.20 + 78.90)
    assert str(first.counts.total_area) == "402.00"
    html = response.content.decode()
    assert "402" in html
    for name in ("building-chessboard", "building-sheet"):
        assert reverse(f"inventory:{name}", args=[building.pk]) in html
    assert reverse("inventory:project-sheet", args=[project.pk]) in html
    assert "serves Корпус 1" in html
    # sales people see no editing actions
    assert reverse("inventory:project-update", args=[project.pk]) not in html
    assert reverse("inventory:building-create", kwargs={"project_pk": project.pk}) not in html


def test_project_page_offers_editing_to_the_keeper(as_keeper, keeper):
    project, _ = project_with_units("ЖК Западный", keeper=keeper)
    html = as_keeper.get(reverse("inventory:project-detail", args=[project.pk])).content.decode()
    assert reverse("inventory:project-update", args=[project.pk]) in html
    assert reverse("inventory:building-create", kwargs={"project_pk": project.pk}) in html


def test_project_page_query_count_is_constant(as_manager, keeper, django_assert_max_num_queries):
    project, _ = project_with_units("ЖК Восточный", keeper=keeper)
    for n in range(2, 7):
        make_section(make_building(project, name=f"Корпус {n}"), floors=2, per_floor=2)
    with django_assert_max_num_queries(5):
        response = as_manager.get(reverse("inventory:project-detail", args=[project.pk]))
    assert len(response.context["buildings"]) == 6


def test_an_unknown_project_is_404(as_manager):
    assert as_manager.get(reverse("inventory:project-detail", args=[999])).status_code == 404


def test_director_sees_the_pages(client, director, keeper):
    project, _ = project_with_units("ЖК Директорский", keeper=keeper)
    client.force_login(director)
    assert client.get(HOME).status_code == 200
    assert client.get(reverse("inventory:project-detail", args=[project.pk])).status_code == 200


def test_pages_need_a_sign_in(client):
    for url in (HOME, reverse("inventory:project-detail", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]
