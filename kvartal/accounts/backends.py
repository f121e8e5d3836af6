"""The sign-in backends: Django's and django-axes', each taking the signed-in user of a
request from its session's statement (``accounts.sessions``), or reading it through a
statement built once per process (``core.statements``). Every signed-in request reads its
user, and building that query cost the ORM more than running it."""

from axes.backends import AxesBackend
from django.contrib.auth.backends import ModelBackend

from kvartal.core.statements import Statement

from .models import User
from .sessions import session_user

_USER = Statement(lambda pk: User._default_manager.filter(pk=pk), samples=(-1, -2))


class _UserByStatement:
    def get_user(self, user_id):
        """What ``ModelBackend.get_user`` answers: the active user of that id, or None."""
        user = session_user(user_id)
        if user is None:
            found = _USER.objects(user_id)
            if not found:
                return None
            user = found[0]
        return user if self.user_can_authenticate(user) else None


class UserBackend(_UserByStatement, ModelBackend):
    """Django's backend (password sign-in, permissions)."""


class LockoutBackend(_UserByStatement, AxesBackend):
    """django-axes' backend: refuses a locked-out sign-in, authenticates nobody itself."""
