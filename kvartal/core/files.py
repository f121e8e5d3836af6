"""Answering with an uploaded file: one function for every door that serves one.

``/media/`` (signed-in readers), the showcase's public files and the listing portals' plan
images all answer through ``upload_response``. It keeps the same rules everywhere:

- the name is resolved under ``MEDIA_ROOT`` (``..`` and links resolved first; anything
  outside it, and ``documents/`` (contracts, templates) and ``imports/``, is ``Http404``);
- the type is read from the file's first bytes, never from its name: a PNG, JPEG, GIF or WebP
  is shown inline with its type; anything else is downloaded as ``application/octet-stream``
  — or refused (``Http404``) where only images may be served;
- ``X-Content-Type-Options: nosniff``, ``Content-Security-Policy: sandbox`` (a file is never a
  page that runs), ``Cross-Origin-Resource-Policy``;
- an ``ETag`` (the stored name, size and modification time) and ``Last-Modified``: a client
  that already has the file gets 304 without the body.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils._os import safe_join
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

# Never served from disk by a generic door: contracts and their templates go through the
# documents' views (scoped by the deal's for_user), import files through the import pages.
PRIVATE = ("documents/", "imports/")

# An upload is shown as a sandboxed, script-less document even if a browser would render it:
# no script, no plugin, no form, no same-origin access, no type guessing.
UPLOAD_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def sniff(head: bytes) -> str | None:
    """The image type of a file from its first 12 bytes, or None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def stored_name(path: str) -> str:
    """``path`` as stored under MEDIA_ROOT ("plans/units/3f….png"), after ``..`` and links
    are resolved; ``Http404`` outside MEDIA_ROOT, for the root itself and for private
    folders."""
    try:
        root = Path(settings.MEDIA_ROOT).resolve()
        full = Path(safe_join(root, path)).resolve()
        relative = full.relative_to(root).as_posix()
    except (SuspiciousFileOperation, ValueError, OSError) as error:
        raise Http404 from error
    if not relative or relative == "." or relative.startswith(PRIVATE):
        raise Http404
    return relative


def upload_response(
    request: HttpRequest,
    name: str,
    *,
    types: frozenset[str] | None = None,
    cache_control: str = "private, no-cache",
    cross_origin: str = "same-origin",
) -> HttpResponse:
    """The stored file ``name`` (as in a FileField) with the headers above. ``types``: the
    only content types served (others are ``Http404``); None serves any file, non-images
    as downloads."""
    relative = stored_name(name)
    path = Path(settings.MEDIA_ROOT) / relative
    try:
        stat = path.stat()
    except OSError as error:
        raise Http404 from error
    if not path.is_file():
        raise Http404
    stamp = f"{relative}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    etag = '"' + hashlib.sha256(stamp).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(int(stat.st_mtime)),
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": UPLOAD_POLICY,
        "Cross-Origin-Resource-Policy": cross_origin,
    }
    try:
        stream = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    except OSError as error:
        raise Http404 from error
    content_type = sniff(stream.read(12))
    stream.seek(0)
    if types is not None and content_type not in types:
        stream.close()
        raise Http404
    not_modified = get_conditional_response(request, etag=etag, last_modified=int(stat.st_mtime))
    if not_modified is not None:
        stream.close()
        for header, value in headers.items():
            not_modified[header] = value
        return not_modified
    response = FileResponse(
        stream,
        as_attachment=content_type is None,
        filename=PurePosixPath(relative).name,
        content_type=content_type or "application/octet-stream",
    )
    for header, value in headers.items():
        response[header] = value
    return response
