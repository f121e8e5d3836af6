"""Uploaded files: accepted by what they are, not by what they are called.

One rule for every door (a page's form, the admin, a service, the API): a model's file field
is an ``UploadField`` naming the kinds it accepts. A new file is

- refused above ``KVARTAL_UPLOAD_MAX_MB`` (20 MB by default);
- recognised by its content: raster images by Pillow (JPEG, PNG, WebP, GIF — decoded in full,
  so a script with an image's first bytes is refused), a PDF by its header and trailer, a
  DOCX/XLSX by the parts of its zip, a CSV as text without control bytes or markup; SVG and
  HTML are never accepted (a script in them would run on our origin);
- re-encoded when it is an image: the pixels are drawn again into a new file, so EXIF (GPS
  position, camera, owner), comments and anything appended after the image are gone;
- stored under a random name (``plans/units/3f2a….png``): nobody guesses a neighbour's file
  and the name the user gave never reaches a path or a header.

The same checks run in the form field (a clear error on the form, nothing saved), in the
model's validation (``full_clean``) and when the file is saved, whichever comes first; a file
already checked is not checked again. ``/media/`` serves the files with
``Content-Disposition`` (inline only for images), ``Content-Security-Policy: sandbox`` and
``nosniff`` (``kvartal.core.files``, shared with the showcase's public pictures and the
portals' plan images).
"""

from __future__ import annotations

import io
import secrets
import zipfile
from pathlib import PurePosixPath

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

IMAGE = "image"
PDF = "pdf"
DOCX = "docx"
XLSX = "xlsx"
CSV = "csv"

IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
EXTENSION = {PDF: "pdf", DOCX: "docx", XLSX: "xlsx", CSV: "csv"}
# What /media/ may show in the browser (everything else is downloaded).
INLINE_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
}
_KIND_NAMES = {
    IMAGE: gettext_lazy("an image (PNG, JPEG, WebP or GIF)"),
    PDF: gettext_lazy("a PDF"),
    DOCX: gettext_lazy("a Word document (DOCX)"),
    XLSX: gettext_lazy("an Excel workbook (XLSX)"),
    CSV: gettext_lazy("a CSV file"),
}


def max_bytes() -> int:
    return int(getattr(settings, "KVARTAL_UPLOAD_MAX_MB", 20)) * 1024 * 1024


def _refused(kinds) -> ValidationError:
    expected = ", ".join(str(_KIND_NAMES[k]) for k in kinds)
    return ValidationError(
        _("This file is not %(expected)s. SVG, HTML and renamed files are not accepted.")
        % {"expected": expected},
        code="file_kind",
    )


def _read(upload) -> bytes:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def _image(data: bytes) -> tuple[bytes, str] | None:
    """The image drawn again without its metadata, and its extension; None if not an image
    of an accepted format."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            if fmt not in IMAGE_FORMATS:
                return None
            probe.verify()  # structure and checksums
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # every pixel decoded: a truncated or forged file fails here
            # upright, then the EXIF is dropped (an animated GIF keeps its first frame)
            animated = getattr(image, "n_frames", 1) > 1
            clean = image.copy() if animated else ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if fmt == "JPEG":
                if clean.mode not in ("RGB", "L"):
                    clean = clean.convert("RGB")
                clean.save(out, "JPEG", quality=90, optimize=True)
            elif fmt == "PNG":
                clean.save(out, "PNG", optimize=True)
            elif fmt == "WEBP":
                clean.save(out, "WEBP", quality=90)
            else:
                clean.save(out, "GIF")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return out.getvalue(), IMAGE_FORMATS[fmt]


def _pdf(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\x00\t\r\n ")
    return head.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]


def _zip_part(data: bytes, part: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return "[Content_Types].xml" in names and part in names


# A table of prices or leads holds none of these; a page or a program passed as CSV does.
_MARKUP = ("<script", "<html", "<body", "<iframe", "<svg", "<?php", "<%", "javascript:")


def _csv(data: bytes) -> bool:
    text = None
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text:
        return False
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text[:65536]):
        return False
    start = text.lstrip()[:200].lower()
    if start.startswith(("<", "%pdf", "{\\rtf")):
        return False
    lowered = text.lower()
    return not any(marker in lowered for marker in _MARKUP)


def check(upload, kinds) -> ContentFile:
    """The upload as it may be stored: its kind checked by content, an image re-encoded, a
    random name with the right extension. ``ValidationError`` with a clear message else."""
    if getattr(upload, "kvartal_checked", False):
        return upload
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        raise ValidationError(
            _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
            code="file_size",
        )
    data = _read(upload)
    if len(data) > limit:
        raise ValidationError(
            _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
            code="file_size",
        )
    if not data:
        raise ValidationError(_("The file is empty."), code="file_empty")
    content, extension = None, None
    if IMAGE in kinds and (image := _image(data)) is not None:
        content, extension = image
    elif PDF in kinds and _pdf(data):
        content, extension = data, EXTENSION[PDF]
    elif DOCX in kinds and _zip_part(data, "word/document.xml"):
        content, extension = data, EXTENSION[DOCX]
    elif XLSX in kinds and _zip_part(data, "xl/workbook.xml"):
        content, extension = data, EXTENSION[XLSX]
    elif CSV in kinds and _csv(data):
        content, extension = data, EXTENSION[CSV]
    if content is None:
        raise _refused(kinds)
    clean = ContentFile(content, name=f"{secrets.token_hex(16)}.{extension}")
    clean.kvartal_checked = True
    clean.original_name = PurePosixPath(getattr(upload, "name", "") or "").name[:255]
    return clean


class UploadFormField(forms.FileField):
    """A form's file field that checks the file by content (see ``check``)."""

    def __init__(self, *args, kinds=(IMAGE,), **kwargs):
        self.kinds = tuple(kinds)
        super().__init__(*args, **kwargs)
        accept = []
        if IMAGE in self.kinds:
            accept.append("image/png,image/jpeg,image/webp,image/gif")
        accept += [f".{EXTENSION[k]}" for k in self.kinds if k in EXTENSION]
        self.widget.attrs.setdefault("accept", ",".join(accept))

    def clean(self, data, initial=None):
        value = super().clean(data, initial)
        if value and not getattr(value, "_committed", False) and hasattr(value, "read"):
            return check(value, self.kinds)
        return value


class CheckedFieldFile(models.fields.files.FieldFile):
    """``instance.field.save(name, content)`` checks the content too."""

    def save(self, name, content, save=True):
        clean = check(content, self.field.kinds)
        super().save(clean.name, clean, save=save)


class UploadField(models.FileField):
    """A model's file field that accepts only ``kinds`` (checked by content, images
    re-encoded, names randomised) from every door: its form field, ``full_clean``, the
    model's ``save`` and the file's ``save``."""

    attr_class = CheckedFieldFile

    def __init__(self, *args, kinds=(IMAGE,), **kwargs):
        self.kinds = tuple(kinds)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["kinds"] = self.kinds
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": UploadFormField, "kinds": self.kinds, **kwargs})

    def _checked(self, instance):
        file = getattr(instance, self.attname)
        if file and not file._committed:
            clean = check(file.file, self.kinds)
            file.file, file.name = clean, clean.name
        return file

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        self._checked(model_instance)

    def pre_save(self, model_instance, add):
        self._checked(model_instance)
        return super().pre_save(model_instance, add)
