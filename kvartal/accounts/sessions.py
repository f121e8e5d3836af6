"""The session engine: Django's sessions in the database, read through statements built once
per process (``core.statements``). Every signed-in request reads its session and its user,
and building those queries cost the ORM more than running them.

A signed-in session has its row in the session list (``UserSession``, kept by the account
guard), which names its user: the session and that user are read in one statement, and the
sign-in backends (``accounts.backends``) take the user from there instead of reading it again
(``session_user``) — only while Django's ``get_user`` looks for the user of that request's
session (``accounts.middleware.SessionUserMiddleware``), and only if it is the user the session
itself names. A session with no such row is read alone, as Django reads it.
"""

from contextvars import ContextVar
from datetime import UTC, datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from kvartal.core.statements import Statement

from .models import UserSession

_SAMPLES = (
    ("\x00stand-in-1", datetime(1001, 2, 3, tzinfo=UTC)),
    ("\x00stand-in-2", datetime(1002, 3, 4, tzinfo=UTC)),
)
_LIVE_SESSION = Statement(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now),
    samples=_SAMPLES,
    arity=2,
)
# The session list's row of the session, with its user and the session's data if it is live.
_SIGNED_IN = Statement(
    lambda key, now: (
        UserSession.objects.filter(session_key=key)
        .order_by()
        .select_related("user")
        .annotate(
            live_data=Subquery(
                Session.objects.filter(
                    session_key=OuterRef("session_key"), expire_date__gt=now
                ).values("session_data")
            )
        )
    ),
    samples=_SAMPLES,
    arity=2,
)

# The session store whose user Django's ``get_user`` is looking for now (set around it).
reading: ContextVar = ContextVar("kvartal_session_reading", default=None)


def session_user(user_id):
    """The user read with the session of the request being signed in, if ``user_id`` is
    theirs (the id the session names); else ``None`` (read the user as usual)."""
    store = reading.get()
    user = getattr(store, "signed_in_user", None)
    return user if user is not None and user.pk == user_id else None


class SessionStore(db.SessionStore):
    signed_in_user = None  # read with the session: its session list row's user

    def _get_session_from_db(self):
        """What Django's reads (the session if it has not expired), through a statement; a
        signed-in session's user with it."""
        now = timezone.now()
        listed = _SIGNED_IN.objects(self.session_key, now)
        if listed:
            row = listed[0]
            if row.live_data is None:  # expired, or ended
                self._session_key = None
                return None
            self.signed_in_user = row.user
            return Session(session_key=self.session_key, session_data=row.live_data)
        found = _LIVE_SESSION.objects(self.session_key, now)
        if not found:
            self._session_key = None
            return None
        return found[0]
