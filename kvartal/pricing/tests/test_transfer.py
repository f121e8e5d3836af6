"""Import and export: templates, the dry run with per-row/column errors, nothing half-written,
valid rows only by explicit choice, idempotent by code, Windows-1251, prices as a batch."""

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from kvartal.core.testing import make_building, make_project, make_section
from kvartal.inventory.models import (
    PriceChange,
    Section,
    StatusChange,
    Unit,
    UnitChange,
    UnitStatus,
)
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.pricing import imports, services, transfer
from kvartal.pricing.models import Batch, BatchStatus, ImportRun, ImportStatus

pytestmark = pytest.mark.django_db

HEAD = ";".join(transfer.header("inventory"))


@pytest.fixture
def building():
    return make_building(make_project(name="ЖК Северный"), name="Корпус 1")


def _csv(lines, encoding="utf-8"):
    return "\n".join(lines).encode(encoding)


def _upload(content: bytes, name="units.csv"):
    return SimpleUploadedFile(name, content)


def _run(kind, content, by, name="units.csv", django_capture_on_commit_callbacks=None):
    with django_capture_on_commit_callbacks(execute=True):
        run = imports.import_start(kind=kind, upload=_upload(content, name), by=by)
    run.refresh_from_db()
    return run


def _apply(run, by, capture, valid_only=False):
    with capture(execute=True):
        imports.import_apply_start(run=run, by=by, valid_only=valid_only)
    run.refresh_from_db()
    return run


def _snapshot():
    return (
        Unit.objects.count(),
        Section.objects.count(),
        UnitChange.objects.count(),
        StatusChange.objects.count(),
        PriceChange.objects.count(),
        Batch.objects.count(),
    )


ROWS = [
    "ЖК Северный;Корпус 1;1;2;1;apartment;1;0;27,5;14.1;6.2;2.8;none;park;да;",
    "ЖК Северный;Корпус 1;1;2;2;apartment;2;1;38.40;17.8;9.1;;white_box;;no;",
    "ЖК Северный;Корпус 1;1;3;1;apartment;3;0;27.50;;;;none;;;угловая",
]


