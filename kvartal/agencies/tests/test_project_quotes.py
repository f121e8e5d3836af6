"""A project's name carries its own quotes (ЖК «Лесная сказка»): the partner programme's
messages name it as it is, never inside another pair of quotes, in every language."""

import re

import pytest
from django.utils import translation

from kvartal.clients.models import Channel
from kvartal.clients.services import lead_create
from kvartal.sales.tests.factories import make_unit

from ..services import (
    FixationRefused,
    HoldRequestRefused,
    PhoneProtected,
    agent_hold_request,
    fixation_create,
)
from .factories import make_agency, make_agent, open_project

pytestmark = pytest.mark.django_db
NAME = "ЖК «Лесная сказка»"
PHONE = "+79123456789"
LANGUAGES = ["en", "ru", "zh-hans"]


def named_once_without_quotes(message: str) -> bool:
    """The name is in the message once, with no quote mark of any language around it."""
    opening, closing = "«“„\"'「『‘", "»”\"'」』’"
    name = re.escape(NAME)
    return (
        message.count(NAME) == 1
        and re.search(f"[{opening}]{name}", message) is None
        and re.search(f"{name}[{closing}]", message) is None
    )


@pytest.fixture
def unit():
    unit = make_unit()
    unit.building.project.name = NAME
    unit.building.project.save()
    return unit


@pytest.fixture
def agent():
    return make_agent(make_agency())


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_project_closed_to_partners_is_named_without_nested_quotes(agent, unit, language):
    with translation.override(language), pytest.raises(FixationRefused) as refused:
        fixation_create(agent=agent, project=unit.building.project, name="Петров", phone=PHONE)
    assert named_once_without_quotes(str(refused.value)), str(refused.value)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_protected_phone_names_the_project_without_nested_quotes(agent, unit, language):
    project = unit.building.project
    open_project(project, protection_days=30)
    fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    site = Channel.objects.get(code="site")
    with translation.override(language), pytest.raises(PhoneProtected) as refused:
        lead_create(by=None, channel=site, phone=PHONE, unit=unit)
    assert named_once_without_quotes(str(refused.value)), str(refused.value)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_hold_in_another_project_names_the_fixed_one_without_nested_quotes(agent, unit, language):
    project = unit.building.project
    open_project(project, protection_days=30)
    fixation = fixation_create(agent=agent, project=project, name="Петров", phone=PHONE)
    elsewhere = make_unit()
    open_project(elsewhere.building.project, protection_days=30)
    with translation.override(language), pytest.raises(HoldRequestRefused) as refused:
        agent_hold_request(agent=agent, fixation=fixation, unit=elsewhere)
    assert named_once_without_quotes(str(refused.value)), str(refused.value)
