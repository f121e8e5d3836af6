"""HTML → PDF with WeasyPrint, from the same templates as the pages.

Stylesheets, fonts and images are read from disk: ``/static/…`` through the staticfiles
finders (or ``STATIC_ROOT`` after ``collectstatic``), ``/media/…`` from ``MEDIA_ROOT``, and
``data:`` URLs inline. Nothing else is fetched, so rendering needs no network and no running
server, and a template cannot make the server read arbitrary files or URLs.
"""

import gc
import mimetypes
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from django.utils._os import safe_join

# Relative URLs in a rendered page resolve against this origin; only it is served.
BASE_URL = "http://kvartal.local/"
# While a PDF is laid out, the youngest generation is collected after this many allocations
# instead of Python's 700: WeasyPrint makes millions of small objects, and the collector
# walking them took a fifth of a 35-page report's time (measured on the reservations PDF).
RENDER_GC_THRESHOLD = 100_000

_gc_lock = threading.Lock()
_gc_renders = 0
_gc_saved: tuple[int, ...] = ()


def local_file(url: str) -> Path | None:
    """The file on disk behind a ``/static/`` or ``/media/`` URL of this site, else None."""
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != urlsplit(BASE_URL).netloc:
        return None
    path = unquote(parts.path)
    static_url = urlsplit(settings.STATIC_URL).path
    media_url = urlsplit(settings.MEDIA_URL).path
    try:
        if static_url and path.startswith(static_url):
            name = path[len(static_url) :]
            found = finders.find(name)
            if found:
                return Path(found)
            if settings.STATIC_ROOT:
                candidate = Path(staticfiles_storage.path(name))
                return candidate if candidate.is_file() else None
        elif media_url and path.startswith(media_url):
            candidate = Path(safe_join(settings.MEDIA_ROOT, path[len(media_url) :]))
            return candidate if candidate.is_file() else None
    except (SuspiciousFileOperation, ValueError, OSError):  # escapes its root; unreadable
        return None
    return None


def _response_parts(url: str) -> tuple[bytes, str]:
    path = local_file(url)
    if path is None:
        raise ValueError(f"Not served to the PDF renderer: {url}")
    mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.read_bytes(), mime_type


def _url_fetcher():
    """A fetcher for WeasyPrint with the ``URLFetcher`` class (v70 here), or a function before."""
    from weasyprint import urls

    if hasattr(urls, "URLFetcher"):

        class LocalFetcher(urls.URLFetcher):
            def fetch(self, url, headers=None):
                if url.startswith("data:"):
                    return super().fetch(url, headers)
                body, mime_type = _response_parts(url)
                return urls.URLFetcherResponse(url, body, {"Content-Type": mime_type})

        return LocalFetcher(allowed_protocols=("http", "https", "data"))

    def fetch(url: str) -> dict:  # pragma: no cover - older WeasyPrint
        if url.startswith("data:"):
            return urls.default_url_fetcher(url)
        body, mime_type = _response_parts(url)
        return {"string": body, "mime_type": mime_type, "redirected_url": url}

    return fetch


@contextmanager
def fewer_collections():
    """Collect garbage less often while a PDF is made (``RENDER_GC_THRESHOLD``); Python's
    thresholds come back when the last render running in the process ends."""
    global _gc_renders, _gc_saved
    with _gc_lock:
        if _gc_renders == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(RENDER_GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_renders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_renders -= 1
            if _gc_renders == 0:
                gc.set_threshold(*_gc_saved)


def render_pdf(template_name: str, context: dict, request=None) -> bytes:
    """Render a template to a PDF document and return its bytes."""
    from weasyprint import HTML

    html = render_to_string(template_name, context, request=request)
    with fewer_collections():
        return HTML(string=html, base_url=BASE_URL, url_fetcher=_url_fetcher()).write_pdf()
