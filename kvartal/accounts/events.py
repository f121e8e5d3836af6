"""Account events (2FA enrolled or removed, a password changed, sessions ended, a user
blocked, a lockout) for the apps above accounts that keep records of them.

Accounts sits below the audit log and may not import it; the audit app registers itself here
when Django starts (``listen``), and accounts' services call ``emit`` in their transaction.
"""

from collections.abc import Callable

_listeners: list[Callable] = []


def listen(listener: Callable) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def emit(action: str, *, kind: str, user, by=None, data: dict | None = None) -> None:
    """Tell every listener: ``action`` (e.g. "totp_enrol") of ``kind`` (an audit kind)
    happened to ``user``, done by ``by`` (default: the signed-in user)."""
    for listener in _listeners:
        listener(action=action, kind=kind, user=user, by=by, data=data or {})
