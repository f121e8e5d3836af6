"""The showcase's test world: one published project with a small generated section."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from kvartal.core.testing import make_building, make_project, make_section
from kvartal.inventory.models import Unit
from kvartal.showcase.models import ProjectShowcase
from kvartal.showcase.visitors import form_stamp


@pytest.fixture
def _fresh_rate_limits(db):
    """The request forms' counters start at zero (they live in the default cache)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def project(db, keeper, _fresh_rate_limits):
    project = make_project(name="ЖК Витрина")
    building = make_building(project, name="Корпус 1")
    make_section(building, by=keeper, floors=3, per_floor=4, price_per_m2=Decimal("150000"))
    ProjectShowcase.objects.create(
        project=project, is_published=True, full_payment_discount=Decimal("5")
    )
    return project


@pytest.fixture
def units(project):
    return list(Unit.objects.filter(building__project=project).order_by("floor__index", "position"))


@pytest.fixture
def unit(units):
    return units[5]


@pytest.fixture
def stamp():
    """A form shown a minute ago (the time check passes)."""
    import time

    return form_stamp(time.time() - 60)


@pytest.fixture
def sms(settings):
    """Codes go to memory: ``sms.last_code()`` reads the last one sent."""
    import re

    from kvartal.showcase.sms import MemoryBackend

    settings.SHOWCASE_SMS_BACKEND = "kvartal.showcase.sms.MemoryBackend"
    MemoryBackend.outbox.clear()

    class Box:
        outbox = MemoryBackend.outbox

        @staticmethod
        def last_code() -> str:
            return re.search(r"\b(\d{6})\b", MemoryBackend.outbox[-1][1]).group(1)

    yield Box
    MemoryBackend.outbox.clear()


@pytest.fixture
def on_duty(db):
    """The manager who gets the next site lead."""
    from kvartal.accounts.models import Role
    from kvartal.core.testing import make_user

    return make_user(Role.SALES_MANAGER, username="duty", on_duty=True)
