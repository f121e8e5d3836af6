"""Agencies, agents and open projects for the tests."""

from itertools import count

from kvartal.accounts.models import Role
from kvartal.clients.models import Agency
from kvartal.core.testing import make_user

from ..models import AgencyProfile, Agent, PartnerProject

_seq = count(1)


def make_agency(*, curator=None, name: str | None = None, **profile) -> Agency:
    agency = Agency.objects.create(name=name or f"Агентство {next(_seq)}")
    AgencyProfile.objects.create(agency=agency, curator=curator, **profile)
    return agency


def make_agent(agency: Agency, **fields):
    user = make_user(Role.AGENCY_PARTNER, **fields)
    Agent.objects.create(user=user, agency=agency)
    return user


def open_project(project, **fields) -> PartnerProject:
    terms, _created = PartnerProject.objects.update_or_create(project=project, defaults=fields)
    return terms
