"""``manage.py bench_feeds --units 50000``: each portal's feed built from the current database,
timed and its peak memory taken, next to the floor measured in the same run.

The floor is the least any feed writer can do: one SQL query for the same columns and lxml's
incremental writer writing the portal's same elements (the portal's own element code), with
no checks, promotions, descriptions, diff, gzip or publishing. Each run happens in a child
process of its own, so its peak RSS is its own (it starts from this process's size, printed as
"base"). Load data first, e.g. ``seed_demo --size L`` on PostgreSQL.
"""

import os
import resource
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from lxml import etree

from kvartal.feeds.models import (
    Feed,
    FeedBuild,
    FeedBuilding,
    FeedProject,
    ListingBuilding,
    Portal,
)
from kvartal.feeds.offers import Offer, external_id
from kvartal.feeds.portals import SPECS
from kvartal.feeds.services import DECLARATION, feed_build, feed_ensure_all, feeds_dir
from kvartal.inventory.models import Building, Project, Unit, UnitKind

FLOOR_SQL = """
SELECT u.id, u.number, u.code, u.kind, u.rooms, u.total_area, u.living_area, u.kitchen_area,
       u.ceiling_height, u.finishing, u.view, u.has_balcony, u.price, u.created_at,
       s.number, f.index, b.id, b.name, b.construction_address, b.completion_date,
       p.id, p.name, p.city
FROM inventory_unit u
JOIN inventory_section s ON s.id = u.section_id
JOIN inventory_floor f ON f.id = u.floor_id
JOIN inventory_building b ON b.id = u.building_id
JOIN inventory_project p ON p.id = b.project_id
WHERE u.status = 'available' AND u.kind = 'apartment' AND u.price > 0
ORDER BY p.id, b.id, s.number, f.index, u.position
LIMIT %s
"""


def _floor(portal: str, limit: int, path) -> int:
    spec = SPECS[portal]
    context = {
        "now": timezone.now(),
        "organization": "Bench",
        "phone": "+78431234567",
        "timezone": "GMT +0300",
        "projects": {p.pk: p for p in Project.objects.all()},
    }

    def rows():
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, [limit])
            while batch := cursor.fetchmany(2000):
                for r in batch:
                    yield Offer(
                        unit_id=r[0],
                        external_id=external_id(r[0]),
                        number=r[1],
                        code=r[2],
                        kind=r[3],
                        rooms=r[4],
                        total_area=r[5],
                        living_area=r[6],
                        kitchen_area=r[7],
                        ceiling_height=r[8],
                        finishing=r[9],
                        view=r[10],
                        has_balcony=r[11],
                        list_price=r[12],
                        price=r[12],
                        layout="",
                        floor_plan="",
                        created_at=r[13],
                        section_number=r[14],
                        floor=r[15],
                        floors_total=25,
                        building_id=r[16],
                        building_name=r[17],
                        address=r[18],
                        completion=r[19],
                        completed=False,
                        project_id=r[20],
                        project_name=r[21],
                        city=r[22],
                        material="monolith",
                        latitude=None,
                        longitude=None,
                        complex_id="1",
                        building_external_id="2",
                        phone="+78431234567",
                        description="Описание",
                        plan_url="https://example.ru/p.png",
                        floor_plan_url="",
                    )

    count = 0

    def counted():
        nonlocal count
        for offer in rows():
            count += 1
            yield offer

    with open(path, "wb") as f:
        f.write(DECLARATION)
        with etree.xmlfile(f, encoding="utf-8") as xf:
            spec.write(xf, counted(), context)
    return count


def _in_child(work):
    """Run ``work()`` in a forked child: (seconds, peak RSS in MB, its result)."""
    connection.close()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        started = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - started
        os.write(write, f"{elapsed} {result}".encode())
        os.close(write)
        os._exit(0)
    os.close(write)
    _, status, usage = os.wait4(pid, 0)
    data = os.read(read, 1024).decode().split()
    os.close(read)
    if status != 0 or len(data) != 2:
        raise CommandError("the benchmark child failed")
    return float(data[0]), usage.ru_maxrss / 1024, data[1]


class Command(BaseCommand):
    help = "Build each feed and print its seconds and peak RSS next to the floor's."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=50_000)
        parser.add_argument("--portal", choices=[*Portal.values, "all"], default="all")

    def handle(self, *args, units, portal, **options):
        available = Unit.objects.on_sale().filter(kind=UnitKind.APARTMENT, price__gt=0).count()
        self.stdout.write(
            f"Database: {connection.vendor}; {available:,} apartments on sale; limit {units:,}."
        )
        if available < units:
            self.stdout.write(
                self.style.WARNING(
                    f"Fewer apartments on sale than {units:,}: measuring {available:,}. "
                    "Load more with seed_demo --size L."
                )
            )
        self.stdout.write("Setting up the feeds (every project, every building mapped) …")
        feeds = {f.portal: f for f in feed_ensure_all()}
        for building in Building.objects.all():
            ListingBuilding.objects.get_or_create(building=building)
        for feed in feeds.values():
            Feed.objects.filter(pk=feed.pk).update(
                contact_phone="+78431234567", max_error_share=Decimal(100)
            )
            for project in Project.objects.all():
                FeedProject.objects.get_or_create(
                    feed=feed, project=project, defaults={"complex_id": str(1000 + project.pk)}
                )
            for building in Building.objects.all():
                FeedBuilding.objects.get_or_create(
                    feed=feed, building=building, defaults={"external_id": str(building.pk)}
                )
        # Every flat gets a layout (one PNG), so that every offer is written, not refused.
        media = Path(settings.MEDIA_ROOT) / "plans" / "units"
        media.mkdir(parents=True, exist_ok=True)
        (media / "bench-layout.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
        Unit.objects.filter(kind=UnitKind.APARTMENT, layout="").update(
            layout="plans/units/bench-layout.png"
        )
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(f"base RSS of this process: {base:.0f} MB")
        self.stdout.write(
            f"{'portal':<10} {'offers':>8} {'product s':>10} {'floor s':>8} {'ratio':>6} "
            f"{'product MB':>11} {'floor MB':>9} {'file MB':>8}"
        )
        portals = Portal.values if portal == "all" else [portal]
        for code in portals:
            feed = Feed.objects.get(portal=code)
            self.stdout.write(f"  building {code} …")
            seconds, rss, build_id = _in_child(
                lambda feed=feed: feed_build(feed=feed, limit=units).pk
            )
            build = FeedBuild.objects.get(pk=int(build_id))
            floor_path = feeds_dir() / f"bench-floor-{code}.xml"
            f_seconds, f_rss, count = _in_child(
                lambda code=code, path=floor_path: _floor(code, units, path)
            )
            size = floor_path.stat().st_size / 1e6
            floor_path.unlink()
            self.stdout.write(
                f"{code:<10} {build.offers:>8,} {seconds:>10.2f} {f_seconds:>8.2f} "
                f"{seconds / f_seconds:>6.2f} {rss:>11.0f} {f_rss:>9.0f} {size:>8.1f}"
                f"   ({build.state}, {build.offers_with_errors} with errors; "
                f"floor wrote {int(count):,})"
            )
