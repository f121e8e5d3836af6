"""Benchmark of the import: 20 000 units and 20 000 prices through the same code the pages
run, next to the bare floor (PostgreSQL ``COPY`` of the same rows) in the same run.

Each phase runs in a forked child process, so the peak RSS printed is that phase's own
(Django and the data it read included). Prints; asserts nothing. Leaves no data behind
unless ``--keep``.
"""

import io
import os
import pickle
import resource
import tempfile
import time
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, connections, transaction
from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.inventory.models import (
    Building,
    Floor,
    LevelType,
    PriceBatch,
    Project,
    Section,
    Unit,
)
from kvartal.pricing import services, transfer
from kvartal.pricing.models import Batch


def _in_child(function):
    """Run ``function()`` in a forked process; its result, seconds and peak RSS (MB)."""
    connections.close_all()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        status = 0
        try:
            started = time.perf_counter()
            result = function()
            seconds = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            payload = pickle.dumps((result, seconds, peak, None))
        except Exception as error:  # reported by the parent
            payload = pickle.dumps((None, 0, 0, repr(error)))
            status = 1
        with os.fdopen(write, "wb") as out:
            out.write(payload)
        connections.close_all()
        os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as stream:
        data = stream.read()
    os.waitpid(pid, 0)
    result, seconds, peak, error = pickle.loads(data)
    if error:
        raise RuntimeError(error)
    return result, seconds, peak


