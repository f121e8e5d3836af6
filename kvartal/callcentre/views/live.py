"""The live feed over HTTP: server-sent events, one short response at a time, and polling.

A stream holds a worker thread while it is open, so it is kept short (``conf.stream_seconds``,
20 s by default; the browser reconnects by itself with ``Last-Event-ID``) and a process serves
at most ``conf.max_streams`` at once: beyond that it answers 503 and the page polls instead.
"""

import json
import threading
import time

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import translation

from kvartal.accounts.permissions import CALLS_PANEL, INVENTORY_VIEW, has_capability
from kvartal.core.ids import parse_id

from .. import conf, live

POLL_EVERY = 0.4  # seconds between two reads of the feed inside a stream
PING_EVERY = 10  # a comment line keeps proxies from closing an idle stream

_streams_lock = threading.Lock()
_streams: dict[str, threading.BoundedSemaphore] = {}


def _slots() -> threading.BoundedSemaphore:
    limit = conf.max_streams()
    key = str(limit)
    with _streams_lock:
        if key not in _streams:
            _streams[key] = threading.BoundedSemaphore(limit)
        return _streams[key]


def _allowed(user) -> bool:
    return user.is_authenticated and (
        has_capability(user, INVENTORY_VIEW) or has_capability(user, CALLS_PANEL)
    )


def _cursor(request) -> live.Cursor:
    text = request.headers.get("Last-Event-ID") or request.GET.get("c", "")
    cursor = live.Cursor.parse(text)
    if cursor is not None:
        return cursor
    since = parse_id(request.GET.get("since"))
    if since is not None and since < 10**12:
        return live.cursor_since(request.user, since)
    return live.cursor_now(request.user)


def _frame(kind: str, data: dict, cursor: live.Cursor) -> str:
    return f"id: {cursor}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"


def _stream(user, cursor: live.Cursor, language: str, slots):
    try:
        with translation.override(language):
            deadline = time.monotonic() + conf.stream_seconds()
            ping = time.monotonic()
            yield f"retry: 1000\nid: {cursor}\n\n"
            while True:
                for kind, data, after in live.read(user, cursor):
                    cursor = after
                    yield _frame(kind, data, after)
                now = time.monotonic()
                if now >= deadline:
                    break
                if now - ping >= PING_EVERY:
                    ping = now
                    yield ": ping\n\n"
                time.sleep(POLL_EVERY)
    finally:
        slots.release()


def stream(request):
    if not _allowed(request.user):
        return HttpResponse(status=403)
    slots = _slots()
    if not slots.acquire(blocking=False):
        return HttpResponse("busy: poll instead", status=503, content_type="text/plain")
    try:
        cursor = _cursor(request)
    except Exception:
        slots.release()
        raise
    response = StreamingHttpResponse(
        _stream(request.user, cursor, translation.get_language(), slots),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def poll(request):
    if not _allowed(request.user):
        return JsonResponse({"error": "forbidden"}, status=403)
    cursor = _cursor(request)
    events = []
    for kind, data, after in live.read(request.user, cursor):
        cursor = after
        events.append({"type": kind, "data": data})
    return JsonResponse({"cursor": str(cursor), "events": events})
