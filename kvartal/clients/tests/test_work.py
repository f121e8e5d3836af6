"""Visits, interactions, tasks and their reminders, needs and the units that match them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from kvartal.accounts.models import Notice, Role
from kvartal.clients import services
from kvartal.clients.selectors import matching_units, my_tasks
from kvartal.core.errors import DomainError
from kvartal.inventory.models import UnitStatus
from kvartal.ops.notifications import tasks_due_notify
from kvartal.testing import make_building, make_section, make_user

pytestmark = pytest.mark.django_db


def person(by, **fields):
    fields.setdefault("first_name", "Анна")
    return services.client_create(by=by, **fields)


def test_a_visit_records_time_receiver_question_and_units_shown(manager):
    client = person(manager)
    section = make_section(floors=1, per_floor=2)
    shown = list(section.units.all())
    colleague = make_user(Role.SALES_MANAGER)
    at = timezone.now() - timedelta(minutes=5)
    visit = services.visit_register(
        by=manager,
        client=client,
        received_by=colleague,
        at=at,
        asked_about="двушки с видом",
        units=shown,
    )
    assert (visit.at, visit.received_by, visit.asked_about) == (at, colleague, "двушки с видом")
    assert set(visit.units_shown.all()) == set(shown)
    assert Notice.objects.filter(user=colleague).exists()


def test_an_erased_client_cannot_get_a_visit(manager):
    client = person(manager)
    services.client_erase(client=client, by=manager)
    client.refresh_from_db()
    with pytest.raises(DomainError):
        services.visit_register(by=manager, client=client, received_by=manager)


def test_my_tasks_sorts_overdue_today_and_upcoming():
    now = timezone.make_aware(timezone.datetime(2026, 3, 10, 12, 0))
    user = make_user(Role.SALES_MANAGER)
    make = lambda title, delta: services.task_create(  # noqa: E731
        by=user, title=title, due_at=now + delta, assignee=user
    )
    make("overdue", timedelta(hours=-1))
    make("today", timedelta(hours=3))
    make("later", timedelta(days=2))
    done = make("done", timedelta(hours=1))
    services.task_complete(task=done, by=user, at=now)
    make_user(Role.SALES_MANAGER)  # someone else's tasks are not mine
    tasks = my_tasks(user, now)
    assert [t.title for t in tasks["overdue"]] == ["overdue"]
    assert [t.title for t in tasks["today"]] == ["today"]
    assert [t.title for t in tasks["upcoming"]] == ["later"]
    assert tasks["overdue"][0].is_overdue(now)
    with pytest.raises(DomainError):
        services.task_complete(task=done, by=user)


def test_reminders_come_once_for_tasks_coming_due_in_the_app(manager):
    now = timezone.now()
    soon = services.task_create(
        by=manager, title="позвонить", due_at=now + timedelta(minutes=10), assignee=manager
    )
    services.task_create(
        by=manager, title="потом", due_at=now + timedelta(days=1), assignee=manager
    )
    assert tasks_due_notify(now=now) == 1
    assert tasks_due_notify(now=now) == 0  # idempotent
    notice = Notice.objects.get(user=manager)
    assert "позвонить" in notice.text
    soon.refresh_from_db()
    assert soon.reminded_at == now
    assert mail.outbox == []  # no SMTP configured


def test_reminders_go_by_email_when_smtp_is_configured(
    settings, manager, django_capture_on_commit_callbacks
):
    settings.KVARTAL_SMTP = True
    manager.email = "m@kvartal.test"
    manager.save()
    services.task_create(by=manager, title="договор", due_at=timezone.now(), assignee=manager)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks_due_notify() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["m@kvartal.test"]
    assert "договор" in mail.outbox[0].body


def test_needs_match_the_units_on_sale_now(manager):
    building = make_building()
    section = make_section(building, floors=2, per_floor=4, price_per_m2=Decimal("100000"))
    other = make_section(floors=1, per_floor=4, price_per_m2=Decimal("100000"))
    client = person(manager)
    need = services.need_save(
        client=client,
        by=manager,
        rooms=[1, 2],
        budget_max=Decimal("6000000"),
        projects=[building.project],
    )
    found = list(matching_units(need))
    assert found and all(u.rooms in (1, 2) and u.price <= 6000000 for u in found)
    assert all(u.building_id == building.pk for u in found)
    assert {u.rooms for u in section.units.all() if u.price <= 6000000 and u.rooms in (1, 2)} == {
        u.rooms for u in found
    }
    # a unit that is sold drops out at once: the list is computed, not stored
    sold = found[0]
    sold.status = UnitStatus.SOLD
    sold.save(update_fields=["status"])
    assert sold not in list(matching_units(need))
    assert not set(matching_units(need)) & set(other.units.all())


def test_needs_refuse_an_upside_down_range(manager):
    client = person(manager)
    with pytest.raises(Exception) as error:
        services.need_save(client=client, by=manager, budget_min=Decimal(5), budget_max=Decimal(1))
    assert "budget_max" in error.value.message_dict
