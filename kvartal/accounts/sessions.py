"""The session engine: Django's sessions in the database, the session read through a
statement built once per process (``core.statements``). Every signed-in request reads its
session, and building that query cost the ORM more than running it."""

from datetime import UTC, datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from kvartal.core.statements import Statement

_LIVE_SESSION = Statement(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now),
    samples=(
        ("\x00stand-in-1", datetime(1001, 2, 3, tzinfo=UTC)),
        ("\x00stand-in-2", datetime(1002, 3, 4, tzinfo=UTC)),
    ),
    arity=2,
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """What Django's reads (the session if it has not expired), through the statement."""
        found = _LIVE_SESSION.objects(self.session_key, timezone.now())
        if not found:
            self._session_key = None
            return None
        return found[0]
