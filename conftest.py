"""Personas shared by every test: who is acting, named as the business names them."""

import pytest

from kvartal.accounts.models import Role
from kvartal.core.testing import make_user


@pytest.fixture
def admin_user(db):
    return make_user(Role.ADMIN, username="admin")


@pytest.fixture
def director(db):
    return make_user(Role.DIRECTOR, username="director")


@pytest.fixture
def sales_head(db):
    return make_user(Role.SALES_HEAD, username="head")


@pytest.fixture
def manager(db):
    return make_user(Role.SALES_MANAGER, username="manager")


@pytest.fixture
def keeper(db):
    return make_user(Role.INVENTORY_KEEPER, username="keeper")


@pytest.fixture
def persona(request, db):
    """Parametrise with a role name (or "anonymous") to get that persona (or None)."""
    if request.param == "anonymous":
        return None
    return make_user(request.param, username=f"p-{request.param}")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing with PBKDF2 would make every persona cost ~100 ms; tests need no such strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests do not run collectstatic; serve static files straight from the source folders."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
