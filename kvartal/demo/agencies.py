"""The demo's partner programme: the projects opened to agencies, one agency with its curator
and the agent ``agent`` (when demo users exist), a few clients fixed by the agent over the
last weeks and one hold the agent asked for — all through the agencies' services."""

from datetime import date, timedelta

from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.agencies.models import AgencyProfile, Agent, PartnerProject
from kvartal.agencies.services import agent_hold_request, fixation_create
from kvartal.clients.models import Agency
from kvartal.inventory.models import Project, Unit

AGENCY = "АН «Этажи-Урал»"
FIXED = [  # name, phone, days ago
    ("Григорий Лапин", "+7 912 700-11-01", 20),
    ("Вера Сафонова", "+7 912 700-11-02", 9),
    ("Олег Пастухов", "+7 912 700-11-03", 2),
]


def setup_agencies(say) -> None:
    say("Partner programme: projects opened to agencies, an agency, its agent, fixations …")
    projects = list(Project.objects.order_by("pk"))
    for project in projects:
        PartnerProject.objects.get_or_create(
            project=project, defaults={"protection_days": 30, "extension_days": 14}
        )
    head = User.objects.filter(role=Role.SALES_HEAD, is_active=True).order_by("pk").first()
    agency, created = Agency.objects.get_or_create(
        name=AGENCY, defaults={"inn": "6671234567", "phone": "+7 343 200-00-00"}
    )
    if created:
        AgencyProfile.objects.create(
            agency=agency,
            legal_name="ООО «Этажи-Урал»",
            contract_number="АГ-17/2025",
            contract_date=date(2025, 3, 1),
            curator=head,
        )
    user = User.objects.filter(username="agent", role=Role.AGENCY_PARTNER).first()
    if user is None or not projects or Agent.objects.filter(user=user).exists():
        return
    Agent.objects.create(user=user, agency=agency)
    now = timezone.now()
    project = projects[0]
    fixations = [
        fixation_create(
            agent=user, project=project, name=name, phone=phone, at=now - timedelta(days=days)
        )
        for name, phone, days in FIXED
    ]
    unit = Unit.objects.on_sale(now).filter(building__project=project).order_by("pk").first()
    if unit is not None and head is not None:
        agent_hold_request(agent=user, fixation=fixations[-1], unit=unit, at=now)
