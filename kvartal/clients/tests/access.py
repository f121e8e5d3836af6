"""The clients pages in the URL × role table (collected by accounts/tests/test_access.py)."""

from datetime import timedelta

from django.utils import timezone

from kvartal.accounts.models import Role

ALL = frozenset(r.value for r in Role)
VIEW = frozenset({Role.ADMIN, Role.DIRECTOR, Role.SALES_HEAD, Role.SALES_MANAGER, Role.OPERATOR})
EDIT = frozenset({Role.ADMIN, Role.SALES_HEAD, Role.SALES_MANAGER, Role.OPERATOR})
EXPORT = frozenset({Role.ADMIN, Role.SALES_HEAD})
ERASE = frozenset({Role.ADMIN})

PAGES: dict = {
    "clients:client-create": (EDIT, None),
    "clients:client-update": (EDIT, "client"),
    "clients:contact-add": (EDIT, "client"),
    "clients:person-add": (EDIT, "company"),
    "clients:consent-create": (EDIT, "client"),
    "clients:consent-withdraw": (EDIT, "consent"),
    "clients:client-reassign": (EDIT, "client"),
    "clients:client-merge": (EDIT, "client"),
    "clients:client-export": (EXPORT, "client"),
    "clients:client-erase": (ERASE, "client"),
    "clients:need-update": (EDIT, "client"),
    "clients:interaction-create": (EDIT, "client"),
    "clients:my-tasks": (VIEW, None),
    "clients:task-create": (EDIT, None),
    "clients:task-done": (EDIT, "task"),
    "clients:reception": (EDIT, None),
    "clients:lead-list": (VIEW, None),
    "clients:pick": (VIEW, None),
    "clients:lead-create": (EDIT, None),
    "clients:lead-import": (EDIT, None),
    "clients:lead-detail": (VIEW, "lead"),
    "clients:lead-status": (EDIT, "lead"),
    "clients:lead-assign": (EDIT, "lead"),
    "clients:lead-convert": (EDIT, "lead"),
}


def build_objects(*, persona, unit) -> dict:
    """A client, a company, a consent, a task and a lead owned by ``persona`` when they sell
    (so their row-scoped pages open), else by a new manager."""
    from kvartal.clients import services
    from kvartal.clients.models import Channel
    from kvartal.testing import make_user

    sells = persona is not None and persona.role in (Role.SALES_MANAGER, Role.SALES_HEAD)
    owner = persona if sells else make_user(Role.SALES_MANAGER)
    client = services.client_create(
        by=owner, last_name="Доступов", first_name="Пётр", phone="+7 900 000-00-01"
    )
    company = services.client_create(by=owner, kind="company", company_name="ООО Доступ")
    consent = services.consent_record(client=client, by=owner, text_version="1.0", channel="paper")
    task = services.task_create(
        by=owner,
        title="Позвонить",
        due_at=timezone.now() + timedelta(hours=3),
        assignee=owner,
        client=client,
    )
    lead = services.lead_create(
        by=owner,
        channel=Channel.objects.get(code="call"),
        name="Лид",
        phone="+7 900 000-00-02",
        manager=owner,
    )
    return {
        "client": {"pk": client.pk},
        "company": {"pk": company.pk},
        "consent": {"pk": consent.pk},
        "task": {"pk": task.pk},
        "lead": {"pk": lead.pk},
    }


def build_scoped_rows(*, owner, units) -> None:
    """One row of every row-scoped clients model, ``owner`` responsible (for
    accounts/tests/test_scoping.py)."""
    from decimal import Decimal

    from kvartal.clients import services
    from kvartal.clients.models import Channel

    n = owner.pk
    client = services.client_create(by=owner, last_name=f"Строкин{n}", first_name="Иван")
    services.contact_add(client=client, by=owner, kind="email", value=f"row{n}@example.com")
    company = services.client_create(by=owner, kind="company", company_name=f"ООО Строка {n}")
    services.contact_person_add(company=company, by=owner, name="Контактов К.")
    services.consent_record(client=client, by=owner, text_version="1.0", channel="paper")
    services.interaction_add(client=client, by=owner, kind="call", text="Позвонил")
    services.visit_register(by=owner, client=client, received_by=owner)
    services.need_save(client=client, by=owner, budget_max=Decimal(9_000_000))
    services.task_create(
        by=owner, title="Перезвонить", due_at=timezone.now() + timedelta(days=1), assignee=owner
    )
    services.lead_create(
        by=owner,
        channel=Channel.objects.get(code="call"),
        name="Лид",
        phone=f"+7 901 {n % 1000:03d}-{n // 1000 % 100:02d}-00",  # ten digits for any pk
        manager=owner,
    )
