"""Session rules for every request of a signed-in user (issue 12 §2).

- idle timeout: a session unused for KVARTAL_IDLE_MINUTES is ended (besides the absolute
  SESSION_COOKIE_AGE); the user signs in again and comes back to the page they asked for;
- the session list: the session's row is refreshed at most every few minutes;
- two-factor gate: a user who must use a second factor (by role, or having enrolled) and
  has not entered a code in this session reaches only the code and set-up pages;
- ``Cache-Control: no-store`` on every response to a signed-in user: back-office pages carry
  personal data, and no browser or proxy may keep them.
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.functional import SimpleLazyObject

from kvartal.core.net import client_address

from . import events

SEEN = "_kv_seen"
TWO_FACTOR = "_kv_2fa"  # set at sign-in: does this user need a second factor?
TRACK_EVERY = 300  # seconds between refreshes of the session's row and stamp


def _valid_address(request):
    import ipaddress

    try:
        return str(ipaddress.ip_address(client_address(request) or ""))
    except ValueError:
        return None


class AccountGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            refused = self._guard(request, user)
            if refused is not None:
                return refused
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response

    def _guard(self, request, user):
        session = request.session
        now = time.time()
        seen = session.get(SEEN)
        idle = settings.KVARTAL_IDLE_MINUTES * 60
        if seen is not None and idle > 0 and now - seen > idle:
            events.emit(
                "session_idle", kind="session", user=user, data={"idle_minutes": idle // 60}
            )
            logout(request)
            return self._to(request, f"{reverse('accounts:login')}?idle=1", request.get_full_path())
        if seen is None or now - seen > min(TRACK_EVERY, max(idle // 2, 1)):
            session[SEEN] = now
            if session.session_key:
                from .security import session_track

                session_track(
                    user=user,
                    session_key=session.session_key,
                    address=_valid_address(request),
                    user_agent=request.headers.get("User-Agent", ""),
                )
        if self._needs_code(request, user) and not self._exempt(request.path_info):
            from .security import has_two_factor

            name = "accounts:two-factor" if has_two_factor(user) else "accounts:two-factor-setup"
            return self._to(request, reverse(name), request.get_full_path())
        return None

    @staticmethod
    def _needs_code(request, user) -> bool:
        if user.is_verified():
            return False
        needed = request.session.get(TWO_FACTOR)
        if needed is None:  # a session not made by our sign-in page: the role decides
            roles = settings.KVARTAL_2FA_ROLES
            return user.role in roles or (user.is_superuser and "admin" in roles)
        return needed

    @staticmethod
    def _exempt(path: str) -> bool:
        allowed = (
            reverse("accounts:two-factor"),
            reverse("accounts:two-factor-setup"),
            reverse("accounts:logout"),
            reverse("accounts:login"),
            "/i18n/",
            settings.STATIC_URL,
        )
        return path.startswith(allowed)

    @staticmethod
    def _to(request, url: str, next_path: str):
        response = redirect_to_login(next_path, url)
        if request.headers.get("HX-Request"):
            # htmx follows a redirect inside the swapped target; send the whole page instead.
            hx = HttpResponse(status=204)
            hx["HX-Redirect"] = response["Location"]
            return hx
        return response


def session_started(sender, request, user, **kwargs) -> None:
    """At sign-in: the idle stamp, whether this user needs a second factor, the session row."""
    from .security import session_track, two_factor_required

    session = getattr(request, "session", None)
    if session is None:
        return
    session[SEEN] = time.time()
    session[TWO_FACTOR] = two_factor_required(user)
    if not session.session_key:
        session.save()
    session_track(
        user=user,
        session_key=session.session_key,
        address=_valid_address(request),
        user_agent=request.headers.get("User-Agent", "") if hasattr(request, "headers") else "",
    )


def _user_of(request):
    """``django.contrib.auth.middleware.get_user``, telling the backends which session's
    user is being looked for (``accounts.sessions.session_user``)."""
    if not hasattr(request, "_cached_user"):
        from django.contrib import auth

        from .sessions import reading

        token = reading.set(request.session)
        try:
            request._cached_user = auth.get_user(request)
        finally:
            reading.reset(token)
    return request._cached_user


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's ``AuthenticationMiddleware``, the user taken from the session's own statement
    when it read one (``accounts.sessions``): one query less on every signed-in request."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user_of(request))
