"""Writers for sign-in security: sessions, blocking, two-factor devices, recovery codes.

Each is keyword-only and atomic and tells ``kvartal.accounts.events`` (the audit log
listens) what it did. A refused action raises ``SecurityRefused`` and changes nothing.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kvartal.core.errors import DomainError

from . import events, recovery
from .models import User, UserSession

RECOVERY_CODES = 10


class SecurityRefused(DomainError):
    """A wrong code, a reused recovery code, a refused change: nothing was changed."""


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


# --- sessions ------------------------------------------------------------------------------


def session_track(*, user: User, session_key: str, address: str | None, user_agent: str) -> None:
    """Remember (or refresh) a signed-in session of ``user`` for their session list."""
    now = timezone.now()
    updated = UserSession.objects.filter(session_key=session_key, user=user).update(
        last_seen=now, address=address
    )
    if not updated:
        UserSession.objects.update_or_create(
            session_key=session_key,
            defaults={
                "user": user,
                "created_at": now,
                "last_seen": now,
                "address": address,
                "user_agent": user_agent[:300],
            },
        )


@transaction.atomic
def sessions_end(*, user: User, by=None, keep: str | None = None, reason: str = "") -> int:
    """End every session of ``user`` but ``keep`` (a session key): they are signed out at
    their next request. Returns how many ended. Sessions are deleted from the session store
    itself, so this holds whichever store is configured."""
    store = _store()
    rows = UserSession.objects.filter(user=user)
    if keep:
        rows = rows.exclude(session_key=keep)
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    if keys:
        events.emit(
            "sessions_end",
            kind="session",
            user=user,
            by=by,
            data={"ended": len(keys), "why": reason},
        )
    return len(keys)


@transaction.atomic
def user_set_active(*, user: User, active: bool, by) -> User:
    """Block (``active=False``) or unblock a user. Blocking ends every session of theirs at
    once; their history stays. Nobody blocks themselves (the last door out of a lock)."""
    if by is not None and by.pk == user.pk and not active:
        raise SecurityRefused(_("You cannot block yourself."))
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_active != active:
        User.objects.filter(pk=user.pk).update(is_active=active)
        events.emit("user_block" if not active else "user_unblock", kind="block", user=user, by=by)
    user.is_active = active
    if not active:
        sessions_end(user=user, by=by, reason="blocked")
    return user


# --- two-factor sign-in --------------------------------------------------------------------


def two_factor_required(user) -> bool:
    """Must ``user`` sign in with a second factor? By role (KVARTAL_2FA_ROLES, administrators
    and directors by default), superusers always when administrators are named, and anyone
    who has enrolled."""
    if not user.is_authenticated:
        return False
    return _role_requires(user) or has_two_factor(user)


def _role_requires(user) -> bool:
    roles = settings.KVARTAL_2FA_ROLES
    return user.role in roles or (user.is_superuser and "admin" in roles)


def has_two_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def totp_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for ``user`` (the one being set up replaces any
    earlier unconfirmed one). It counts only once a code from it is confirmed."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def _issue_codes(user: User) -> list[str]:
    """Fresh recovery codes for ``user``, returned to be shown once; only their digests are
    stored (``kvartal.accounts.recovery``), so they cannot be shown again."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery.digest(c)) for c in codes
    )
    return codes


def _recovery_verify(device: StaticDevice, code: str) -> bool:
    """Use up the recovery code ``code`` of ``device`` (django-otp's check: throttled, the
    token deleted), comparing digests, never the code itself."""
    candidates = recovery.digests(code)
    stored = set(device.token_set.filter(token__in=candidates).values_list("token", flat=True))
    return device.verify_token(next((d for d in candidates if d in stored), candidates[0]))


def totp_confirm(*, user: User, device: TOTPDevice, token: str) -> list[str]:
    """Confirm the authenticator being set up with a code from it; replace any earlier one
    and issue fresh recovery codes (returned: shown once). A wrong code changes nothing but
    the throttling count and the audit log's record of the try."""
    if device.user_id != user.pk or device.confirmed:
        raise SecurityRefused(_("Start the set-up again."))
    if not device.verify_token(_digits(token)):
        events.emit("totp_confirm_failed", kind="two_factor_failed", user=user)
        raise SecurityRefused(_("The code is wrong or has expired. Enter the current one."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        codes = _issue_codes(user)
        events.emit("totp_enrol", kind="two_factor", user=user)
    return codes


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """New recovery codes for an enrolled user; the old ones stop working."""
    if not has_two_factor(user):
        raise SecurityRefused(_("Set up an authenticator first."))
    codes = _issue_codes(user)
    events.emit("recovery_codes_issue", kind="two_factor", user=user)
    return codes


def _digits(token: str) -> str:
    return "".join(str(token or "").split())


def _is_totp(token: str) -> bool:
    """Authenticator codes are 6 digits; recovery codes are 8 letters and digits."""
    return len(token) == 6 and token.isdigit()


def two_factor_check(*, user: User, token: str):
    """The device that accepts ``token`` (a code from the authenticator or an unused recovery
    code, which is used up), else ``SecurityRefused``. Repeated wrong codes are slowed down
    by django-otp's throttling (1, 2, 4 … seconds between tries)."""
    token = _digits(token)
    totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if totp is not None:
        allowed, _info = totp.verify_is_allowed()
        if not allowed:
            events.emit("two_factor_throttled", kind="two_factor_failed", user=user)
            raise SecurityRefused(_("Too many wrong codes. Wait a few seconds and try again."))
        if _is_totp(token) and totp.verify_token(token):
            return totp
    codes = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if codes is not None and not _is_totp(token):
        with transaction.atomic():
            if _recovery_verify(codes, token):
                events.emit(
                    "recovery_code_used",
                    kind="two_factor",
                    user=user,
                    data={"left": codes.token_set.count()},
                )
                return codes
    events.emit("two_factor_failed", kind="two_factor_failed", user=user)
    raise SecurityRefused(_("The code is wrong, expired or already used."))


def two_factor_remove(*, user: User, token: str, by=None) -> None:
    """Remove ``user``'s authenticator and recovery codes, confirmed by a current code. Not
    for roles that must use a second factor."""
    if _role_requires(user):
        raise SecurityRefused(_("Your role must sign in with a second factor."))
    two_factor_check(user=user, token=token)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        events.emit("two_factor_remove", kind="two_factor", user=user, by=by)


@transaction.atomic
def two_factor_reset(*, user: User, by) -> None:
    """An administrator removes a user's lost authenticator; the user enrols again at their
    next sign-in if their role requires it."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    sessions_end(user=user, by=by, reason="two-factor reset")
    events.emit("two_factor_reset", kind="two_factor", user=user, by=by)
