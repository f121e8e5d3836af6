"""The sign-in backends read the request's user as Django's ``ModelBackend`` does."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kvartal.accounts.backends import LockoutBackend, UserBackend
from kvartal.accounts.models import Role, User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("backend", [UserBackend(), LockoutBackend()])
def test_the_user_of_a_session_is_djangos_in_one_query(backend):
    active = User.objects.create_user("active-one", password="x", role=Role.SALES_MANAGER)
    gone = User.objects.create_user("gone-one", password="x", is_active=False)
    with CaptureQueriesContext(connection) as queries:
        found = backend.get_user(active.pk)
    assert len(queries) == 1
    expected = ModelBackend().get_user(active.pk)
    assert found == expected
    assert [getattr(found, f.attname) for f in User._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in User._meta.concrete_fields
    ]
    # an inactive user, or one that is no more: nobody, as Django answers
    assert backend.get_user(gone.pk) is None is ModelBackend().get_user(gone.pk)
    assert backend.get_user(gone.pk + 1000) is None


def test_a_password_sign_in_goes_through_the_site_backend(rf):
    User.objects.create_user("signs-in", password="a-long-password-1", role=Role.DIRECTOR)
    request = rf.post("/accounts/login/")
    user = authenticate(request, username="signs-in", password="a-long-password-1")
    assert user is not None and user.backend == "kvartal.accounts.backends.UserBackend"
    assert authenticate(request, username="signs-in", password="wrong") is None
