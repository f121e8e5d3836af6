"""Fixtures the sales tests share (a test module may define its own of the same name)."""

import pytest

from kvartal.accounts.models import Role
from kvartal.clients.services import client_create
from kvartal.sales.models import SalesSettings
from kvartal.sales.tests.factories import default_scheme
from kvartal.testing import make_building, make_section, make_user


@pytest.fixture
def units(keeper):
    """Four units of a fresh section, on sale."""
    SalesSettings.current()
    default_scheme()
    building = make_building()
    make_section(building, floors=2, per_floor=2, by=keeper)
    return list(building.units.order_by("pk"))


@pytest.fixture
def unit(units):
    return units[0]


@pytest.fixture
def buyer(manager):
    return client_create(by=manager, last_name="Петров", first_name="Иван", phone="+79001234567")


@pytest.fixture
def other_manager(db):
    return make_user(Role.SALES_MANAGER, username="other")
