"""The anonymous visitor's first-party cookie, and the request forms' spam guard.

The cookie holds a random id and nothing else; the visitor's row is made on the first page
that remembers something (a unit viewed, a favourite). No third-party anything.
"""

import re
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.core.net import client_address

from .models import Visitor
from .services import utm_tags, visitor_first_touch

COOKIE = "kv_visitor"
COOKIE_AGE = 365 * 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SALT = "kvartal.showcase.form"


def visitor_of(request, *, create: bool = False) -> Visitor | None:
    """The request's visitor (its cookie's row), or a new one when ``create``. A cookie that
    names no visitor (forged, or its visitor erased) is replaced, never adopted."""
    cached = getattr(request, "_visitor", None)
    if cached is not None:
        return cached
    visitor = visitors_of_cookie(request).first()
    if visitor is None and create:
        visitor = Visitor.objects.create()
    if visitor is not None:
        adopt(request, visitor)
    return visitor


def cookie_token(request) -> str | None:
    """The visitor token of the request's cookie, or None for a missing or malformed one."""
    token = request.COOKIES.get(COOKIE, "")
    return token if _TOKEN.fullmatch(token) else None


def visitors_of_cookie(request):
    """The visitor named by the request's cookie as a queryset (empty for a missing or
    malformed cookie), for a caller that reads more in the same query."""
    token = cookie_token(request)
    return Visitor.objects.filter(token=token) if token else Visitor.objects.none()


def adopt(request, visitor: Visitor) -> None:
    """``visitor`` is the request's (``visitor_of`` answers it from now on): last seen kept
    to the hour."""
    now = timezone.now()
    if (now - visitor.last_seen).total_seconds() > 3600:
        Visitor.objects.filter(pk=visitor.pk).update(last_seen=now)
    request._visitor = visitor


def remember(request, response):
    """Set (or refresh) the visitor's cookie on ``response`` when the request has one. A page
    shown for a query with UTM tags keeps them as the visitor's first touch (the visitor is
    made for it), so a request sent later from another page is still credited to them."""
    if request.method == "GET" and response.status_code == 200:
        first_touch(request)
    visitor = getattr(request, "_visitor", None)
    if visitor is not None and request.COOKIES.get(COOKIE) != visitor.token:
        response.set_cookie(
            COOKIE,
            visitor.token,
            max_age=COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def first_touch(request) -> None:
    """Keep the request's UTM tags on its visitor unless they have a first touch already."""
    utm = utm_tags(request.GET)
    if utm:
        visitor_first_touch(visitor=visitor_of(request, create=True), utm=utm)


def form_stamp(at: float | None = None) -> str:
    """The signed moment a form was shown (the time check reads it back)."""
    return signing.dumps(int(at if at is not None else time.time()), salt=_SALT)


def spam_reason(request, form_data) -> str | None:
    """Why a form looks like a robot's (a message), or ``None``: the honeypot filled, sent
    faster than a person types, a missing or forged stamp, or too many from one address."""
    if (form_data.get("website") or "").strip():
        return _("Your request could not be sent. Please try again.")
    try:
        shown = signing.loads(form_data.get("started") or "", salt=_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return _("The form is out of date: reload the page and send it again.")
    if time.time() - shown < settings.SHOWCASE_FORM_MIN_SECONDS:
        return _("That was too fast for a person: wait a few seconds and send again.")
    if over_rate(request, "request"):
        return _("Too many requests from your address: try again later.")
    return None


def over_rate(request, bucket: str) -> bool:
    """A fixed-window counter per address in the default (shared) cache."""
    window = settings.SHOWCASE_REQUEST_WINDOW
    key = f"showcase:{bucket}:{client_address(request) or 'unknown'}"
    if cache.add(key, 1, timeout=window):
        return settings.SHOWCASE_REQUEST_RATE < 1
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window)
        count = 1
    return count > settings.SHOWCASE_REQUEST_RATE
