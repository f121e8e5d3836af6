"""The agencies pages in the URL × role table (collected by accounts/tests/test_access.py)."""

from kvartal.accounts.models import Role

AGENTS = frozenset({Role.AGENCY_PARTNER, Role.ADMIN})  # an administrator holds every capability
MANAGERS = frozenset({Role.ADMIN, Role.SALES_HEAD})  # agencies.manage
ACCOUNTANTS = frozenset({Role.ADMIN, Role.ACCOUNTANT})  # commissions.settle

PAGES: dict = {
    # the area's address: on to the cabinet, the desk or the statements, whichever opens
    "agencies:home": (AGENTS | MANAGERS | ACCOUNTANTS, None, "redirect"),
    "agencies:cabinet": (AGENTS, None),
    "agencies:inventory": (AGENTS, None),
    "agencies:fixation-create": (AGENTS, None),
    "agencies:fixation-detail": (AGENTS, "fixation"),
    "agencies:dispute-create": (AGENTS, None),
    "agencies:desk": (MANAGERS, None),
    "agencies:dispute-decide": (MANAGERS, "dispute"),
    "agencies:fixation-extend": (MANAGERS, "fixation"),
    "agencies:statement-list": (ACCOUNTANTS, None),
    "agencies:rule-create": (ACCOUNTANTS, None),
    "agencies:statement-create": (ACCOUNTANTS, None),
    "agencies:statement-detail": (ACCOUNTANTS, "statement"),
    "agencies:statement-xlsx": (ACCOUNTANTS, "statement"),
}


def build_objects(*, persona, unit) -> dict:
    """A fixation of ``persona``'s agency (an agent's own, so the cabinet page opens), and a
    dispute about it raised by another agency."""

    from ..models import Agent
    from ..services import dispute_raise, fixation_create
    from .factories import make_agency, make_agent, open_project

    open_project(unit.building.project)
    agency = make_agency()
    if persona is not None and persona.role == Role.AGENCY_PARTNER:
        Agent.objects.create(user=persona, agency=agency)
        agent = persona
    else:
        agent = make_agent(agency)
    fixation = fixation_create(
        agent=agent, project=unit.building.project, name="Access", phone="+79990001122"
    )
    rival = make_agent(make_agency())  # nobody curates it: a sales head sees the dispute
    dispute = dispute_raise(
        agent=rival,
        project=unit.building.project,
        name="Access",
        phone="+79990001122",
        evidence="A showing",
    )
    from datetime import date
    from decimal import Decimal

    from ..models import Statement

    statement = Statement.objects.create(
        agency=agency,
        date_from=date(2026, 1, 1),
        date_to=date(2026, 3, 31),
        accrued=Decimal(0),
        held_back=Decimal(0),
        payable=Decimal(0),
    )
    return {
        "fixation": {"pk": fixation.pk},
        "dispute": {"pk": dispute.pk},
        "statement": {"pk": statement.pk},
    }


def build_scoped_rows(*, owner, units) -> None:
    """A fixation and a dispute about it, each of an agency ``owner`` curates (for
    accounts/tests/test_scoping.py): on the developer's side both are the curator's."""
    from ..services import dispute_raise, fixation_create
    from .factories import make_agency, make_agent, open_project

    project = units[0].building.project
    open_project(project)
    n = owner.pk
    phone = f"+7 903 {n % 1000:03d}-{n // 1000 % 100:02d}-11"  # ten digits for any pk
    agent = make_agent(make_agency(curator=owner))
    fixation_create(agent=agent, project=project, name=f"Фиксов{n} Иван", phone=phone)
    rival = make_agent(make_agency(curator=owner))
    dispute_raise(
        agent=rival, project=project, name=f"Фиксов{n} Иван", phone=phone, evidence="Показ"
    )
