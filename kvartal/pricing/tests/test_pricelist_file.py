"""A price list as a file: downloaded as .xlsx, edited in a spreadsheet, uploaded back — it
replaces the list and becomes one batch awaiting approval; a bad cell is named by its sheet,
row and column and nothing is saved."""

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from kvartal.inventory.models import Unit, UnitKind
from kvartal.pricing import pricelist_file, services
from kvartal.pricing.models import Batch, BatchSource, BatchStatus, Factor, FactorKind

from .factories import make_price_list, new_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def price_list(keeper):
    section = new_stock(by=keeper, floors=3, per_floor=2)
    price_list = make_price_list(section.building, per_m2="200000", by=keeper)
    Factor.objects.create(
        price_list=price_list, kind=FactorKind.POSITION, value="1", percent=Decimal(5)
    )
    return price_list


def _edited(price_list, edit) -> SimpleUploadedFile:
    book = load_workbook(io.BytesIO(pricelist_file.write(price_list)))
    edit(book)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("edited.xlsx", out.getvalue())


def test_a_downloaded_list_edited_and_uploaded_becomes_a_batch_for_approval(
    client, price_list, keeper, sales_head
):
    client.force_login(keeper)
    response = client.get(reverse("pricing:pricelist-file", args=[price_list.pk]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    settings, rates, factors = book.worksheets[:3]
    assert [c.value for c in rates[1]] == ["kind", "rooms", "per_m2"]
    assert rates["C2"].value == 200000
    assert factors["A2"].value == "position" and factors["E2"].value == 5

    def edit(book):
        book.worksheets[1]["C2"] = 250000  # the base per m²
        book.worksheets[2].append(["area", "", 0, 30, -2])  # a new area band
        rows = {row[0].value: row[0].row for row in book.worksheets[0].iter_rows(min_row=2)}
        book.worksheets[0].cell(rows["round_to"], 2, 10000)

    response = client.post(
        reverse("pricing:pricelist-upload", args=[price_list.pk]),
        {"file": _edited(price_list, edit)},
    )
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/")
    assert batch.source == BatchSource.PRICE_LIST and batch.status == BatchStatus.PENDING
    assert batch.price_list == price_list and batch.lines.count() == 6
    price_list.refresh_from_db()
    assert price_list.round_to == 10000
    assert price_list.rates.get().per_m2 == 250000
    assert price_list.factors.filter(kind=FactorKind.AREA, area_to=30).exists()
    assert all(line.new_price % 10000 == 0 for line in batch.lines.all())
    assert set(Unit.objects.values_list("price", flat=True)) == {0}  # not before approval

    services.batch_approve(batch=batch, by=sales_head)
    assert not Unit.objects.filter(price=0).exists()


def test_a_file_with_bad_cells_names_each_and_saves_nothing(client, price_list, keeper):
    def edit(book):
        book.worksheets[1]["C2"] = "двести"
        book.worksheets[1].append(["apartment", None, 0])  # the same kind again, and zero
        book.worksheets[2].append(["view", "sea", None, None, 3])

    with pytest.raises(ValidationError) as caught:
        services.price_list_upload(
            price_list=price_list, upload=_edited(price_list, edit), by=keeper
        )
    text = " ".join(caught.value.messages)
    assert "row 2, per_m2: “двести” is not a number." in text
    assert "row 3, rooms: The same kind and rooms as row 2." in text
    assert "row 3, per_m2: A base price per m² must be greater than zero." in text
    assert "value: “sea” is not one of" in text
    assert price_list.rates.get().per_m2 == 200000 and price_list.factors.count() == 1
    assert not Batch.objects.exists()

    # Through the page: the messages are shown, nothing is sent.
    client.force_login(keeper)
    response = client.post(
        reverse("pricing:pricelist-upload", args=[price_list.pk]),
        {"file": _edited(price_list, edit)},
        follow=True,
    )
    assert response.status_code == 200 and "двести" in response.content.decode()
    assert not Batch.objects.exists()


def test_a_file_that_is_not_a_workbook_or_that_a_manager_uploads_is_refused(
    price_list, keeper, manager
):
    with pytest.raises(ValidationError, match="readable .xlsx"):
        services.price_list_upload(
            price_list=price_list, upload=SimpleUploadedFile("x.xlsx", b"not a zip"), by=keeper
        )
    with pytest.raises(services.NotAllowed):
        services.price_list_upload(
            price_list=price_list,
            upload=SimpleUploadedFile("x.xlsx", pricelist_file.write(price_list)),
            by=manager,
        )
    assert price_list.rates.get().kind == UnitKind.APARTMENT and not Batch.objects.exists()
