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


def test_a_live_session_reads_as_djangos():
    """A session nobody signed in with (a showcase booking under way) has no session list
    row: the row is looked for, then the session read alone."""
    saved = SessionStore()
    saved.update({"answer": 42, "when": "today"})
    saved.save()
    with CaptureQueriesContext(connection) as queries:
        loaded = SessionStore(saved.session_key).load()
    assert len(queries) == 2
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


# --- the session's user, read with it ----------------------------------------------------


def _signed_in(user, *, listed_as=None):
    """A session of ``user`` as signing in leaves it, and its row in the session list (naming
    ``listed_as``, by default the same user)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from kvartal.accounts.models import UserSession

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "kvartal.accounts.backends.UserBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    UserSession.objects.create(user=listed_as or user, session_key=store.session_key)
    return store.session_key


def _user_of_request(rf, key):
    from django.contrib.sessions.middleware import SessionMiddleware

    from kvartal.accounts.middleware import SessionUserMiddleware

    request = rf.get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = key
    SessionMiddleware(lambda r: None).process_request(request)
    SessionUserMiddleware(lambda r: None).process_request(request)
    with CaptureQueriesContext(connection) as queries:
        user = request.user._wrapped if request.user.is_authenticated else None
    return user, len(queries), request


def test_a_signed_in_request_reads_its_session_and_user_in_one_query(rf, manager):
    assert "kvartal.accounts.middleware.SessionUserMiddleware" in settings.MIDDLEWARE
    user, queries, _request = _user_of_request(rf, _signed_in(manager))
    assert queries == 1
    assert user == manager
    assert [getattr(user, f.attname) for f in type(user)._meta.concrete_fields] == [
        getattr(manager, f.attname) for f in type(manager)._meta.concrete_fields
    ]


def test_the_user_read_with_the_session_is_checked_as_djangos(rf, manager, other_manager):
    # blocked since: nobody
    key = _signed_in(manager)
    manager.is_active = False
    manager.save()
    assert _user_of_request(rf, key)[0] is None
    # the password changed since: nobody, and the session is ended
    key = _signed_in(other_manager)
    other_manager.set_password("a-new-long-password-2")
    other_manager.save()
    user, _queries, request = _user_of_request(rf, key)
    assert user is None and request.session.session_key is None
    # expired: nobody, a fresh session
    other_manager.refresh_from_db()
    key = _signed_in(other_manager)
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    user, _queries, request = _user_of_request(rf, key)
    assert user is None and request.session.session_key is None


def test_a_listed_user_other_than_the_sessions_own_is_never_taken(rf, manager, other_manager):
    """The session names its user; a session list row naming someone else (it never should)
    gives nothing of theirs: the session's own user is read, as Django reads it."""
    user, queries, _request = _user_of_request(rf, _signed_in(manager, listed_as=other_manager))
    assert user == manager and queries == 2


def test_a_session_with_no_list_row_reads_as_before(rf, manager):
    from kvartal.accounts.models import UserSession

    key = _signed_in(manager)
    UserSession.objects.filter(session_key=key).delete()
    user, queries, _request = _user_of_request(rf, key)
    assert user == manager and queries == 3  # the list row looked for, the session, the user


def test_outside_a_request_the_backend_reads_the_user(manager):
    from kvartal.accounts.backends import UserBackend
    from kvartal.accounts.sessions import reading

    store = SessionStore(_signed_in(manager))
    store.load()
    assert store.signed_in_user == manager
    manager.first_name = "Новое"
    manager.save()
    assert reading.get() is None
    assert UserBackend().get_user(manager.pk).first_name == "Новое"
