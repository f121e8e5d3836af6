"""The showcase's public pictures (``/files/…``): a visitor gets the photo and plans of what
is published, and nothing else — not an unpublished project's plans, not a contract, not a
file reached by ``..``. Served by content type, with nosniff and revalidation headers."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from kvartal.core.testing import make_building, make_project, make_section
from kvartal.inventory.models import Floor, Unit, UnitStatus
from kvartal.showcase.models import ProjectShowcase

pytestmark = pytest.mark.django_db


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(out, "JPEG")
    return out.getvalue()


def stored(settings, name: str, content: bytes) -> str:
    path = settings.MEDIA_ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return name


def url(name: str) -> str:
    return reverse("showcase-files:file", kwargs={"path": name})


@pytest.fixture
def plan(settings, unit):
    """A published unit's layout (a PNG stored under a name ending .jpg: the type is read
    from the content)."""
    name = stored(settings, "plans/units/4f1c2b.jpg", png())
    Unit.objects.filter(pk=unit.pk).update(layout=name)
    return name


def test_a_published_units_plan_is_served_to_an_anonymous_visitor(client, plan):
    response = client.get(url(plan))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png()
    assert response["Content-Type"] == "image/png"  # by content, not by the name's .jpg
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["ETag"] and response["Last-Modified"]
    assert "attachment" not in response.get("Content-Disposition", "")


def test_a_visitor_who_has_the_plan_gets_304(client, plan):
    first = client.get(url(plan))
    by_etag = client.get(url(plan), HTTP_IF_NONE_MATCH=first["ETag"])
    assert by_etag.status_code == 304 and by_etag["ETag"] == first["ETag"]
    by_date = client.get(url(plan), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_date.status_code == 304
    assert client.get(url(plan), HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_a_floor_plan_and_a_project_photo_are_served(client, settings, unit, project):
    floor_plan = stored(settings, "plans/floors/aa11.png", png())
    Floor.objects.filter(pk=unit.floor_id).update(plan=floor_plan)
    photo = stored(settings, "showcase/bb22.jpg", jpeg())
    ProjectShowcase.objects.filter(project=project).update(photo=photo)
    assert client.get(url(floor_plan)).status_code == 200
    response = client.get(url(photo))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_an_unpublished_projects_plan_is_404(client, settings, plan, project):
    hidden = make_project(name="ЖК Черновик")
    section = make_section(make_building(hidden, name="Корпус 9"), floors=1, per_floor=1)
    other = stored(settings, "plans/units/cc33.png", png())
    Unit.objects.filter(pk=section.units.get().pk).update(layout=other)
    photo = stored(settings, "showcase/dd44.png", png())
    ProjectShowcase.objects.create(project=hidden, is_published=False, photo=photo)
    assert client.get(url(other)).status_code == 404
    assert client.get(url(photo)).status_code == 404
    ProjectShowcase.objects.filter(project=project).update(is_published=False)
    assert client.get(url(plan)).status_code == 404  # taken off the showcase: gone at once


def test_a_unit_not_for_sale_keeps_its_plan_private(client, plan, unit):
    Unit.objects.filter(pk=unit.pk).update(status=UnitStatus.NOT_FOR_SALE)
    assert client.get(url(plan)).status_code == 404


def test_a_file_nothing_public_names_is_404(client, settings, plan):
    stray = stored(settings, "plans/units/ee55.png", png())
    assert client.get(url(stray)).status_code == 404


@pytest.mark.parametrize("name", ["documents/deals/contract-1.pdf", "imports/prices.xlsx"])
def test_a_contract_or_import_file_is_404_even_when_a_unit_names_it(client, settings, unit, name):
    stored(settings, name, png())  # even an image is not served from these folders
    Unit.objects.filter(pk=unit.pk).update(layout=name)
    assert client.get(url(name)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "plans/units/../../documents/deals/contract-1.pdf",
        "plans/units/%2e%2e/%2e%2e/documents/deals/contract-1.pdf",
        "../settings.py",
        "/etc/passwd",
    ],
)
def test_a_path_traversal_attempt_is_404(client, settings, plan, path):
    stored(settings, "documents/deals/contract-1.pdf", b"%PDF-1.7 contract")
    response = client.get(f"/files/{path}")
    assert response.status_code == 404
    assert b"%PDF" not in response.content


def test_a_file_that_is_not_an_image_is_not_served(client, settings, unit):
    name = stored(settings, "plans/units/ff66.png", b"<html><script>alert(1)</script></html>")
    Unit.objects.filter(pk=unit.pk).update(layout=name)
    assert client.get(url(name)).status_code == 404


def test_the_unit_and_project_pages_show_pictures_from_the_public_route(
    client, settings, plan, unit, project
):
    photo = stored(settings, "showcase/bb22.jpg", jpeg())
    ProjectShowcase.objects.filter(project=project).update(photo=photo)
    page = client.get(reverse("showcase:unit-detail", args=[unit.pk])).content.decode()
    assert f'src="{url(plan)}"' in page
    assert "/media/" not in page
    page = client.get(reverse("showcase:project", args=[project.pk])).content.decode()
    assert f'src="{url(photo)}"' in page
    assert "/media/" not in page


def test_a_drawing_in_svg_is_not_shown_as_a_broken_picture(client, settings, unit):
    """The public route serves raster images only: an SVG floor plan (the demo draws them so)
    is left off the page, not shown as a broken image."""
    name = stored(settings, "plans/floors/aa11.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    Floor.objects.filter(pk=unit.floor_id).update(plan=name)
    page = client.get(reverse("showcase:unit-detail", args=[unit.pk])).content.decode()
    assert url(name) not in page and 'class="floorplan"' not in page


def test_a_plan_costs_one_query_and_a_photo_two(
    client, settings, plan, project, django_assert_num_queries
):
    photo = stored(settings, "showcase/bb22.jpg", jpeg())
    ProjectShowcase.objects.filter(project=project).update(photo=photo)
    with django_assert_num_queries(1):
        assert client.get(url(plan)).status_code == 200
    with django_assert_num_queries(2):
        assert client.get(url(photo)).status_code == 200