def test_an_inventory_file_in_windows_1251_creates_new_stock_and_is_idempotent(
    building, keeper, django_capture_on_commit_callbacks
):
    content = _csv([HEAD, *ROWS], "cp1251")
    run = _run(
        "inventory",
        content,
        keeper,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    assert run.status == ImportStatus.CHECKED
    assert run.summary["create"] == 3 and run.summary["errors"] == 0
    assert (run.done_rows, run.total_rows) == (3, 3)
    assert Unit.objects.count() == 0  # the dry run writes nothing
    run = _apply(run, keeper, django_capture_on_commit_callbacks)
    assert run.status == ImportStatus.APPLIED and run.result == {
        "created": 3,
        "changed": 0,
        "buildings": 0,
    }
    unit = Unit.objects.get(building=building, code="1.2.1")
    assert (unit.number, unit.rooms, unit.total_area, unit.view, unit.has_balcony) == (
        "1",
        0,
        Decimal("27.50"),
        "park",
        True,
    )
    assert unit.status == UnitStatus.NOT_FOR_SALE and unit.price == 0
    assert list(building.sections.values_list("number", flat=True)) == [1]
    assert UnitChange.objects.filter(unit=unit, actor=keeper, changes={}).exists()
    assert Unit.objects.get(code="1.3.1").special_conditions == "угловая"

    before = _snapshot()
    again = _run(
        "inventory",
        content,
        keeper,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    assert again.summary["same"] == 3 and again.summary["create"] == 0
    _apply(again, keeper, django_capture_on_commit_callbacks)
    assert _snapshot()[:4] == before[:4]  # nothing new written


def test_a_changed_row_updates_the_unit_with_a_history_row(
    building, keeper, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    _apply(
        _run("inventory", _csv([HEAD, *ROWS]), keeper, django_capture_on_commit_callbacks=capture),
        keeper,
        capture,
    )
    changed = ROWS[1].replace("38.40", "39.10")
    run = _run(
        "inventory", _csv([HEAD, changed]), keeper, django_capture_on_commit_callbacks=capture
    )
    assert run.summary["change"] == 1 and run.preview[0][3] == "total_area"
    _apply(run, keeper, capture)
    unit = Unit.objects.get(code="1.2.2")
    assert unit.total_area == Decimal("39.10")
    assert UnitChange.objects.filter(unit=unit, changes__total_area=["38.40", "39.10"]).exists()


BAD = [
    # row 2: fine
    "ЖК Северный;Корпус 1;1;2;1;apartment;1;0;27.5;;;;none;;;",
    # row 3: the same code again
    "ЖК Северный;Корпус 1;1;2;1;apartment;9;0;30;;;;none;;;",
    # row 4: an unknown project (a new building of a known project is created)
    "ЖК Южный;Корпус 9;1;2;1;apartment;1;0;30;;;;none;;;",
    # row 5: a word in a number cell, a negative area
    "ЖК Северный;Корпус 1;1;пять;2;apartment;5;0;-3;;;;none;;;",
    # row 6: living area above the total, an unknown view
    "ЖК Северный;Корпус 1;1;3;2;apartment;6;1;30;40;;;none;sea;;",
]


def test_a_file_with_errors_lists_each_with_its_row_and_column_and_writes_nothing(
    building, keeper, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    before = _snapshot()
    run = _run("inventory", _csv([HEAD, *BAD]), keeper, django_capture_on_commit_callbacks=capture)
    errors = {(row, column) for row, column, _message in run.errors}
    assert errors == {
        (3, "position"),
        (4, "project"),
        (5, "floor"),
        (5, "total_area"),
        (6, "living_area"),
        (6, "view"),
    }
    messages = {(row, column): m for row, column, m in run.errors}
    assert "already in row 2" in messages[3, "position"]
    assert "Unknown project “ЖК Южный”" in messages[4, "project"]
    assert "“пять” is not a number" in messages[5, "floor"]
    with pytest.raises(Exception, match="errors"):
        imports.import_apply_start(run=run, by=keeper, valid_only=False)
    assert _snapshot() == before
    run = _apply(run, keeper, capture, valid_only=True)  # the user's explicit choice
    assert run.result == {"created": 1, "changed": 0, "buildings": 0}
    assert list(Unit.objects.values_list("code", flat=True)) == ["1.2.1"]


def test_a_new_building_with_its_sections_and_floors_is_created_by_the_file(
    building, keeper, django_capture_on_commit_callbacks
):
    """A keeper imports a new building's units: the dry run says which building, sections and
    floors would be created; applying creates them through the inventory services (the
    building's own rules: an address is required) with the units and their history."""
    from kvartal.inventory.models import Building, Floor

    capture = django_capture_on_commit_callbacks
    head = HEAD
    new = [
        "ЖК Северный;Корпус 2;1;2;1;apartment;1;0;27.5;;;;none;;;;ул. Новая, 5",
        "ЖК Северный;Корпус 2;1;2;2;apartment;2;1;38.4;;;;none;;;;",
        "ЖК Северный;Корпус 2;2;3;1;apartment;3;2;56.2;;;;none;;;;",
        # and a new floor in the existing building
        "ЖК Северный;Корпус 1;1;4;1;apartment;40;0;27.5;;;;none;;;;",
    ]
    before = Building.objects.count()
    run = _run("inventory", _csv([head, *new]), keeper, django_capture_on_commit_callbacks=capture)
    assert run.status == ImportStatus.CHECKED and not run.errors, run.errors
    summary = run.summary
    assert (summary["create"], summary["buildings"]) == (4, 1)
    # sections 1 and 2 of the new building, section 1 of Корпус 1 (it has none yet); a floor each
    assert (summary["sections"], summary["floors"]) == (3, 3)
    assert summary["new_buildings"] == ["ЖК Северный, Корпус 2"]
    assert Building.objects.count() == before  # a dry run writes nothing

    run = _apply(run, keeper, capture)
    assert run.status == ImportStatus.APPLIED, run.message
    assert run.result == {"created": 4, "changed": 0, "buildings": 1}
    created = Building.objects.get(name="Корпус 2")
    assert created.construction_address == "ул. Новая, 5"
    assert sorted(
        Floor.objects.filter(section__building=created).values_list("section__number", "index")
    ) == [(1, 2), (2, 3)]
    assert sorted(created.units.values_list("code", flat=True)) == ["1.2.1", "1.2.2", "2.3.1"]
    assert StatusChange.objects.filter(unit__building=created).count() == 3
    # Imported again: nothing to create.
    again = _run(
        "inventory", _csv([head, *new]), keeper, django_capture_on_commit_callbacks=capture
    )
    assert (again.summary["create"], again.summary["buildings"], again.summary["floors"]) == (
        0,
        0,
        0,
    )


def test_a_new_building_without_an_address_is_an_error_on_each_of_its_rows(
    building, keeper, django_capture_on_commit_callbacks
):
    from kvartal.inventory.models import Building

    building.project.address = ""
    building.project.save()
    rows = [
        "ЖК Северный;Корпус 7;1;2;1;apartment;1;0;27.5;;;;none;;;;",
        "ЖК Северный;Корпус 7;1;2;2;apartment;2;0;27.5;;;;none;;;;",
    ]
    run = _run(
        "inventory",
        _csv([HEAD, *rows]),
        keeper,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    assert {(row, column) for row, column, _m in run.errors} == {
        (2, "building_address"),
        (3, "building_address"),
    }
    assert "Корпус 7" in run.errors[0][2]
    assert not Building.objects.filter(name="Корпус 7").exists()


def test_a_number_in_a_text_cell_of_a_workbook_is_read_as_text(
    building, keeper, django_capture_on_commit_callbacks
):
    book = Workbook()
    sheet = book.active
    sheet.append(transfer.header("inventory"))
    sheet.append(["ЖК Северный", "Корпус 1", 1, 2, 1, "apartment", 12, 0, 27.5])
    out = io.BytesIO()
    book.save(out)
    run = _run(
        "inventory", out.getvalue(), keeper, "units.xlsx", django_capture_on_commit_callbacks
    )
    assert run.summary["create"] == 1, run.errors
    _apply(run, keeper, django_capture_on_commit_callbacks)
    assert Unit.objects.get().number == "12"


def test_a_file_over_the_limit_is_refused_with_its_size(keeper, settings):
    settings.KVARTAL_IMPORT_MAX_BYTES = 1024 * 1024
    with pytest.raises(Exception) as error:
        imports.import_start(kind="inventory", upload=_upload(b"x" * (1024 * 1024 + 1)), by=keeper)
    assert "the limit is 1 MB" in str(error.value)
    assert not ImportRun.objects.exists()


def test_an_unreadable_or_headless_file_fails_with_a_message(
    keeper, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # refused at once by content (kvartal.core.uploads): nothing stored
    with pytest.raises(ValidationError, match="not a readable .xlsx"):
        imports.import_start(
            kind="inventory", upload=_upload(b"not a workbook", "units.xlsx"), by=keeper
        )
    assert not ImportRun.objects.exists()
    run = _run(
        "prices", _csv(["foo;bar", "1;2"]), keeper, django_capture_on_commit_callbacks=capture
    )
    assert run.status == ImportStatus.FAILED and "lacks the columns" in run.message
    with pytest.raises(Exception, match="Upload an .xlsx"):
        imports.import_start(kind="prices", upload=_upload(b"x", "prices.xls"), by=keeper)


def test_prices_become_a_batch_that_waits_for_approval(
    keeper, sales_head, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    section = make_section(floors=2, per_floor=2, by=keeper)  # 150 000 ₽/m²
    building = section.building
    sold = section.units.get(code="1.2.2")
    set_sales_state(unit=sold, status=UnitStatus.IN_DEAL, by=keeper)
    p, b = building.project.name, building.name
    content = _csv(
        [
            "project;building;code;kind;price",
            f"{p};{b};1.1.1;;5 000 000",
            f"{p};{b};1.1.2;apartment;5760000",  # the same price: unchanged
            f"{p};{b};1.2.2;;9000000",  # in a deal: left
        ]
    )
    run = _run("prices", content, sales_head, django_capture_on_commit_callbacks=capture)
    assert (run.summary["change"], run.summary["same"], run.summary["skip"]) == (1, 1, 1)
    run = _apply(run, sales_head, capture)
    batch = Batch.objects.get(pk=run.result["batch"])
    assert batch.status == BatchStatus.PENDING and batch.lines.count() == 1
    assert Unit.objects.get(code="1.1.1").price == Decimal("4125000")  # not before approval
    services.batch_approve(batch=batch, by=sales_head)
    assert Unit.objects.get(code="1.1.1").price == Decimal("5000000")


def test_a_duplicated_code_or_a_bad_price_refuses_the_price_file(
    keeper, django_capture_on_commit_callbacks
):
    section = make_section(floors=1, per_floor=2, by=keeper)
    p, b = section.building.project.name, section.building.name
    content = _csv(
        [
            "project;building;code;kind;price",
            f"{p};{b};1.1.1;;5000000",
            f"{p};{b};1.1.1;;5100000",
            f"{p};{b};1.1.2;;0",
            f"{p};{b};9.9.9;;100",
        ]
    )
    run = _run(
        "prices",
        content,
        keeper,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    assert {(r, c) for r, c, _m in run.errors} == {(3, "code"), (4, "price"), (5, "code")}
    before = _snapshot()
    with pytest.raises(Exception, match="errors"):
        imports.import_apply_start(run=run, by=keeper, valid_only=False)
    assert _snapshot() == before


def test_a_sales_head_imports_prices_but_not_inventory(sales_head):
    with pytest.raises(services.NotAllowed):
        imports.import_start(kind="inventory", upload=_upload(b"a;b"), by=sales_head)
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "csv1251"])
def test_an_export_imports_back_unchanged(client, keeper, fmt, django_capture_on_commit_callbacks):
    section = make_section(floors=2, per_floor=2, by=keeper)
    client.force_login(keeper)
    url = reverse("pricing:export", args=["inventory", fmt]) + f"?building={section.building_id}"
    response = client.get(url)
    assert response.status_code == 200
    name = "export.xlsx" if fmt == "xlsx" else "export.csv"
    run = _run("inventory", response.content, keeper, name, django_capture_on_commit_callbacks)
    assert run.summary == {
        "create": 0,
        "change": 0,
        "same": 4,
        "skip": 0,
        "buildings": 0,
        "sections": 0,
        "floors": 0,
        "new_buildings": [],
        "error": 0,
        "rows": 4,
        "errors": 0,
    }


def test_templates_and_the_price_list_for_agencies(client, keeper):
    make_section(floors=1, per_floor=2, by=keeper)
    client.force_login(keeper)
    book = load_workbook(
        io.BytesIO(client.get(reverse("pricing:import-template", args=["prices", "xlsx"])).content)
    )
    assert [c.value for c in book.worksheets[0][1]] == transfer.header("prices")
    csv_template = client.get(reverse("pricing:import-template", args=["inventory", "csv"]))
    assert csv_template.content.decode("utf-8-sig").startswith(HEAD)
    sheet = client.get(reverse("pricing:price-sheet", args=["xlsx"]))
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert len(rows) == 4 + 2 and rows[4][7] == 4125000  # header block, then the units
    pdf = client.get(reverse("pricing:price-sheet", args=["pdf"]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_import_pages(client, keeper, django_capture_on_commit_callbacks):
    make_building(make_project(name="ЖК Северный"), name="Корпус 1")
    client.force_login(keeper)
    assert client.get(reverse("pricing:import")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("pricing:import"),
            {"kind": "inventory", "file": _upload(_csv([HEAD, *ROWS]))},
        )
    run = ImportRun.objects.get()
    assert response.url == reverse("pricing:import-detail", args=[run.pk])
    page = client.get(response.url)
    assert "To create" in page.text and "Apply" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url)
    assert Unit.objects.count() == 3
