import pytest

from kvartal.api.models import ApiToken
from kvartal.clients.services import client_create
from kvartal.core.testing import make_building, make_section


@pytest.fixture
def token_for():
    """``token_for(user, scopes, **fields)`` → the bearer header of a new token."""

    def make(user, scopes, **fields):
        key = ApiToken.new_key()
        token = ApiToken(name=f"t-{user.pk}", user=user, scopes=list(scopes), **fields)
        token.set_key(key)
        token.save()
        return {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    return make


@pytest.fixture
def units(keeper):
    building = make_building()
    make_section(building, floors=2, per_floor=3, by=keeper)
    return list(building.units.order_by("pk"))


@pytest.fixture
def buyer(manager):
    return client_create(by=manager, last_name="Петров", first_name="Иван", phone="+79001234567")
