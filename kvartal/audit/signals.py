"""Sign-ins, failed sign-ins and sign-outs into the audit log.

Django announces them with its auth signals (there is no service of ours to call); the
account events of lower layers (2FA, passwords, sessions, blocking) arrive through
``kvartal.accounts.events``.
"""

from django.contrib.auth import signals as auth_signals

from . import record
from .models import Kind


def _signed_in(sender, request, user, **kwargs):
    record("sign_in", obj=user, by=user, kind=Kind.SIGN_IN)


def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        record("sign_out", obj=user, by=user, kind=Kind.SIGN_OUT)


def _failed(sender, credentials, request=None, **kwargs):
    # The password never reaches the log: only the login that was tried.
    username = str(credentials.get("username", ""))[:150]
    record(
        "sign_in_failed",
        kind=Kind.SIGN_IN_FAILED,
        object_type="accounts.user",
        object_repr=username,
        data={"username": username},
    )


def _account_event(*, action, kind, user, by=None, data=None):
    record(action, obj=user, by=by, kind=kind, data=data)


def connect() -> None:
    from kvartal.accounts import events

    auth_signals.user_logged_in.connect(_signed_in, dispatch_uid="audit-sign-in")
    auth_signals.user_logged_out.connect(_signed_out, dispatch_uid="audit-sign-out")
    auth_signals.user_login_failed.connect(_failed, dispatch_uid="audit-sign-in-failed")
    events.listen(_account_event)
    connect_axes()


def _locked_out(sender, request, username, ip_address, **kwargs):
    record(
        "sign_in_lockout",
        kind=Kind.LOCKOUT,
        object_type="accounts.user",
        object_repr=str(username or "")[:150],
        data={"username": str(username or "")[:150], "address": ip_address},
    )


def connect_axes() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="audit-lockout")
