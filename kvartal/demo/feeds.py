"""The demo's listing feeds: every portal set up for every project, layouts as PNG images."""

from io import BytesIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw

from kvartal.feeds.models import Feed, FeedBuilding, FeedProject, ListingBuilding, Material
from kvartal.feeds.services import feed_ensure_all
from kvartal.inventory.models import Building, BuildingKind, Project, Unit, UnitKind

MATERIALS = [Material.MONOLITH, Material.MONOLITH_BRICK, Material.BRICK, Material.PANEL]


def _layout_png(rooms: int) -> bytes:
    """A schematic layout: the flat's outline split into its rooms."""
    width, height = 600, 400
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 20, width - 20, height - 20], outline="#1f3a5f", width=6)
    parts = max(rooms, 1)
    step = (width - 40) / (parts + 1)
    for n in range(1, parts + 1):
        x = int(20 + step * n)
        draw.line([x, 20, x, height - 120], fill="#1f3a5f", width=3)
    draw.line([20, height - 120, width - 20, height - 120], fill="#1f3a5f", width=3)
    buffer = BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def setup_feeds(say) -> None:
    say("Listing feeds: layouts and the four portals …")
    for rooms in range(0, 5):
        name = default_storage.save(
            f"plans/units/demo-layout-{rooms}.png", ContentFile(_layout_png(rooms))
        )
        qs = Unit.objects.filter(kind=UnitKind.APARTMENT, layout="")
        qs = qs.filter(rooms__gte=4) if rooms == 4 else qs.filter(rooms=rooms)
        qs.update(layout=name)
    buildings = list(Building.objects.filter(kind=BuildingKind.RESIDENTIAL).order_by("pk"))
    for n, building in enumerate(buildings):
        ListingBuilding.objects.get_or_create(
            building=building, defaults={"material": MATERIALS[n % len(MATERIALS)]}
        )
    projects = list(Project.objects.order_by("pk"))
    for base, feed in zip((100_000, 200_000, 300_000, 400_000), feed_ensure_all(), strict=True):
        Feed.objects.filter(pk=feed.pk).update(
            is_published=True,
            contact_phone="+73432001020",
            organization="ООО «СЗ Уральский квартал»",
        )
        for project in projects:
            FeedProject.objects.get_or_create(
                feed=feed, project=project, defaults={"complex_id": str(base + project.pk)}
            )
        for building in buildings:
            FeedBuilding.objects.get_or_create(
                feed=feed,
                building=building,
                defaults={"external_id": str(base + 5000 + building.pk)},
            )
