"""The session engine (``accounts.sessions``) reads what Django's database sessions read."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kvartal.accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_site_uses_it():
    assert settings.SESSION_ENGINE == "kvartal.accounts.sessions"


def test_a_live_session_reads_as_djangos_in_one_query():
    saved = SessionStore()
    saved.update({"answer": 42, "when": "today"})
    saved.save()
    with CaptureQueriesContext(connection) as queries:
        loaded = SessionStore(saved.session_key).load()
    assert len(queries) == 1
    assert loaded == DjangoStore(saved.session_key).load() == {"answer": 42, "when": "today"}


def test_an_expired_or_unknown_session_reads_empty_and_gets_a_new_key():
    saved = SessionStore()
    saved["answer"] = 42
    saved.save()
    Session.objects.filter(pk=saved.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for key in (saved.session_key, "no-such-session-key-0123456789ab"):
        store = SessionStore(key)
        assert store.load() == {}
        assert store.session_key is None  # as Django's: a fresh session, never the old key