class Command(BaseCommand):
    help = "Import 20 000 units and 20 000 prices and print seconds and peak RSS next to COPY."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=20_000)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark's data")

    def handle(self, *args, **options):
        n = options["units"]
        per_building = 1000  # 2 sections × 25 floors × 20 positions
        buildings = max(1, (n + per_building - 1) // per_building)
        stamp = timezone.now().strftime("%Y%m%d%H%M%S")
        keeper = User.objects.filter(is_superuser=True).first() or User.objects.create(
            username=f"bench-import-{stamp}", role=Role.ADMIN, is_superuser=True, is_staff=True
        )
        vendor = connection.vendor
        self.stdout.write(f"database: {vendor}; units: {n}")

        project = Project.objects.create(name=f"Bench import {stamp}")
        floor_project = Project.objects.create(name=f"Bench floor {stamp}")
        for i in range(buildings):
            for p in (project, floor_project):
                Building.objects.create(project=p, name=f"B{i + 1}", construction_address="-")
        rows = []
        for i in range(n):
            b, k = divmod(i, per_building)
            section, rest = divmod(k, 500)
            floor, position = divmod(rest, 20)
            rows.append(
                [project.name, f"B{b + 1}", section + 1, floor + 1, position + 1, "apartment",
                 str(k + 1), position % 4, "42.50", "20.10", "10.00", "2.80", "none", "",
                 "no", ""]
            )  # fmt: skip
        with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as inventory_file:
            inventory_file.write(transfer.write_csv("inventory", rows))
        self.stdout.write(f"inventory file: {os.path.getsize(inventory_file.name) / 1e6:.1f} MB")

        def import_units():
            with open(inventory_file.name, "rb") as stream:
                checked = transfer.check(stream, "units.csv", "inventory")
            assert not checked.errors, checked.errors[:3]
            return transfer.apply(checked, by=keeper, valid_only=False)

        written, seconds, peak = _in_child(import_units)
        self.stdout.write(
            f"import of {n} units (check + write, with history): {seconds:.2f} s, "
            f"peak RSS {peak:.0f} MB — {written}"
        )

        price_rows = [
            [project.name, building_name, code, "apartment", 5_000_000 + i]
            for i, (building_name, code) in enumerate(
                Unit.objects.filter(building__project=project)
                .order_by("pk")
                .values_list("building__name", "code")
            )
        ]
        with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as prices_file:
            prices_file.write(transfer.write_csv("prices", price_rows))

        def import_prices():
            with open(prices_file.name, "rb") as stream:
                checked = transfer.check(stream, "prices.csv", "prices")
            assert not checked.errors, checked.errors[:3]
            return transfer.apply(checked, by=keeper, valid_only=False)

        written, seconds, peak = _in_child(import_prices)
        self.stdout.write(
            f"import of {n} prices (check + batch of lines): {seconds:.2f} s, "
            f"peak RSS {peak:.0f} MB — {written}"
        )

        def approve():
            batch = Batch.objects.get(pk=written["batch"])
            services.batch_approve(batch=batch, by=keeper)
            return PriceBatch.objects.get(pk=Batch.objects.get(pk=batch.pk).applied_id).units_count

        applied, seconds, peak = _in_child(approve)
        self.stdout.write(
            f"approval of the batch (prices + {applied} PriceChange rows): {seconds:.2f} s, "
            f"peak RSS {peak:.0f} MB"
        )

        if vendor == "postgresql":
            floor_ids = self._floor_places(floor_project)

            def copy_units():
                return self._copy_units(floor_project, rows, floor_ids, keeper)

            count, seconds, peak = _in_child(copy_units)
            self.stdout.write(
                f"floor: COPY of the same {count} unit rows (no history): {seconds:.2f} s, "
                f"peak RSS {peak:.0f} MB"
            )

            def copy_prices():
                return self._copy_prices(floor_project)

            count, seconds, peak = _in_child(copy_prices)
            self.stdout.write(
                f"floor: COPY of {count} prices into a temporary table + one UPDATE: "
                f"{seconds:.2f} s, peak RSS {peak:.0f} MB"
            )
        else:
            self.stdout.write("floor: COPY needs PostgreSQL (DATABASE_URL); skipped.")

        os.unlink(inventory_file.name)
        os.unlink(prices_file.name)
        if not options["keep"]:
            with transaction.atomic():
                for p in (project, floor_project):
                    Batch.objects.filter(lines__unit__building__project=p).delete()
                    Unit.objects.filter(building__project=p).delete()
                    Building.objects.filter(project=p).delete()
                    p.delete()
            self.stdout.write("benchmark data removed")

    def _floor_places(self, project):
        """The sections and floors of the floor's buildings, made once before timing."""
        places = {}
        for building in Building.objects.filter(project=project):
            for s in (1, 2):
                section = Section.objects.create(building=building, number=s)
                created = Floor.objects.bulk_create(
                    [
                        Floor(
                            section=section,
                            index=f,
                            label=str(f),
                            level_type=LevelType.ABOVE_GROUND,
                        )
                        for f in range(1, 26)
                    ]
                )
                for floor in created:
                    places[building.name, s, floor.index] = (floor.pk, section.pk, building.pk)
        return places

    def _copy_units(self, project, rows, places, keeper) -> int:
        now = timezone.now()
        buffer = io.StringIO()
        for r in rows:
            floor_id, section_id, building_id = places[r[1], r[2], r[3]]
            code = f"{r[2]}.{r[3]}.{r[4]}"
            buffer.write(
                "\t".join(
                    map(
                        str,
                        [building_id, section_id, floor_id, r[5], r[6], code, r[4], r[7], r[8],
                         r[9], r[10], r[11], "none", "", "f", "0", "not_for_sale", now, "", "",
                         "", now, keeper.pk],
                    )
                )
                + "\n"
            )  # fmt: skip
        columns = (
            "building_id, section_id, floor_id, kind, number, code, position, rooms, "
            "total_area, living_area, kitchen_area, ceiling_height, finishing, view, "
            "has_balcony, price, status, status_changed_at, special_conditions, layout, "
            "plan_region, created_at, created_by_id"
        )
        sql = f"COPY inventory_unit ({columns}) FROM STDIN"
        with transaction.atomic(), connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(buffer.getvalue())
        return len(rows)

    def _copy_prices(self, project) -> int:
        ids = list(Unit.objects.filter(building__project=project).values_list("pk", flat=True))
        buffer = "".join(f"{pk}\t{Decimal(5_000_000 + i)}\n" for i, pk in enumerate(ids))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_prices (id bigint, price numeric) ON COMMIT DROP"
            )
            with cursor.copy("COPY bench_prices (id, price) FROM STDIN") as copy:
                copy.write(buffer)
            cursor.execute(
                "UPDATE inventory_unit u SET price = b.price FROM bench_prices b WHERE u.id = b.id"
            )
        return len(ids)
