from datetime import timedelta

import pytest
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.core.testing import make_building, make_project, make_section, make_user
from kvartal.feeds.models import Feed, FeedBuilding, FeedProject, ListingBuilding, Portal

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _feeds_in_a_temporary_folder(settings, tmp_path):
    settings.KVARTAL_FEEDS_DIR = tmp_path / "feeds"
    settings.KVARTAL_PUBLIC_URL = "https://crm.example.ru"


@pytest.fixture
def marketer(db):
    return make_user(Role.MARKETER)


@pytest.fixture
def estate(keeper, settings):
    """A project with one building (completion in a year), 2 floors × 2 flats on sale, each
    with a PNG layout."""
    project = make_project(name="ЖК Пример Парк", city="Казань")
    building = make_building(
        project,
        name="Корпус 2",
        construction_address="ул. Примерная, 5",
        completion_date=timezone.localdate() + timedelta(days=365),
    )
    make_section(building, floors=2, per_floor=2, by=keeper)
    media = settings.MEDIA_ROOT / "plans" / "units"
    media.mkdir(parents=True, exist_ok=True)
    units = list(building.units.order_by("pk"))
    for unit in units:
        name = f"plans/units/{unit.pk}.png"
        (settings.MEDIA_ROOT / name).write_bytes(PNG)
        type(unit).objects.filter(pk=unit.pk).update(layout=name)
    ListingBuilding.objects.create(building=building, material="monolith")
    for unit in units:
        unit.refresh_from_db()
    return project, building, units


@pytest.fixture
def feed_for(estate):
    """A published feed of ``portal`` over the estate, every id mapped."""
    project, building, _ = estate

    def make(portal=Portal.YANDEX, **fields):
        fields.setdefault("contact_phone", "+78431234567")
        fields.setdefault("organization", "ООО «Девелопер»")
        feed = Feed.objects.create(portal=portal, is_published=True, **fields)
        FeedProject.objects.create(feed=feed, project=project, complex_id="123456")
        FeedBuilding.objects.create(feed=feed, building=building, external_id="654321")
        return feed

    return make
