"""The general information sheet (общая справка по объекту): exact numbers, HTML and PDF."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.core.models import CompanyProfile
from kvartal.core.pdf import local_file, render_pdf
from kvartal.inventory import summaries
from kvartal.inventory.models import BuildingKind, Readiness
from kvartal.inventory.services import SectionPlan, UnitSpec, section_generate
from kvartal.testing import make_building, make_project, make_section

EN = {"accept-language": "en"}
D = Decimal


def apartment(position, rooms, total, living):
    return UnitSpec(position=position, rooms=rooms, total_area=D(total), living_area=D(living))


def parking_structure(project, *, name, serves, above, below, by):
    """A parking structure: ``above`` spaces on level 1, ``below`` spaces on level −1."""
    structure = make_building(project, name=name, kind=BuildingKind.PARKING, serves=serves)
    section_generate(
        building=structure,
        plan=SectionPlan(
            number=1,
            floors=1,
            underground=1 if below else 0,
            typical_from=1,
            risers=[
                UnitSpec(position=i, total_area=D("13.25"), kind="parking")
                for i in range(1, above + 1)
            ],
            non_typical=[
                UnitSpec(position=i, floor=-1, total_area=D("13.25"), kind="parking")
                for i in range(1, below + 1)
            ],
        ),
        by=by,
    )
    return structure


@pytest.fixture
def estate(keeper):
    """ЖК Садовый.

    Дом 1, section 1: floor −1 (storage 5 and 6 m², a parking space of 15 m²), floor 1 (two
    commercial premises, 120.50 and 80 m²), floors 2–3 typical: studio 25/12, 1-room 40/18,
    2-room 60/32 (total/living). Section 2: floors 1–4 typical: 3-room 80/45, 4-room 100/60,
    5-room 130/80. Parking structure П1 serves Дом 1: 6 spaces on level −1, 4 on level 1.
    Дом 2: one generated section, 2 floors × (studio, 1-, 2-, 3-room). Parking structure П2
    serves no building: 2 spaces on level 1.
    """
    project = make_project(name="ЖК Садовый", address="ул. Садовая, 1")
    house = make_building(
        project,
        name="Дом 1",
        object_code="ЖК-С-1",
        construction_address="г. Екатеринбург, ул. Садовая, уч. 12",
        completion_date=date(2026, 9, 30),
    )
    section_generate(
        building=house,
        plan=SectionPlan(
            number=1,
            floors=3,
            underground=1,
            typical_from=2,
            risers=[
                apartment(1, 0, "25.00", "12.00"),
                apartment(2, 1, "40.00", "18.00"),
                apartment(3, 2, "60.00", "32.00"),
            ],
            non_typical=[
                UnitSpec(position=1, floor=1, kind="commercial", total_area=D("120.50")),
                UnitSpec(position=2, floor=1, kind="commercial", total_area=D("80.00")),
                UnitSpec(position=1, floor=-1, kind="storage", total_area=D("5.00")),
                UnitSpec(position=2, floor=-1, kind="storage", total_area=D("6.00")),
                UnitSpec(position=3, floor=-1, kind="parking", total_area=D("15.00")),
            ],
        ),
        by=keeper,
    )
    section_generate(
        building=house,
        plan=SectionPlan(
            number=2,
            floors=4,
            typical_from=1,
            risers=[
                apartment(1, 3, "80.00", "45.00"),
                apartment(2, 4, "100.00", "60.00"),
                apartment(3, 5, "130.00", "80.00"),
            ],
        ),
        by=keeper,
    )
    second = make_building(
        project, name="Дом 2", completion_date=date(2025, 12, 1), readiness=Readiness.COMPLETED
    )
    make_section(second, floors=2, per_floor=4)
    p1 = parking_structure(project, name="П1", serves=house, above=4, below=6, by=keeper)
    p2 = parking_structure(project, name="П2", serves=None, above=2, below=0, by=keeper)
    # a parking structure elsewhere that serves nobody here must not count
    parking_structure(make_project(), name="Чужой", serves=None, above=3, below=3, by=keeper)
    return {"project": project, "house": house, "second": second, "p1": p1, "p2": p2}


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


def test_building_sheet_numbers_are_exact(estate):
    sheet = summaries.building_sheet(estate["house"])
    assert sheet.section_count == 2
    first, second = sheet.sections
    assert (first.number, first.floors, first.underground) == (1, 3, 1)
    assert (second.number, second.floors, second.underground) == (2, 4, 0)
    assert first.mix.by_rooms == [2, 2, 2, 0, 0]
    assert (first.mix.apartments, first.mix.commercial, first.mix.storage) == (6, 2, 2)
    assert second.mix.by_rooms == [0, 0, 0, 4, 8]  # 4- and 5-room flats are "4+"
    assert (second.mix.apartments, second.mix.commercial, second.mix.storage) == (12, 0, 0)
    assert sheet.mix.by_rooms == [2, 2, 2, 4, 8]
    assert sheet.mix.apartments == 18
    # 2 × (25 + 40 + 60) + 120.50 + 80 + 5 + 6 + 15 + 4 × (80 + 100 + 130)
    assert sheet.areas.total == D("1716.50")
    # 2 × (12 + 18 + 32) + 4 × (45 + 60 + 80)
    assert sheet.areas.living == D("864.00")
    assert sheet.areas.commercial == D("200.50")
    # its own space on −1 plus П1's 6 underground; П1's 4 on level 1
    assert (sheet.parking.underground, sheet.parking.above_ground) == (7, 4)
    assert sheet.parking_sources == ["П1"]


def test_building_sheet_uses_a_fixed_number_of_queries(estate, django_assert_num_queries):
    with django_assert_num_queries(3):
        summaries.building_sheet(estate["house"])


def test_project_sheet_sums_its_buildings(estate):
    sheet = summaries.project_sheet(estate["project"])
    assert [s.building.name for s in sheet.buildings] == ["Дом 1", "Дом 2"]
    assert [b.name for b in sheet.parking_structures] == ["П1", "П2"]
    assert sheet.section_count == 3
    assert sheet.mix.by_rooms == [4, 4, 4, 6, 8]
    assert sheet.mix.apartments == 26
    assert (sheet.mix.commercial, sheet.mix.storage) == (2, 2)
    # Дом 2: 2 × (27.50 + 38.40 + 56.20 + 78.90) = 402.00, living 2 × 109.20
    assert sheet.areas.total == D("2118.50")
    assert sheet.areas.living == D("1082.40")
    assert sheet.areas.commercial == D("200.50")
    # П2 serves no building: its 2 spaces count for the project only
    assert (sheet.parking.underground, sheet.parking.above_ground) == (7, 6)
    assert sheet.completed_count == 1
    assert sheet.completion_dates == [date(2025, 12, 1), date(2026, 9, 30)]
    for attribute in ("total", "living", "commercial"):
        assert getattr(sheet.areas, attribute) == sum(
            getattr(s.areas, attribute) for s in sheet.buildings
        )


def test_project_sheet_uses_a_fixed_number_of_queries(estate, django_assert_num_queries):
    with django_assert_num_queries(4):
        summaries.project_sheet(estate["project"])


def test_building_sheet_page(as_manager, estate, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = as_manager.get(
            reverse("inventory:building-sheet", args=[estate["house"].pk]), headers=EN
        )
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "ЖК Садовый, Дом 1",
        "ЖК-С-1",
        "г. Екатеринбург, ул. Садовая, уч. 12",
        "not assigned yet",
        "Under construction",
        "1,716.50",
        "864.00",
        "200.50",
        "Download PDF",
        reverse("inventory:building-sheet-pdf", args=[estate["house"].pk]),
    ):
        assert text in html, text
    assert response.context["nav"] == "projects"


def test_a_postal_address_once_assigned_is_shown(as_manager, estate):
    house = estate["house"]
    house.postal_address = "ул. Садовая, д. 12"
    house.save()
    html = as_manager.get(reverse("inventory:building-sheet", args=[house.pk]), headers=EN)
    assert "ул. Садовая, д. 12" in html.content.decode()
    assert "not assigned yet" not in html.content.decode()


def test_project_sheet_page(as_manager, estate, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        response = as_manager.get(
            reverse("inventory:project-sheet", args=[estate["project"].pk]), headers=EN
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Дом 1" in html and "Дом 2" in html
    assert "2,118.50" in html
    assert "1 of 2 buildings completed" in html


def test_building_sheet_pdf_is_a_pdf(as_manager, estate):
    house = estate["house"]
    response = as_manager.get(reverse("inventory:building-sheet-pdf", args=[house.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="spravka-{house.pk}.pdf"'
    assert response.content.startswith(b"%PDF")


def test_project_sheet_pdf_is_a_pdf(as_manager, estate):
    project = estate["project"]
    response = as_manager.get(reverse("inventory:project-sheet-pdf", args=[project.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"spravka-project-{project.pk}.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def test_the_pdf_carries_the_company_logo_from_disk(estate, settings, tmp_path, rf):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "company").mkdir()
    Image.new("RGB", (40, 20), "#c8453b").save(tmp_path / "company" / "logo.png")
    profile = CompanyProfile.current()
    profile.name, profile.logo = "ООО «Строй»", "company/logo.png"
    profile.save()
    from kvartal.core.branding import company_context

    context = {
        "sheet": summaries.building_sheet(estate["house"]),
        "building": estate["house"],
        "project": estate["project"],
        "company": company_context(),
        "generated_at": timezone.now(),
    }
    with_logo = render_pdf("pdf/sheet.html", context)
    context["company"] = {**context["company"], "logo_url": ""}
    without_logo = render_pdf("pdf/sheet.html", context)
    assert with_logo.startswith(b"%PDF")
    assert b"/Image" in with_logo and b"/Image" not in without_logo


def test_the_pdf_renderer_reads_only_local_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "logo.png").write_bytes(b"png")
    assert local_file("http://kvartal.local/static/kvartal/kvartal.css").name == "kvartal.css"
    assert local_file("http://kvartal.local/media/logo.png") == tmp_path / "logo.png"
    assert local_file("http://kvartal.local/media/../../etc/passwd") is None
    assert local_file("http://example.com/static/kvartal/kvartal.css") is None
    assert local_file("http://kvartal.local/etc/passwd") is None
    assert local_file("file:///etc/passwd") is None
    assert local_file("http://kvartal.local/static/../settings.py") is None


def test_an_unbranded_installation_still_gets_a_sheet(as_manager, estate):
    profile = CompanyProfile.current()
    CompanyProfile.objects.filter(pk=profile.pk).update(brand_color="red;}*{")  # past the form
    response = as_manager.get(reverse("inventory:building-sheet-pdf", args=[estate["house"].pk]))
    assert response.content.startswith(b"%PDF")


def test_a_building_without_sections_has_an_empty_sheet(as_manager):
    building = make_building(name="Пустой")
    sheet = summaries.building_sheet(building)
    assert (sheet.section_count, sheet.mix.apartments, sheet.parking.total) == (0, 0, 0)
    assert sheet.areas.total == 0
    response = as_manager.get(reverse("inventory:building-sheet", args=[building.pk]), headers=EN)
    assert "No sections have been generated yet." in response.content.decode()


def test_sheets_need_a_sign_in(client, estate):
    for name, pk in (("building-sheet-pdf", estate["house"].pk), ("project-sheet", 1)):
        response = client.get(reverse(f"inventory:{name}", args=[pk]))
        assert response.status_code == 302


def test_unknown_objects_are_404(as_manager):
    assert as_manager.get(reverse("inventory:building-sheet-pdf", args=[999])).status_code == 404
    assert as_manager.get(reverse("inventory:project-sheet", args=[999])).status_code == 404
