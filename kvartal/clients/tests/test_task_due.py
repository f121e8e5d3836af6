"""A task due on a day without a time is due by the end of that day: a task due "today" is
not overdue when it is made, it is overdue from the next morning on, and it is shown as a
day (never as "00:00")."""

import re
from datetime import datetime, time, timedelta

import lxml.html
import pytest
from django.urls import reverse
from django.utils import timezone, translation

from kvartal.accounts.models import Notice
from kvartal.clients import services
from kvartal.clients.models import Task
from kvartal.clients.selectors import my_tasks
from kvartal.core.widgets import date_input_format
from kvartal.ops.notifications import tasks_due_notify

pytestmark = pytest.mark.django_db


def next_midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_task_due_today_without_a_time_is_due_by_the_end_of_the_day(client, manager, language):
    today = timezone.localdate()
    client.force_login(manager)
    with translation.override(language):
        typed = today.strftime(date_input_format())
    response = client.post(
        reverse("clients:task-create"),
        {"title": "Перезвонить", "due_at": typed, "assignee": manager.pk},
        headers={"accept-language": language},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task = Task.objects.get()
    assert task.all_day and timezone.localtime(task.due_at).date() == today
    now = timezone.now()
    assert not task.is_overdue(now)
    assert [t.title for t in my_tasks(manager, now)["today"]] == ["Перезвонить"]
    assert not task.is_overdue(next_midnight(today) - timedelta(microseconds=1))
    assert task.is_overdue(next_midnight(today))


def test_a_task_with_a_time_keeps_its_time(client, manager):
    due = timezone.localtime().replace(second=0, microsecond=0) + timedelta(hours=2)
    client.force_login(manager)
    response = client.post(
        reverse("clients:task-create"),
        {"title": "Встреча", "due_at": due.strftime("%Y-%m-%d %H:%M"), "assignee": manager.pk},
    )
    assert response.status_code == 302
    task = Task.objects.get()
    assert not task.all_day and task.due_at == due


def test_an_all_day_task_is_shown_as_a_day_without_a_time(client, manager):
    tomorrow = timezone.localdate() + timedelta(days=1)
    target = services.client_create(by=manager, first_name="Анна")
    services.task_create(
        by=manager,
        title="Весь день",
        due_at=timezone.make_aware(datetime.combine(tomorrow, time.min)),
        all_day=True,
        assignee=manager,
        client=target,
    )
    at = timezone.make_aware(datetime.combine(tomorrow, time(15, 30)))
    services.task_create(by=manager, title="К сроку", due_at=at, assignee=manager, client=target)
    client.force_login(manager)
    day = tomorrow.strftime("%d.%m")
    pages = [reverse("clients:my-tasks"), reverse("sales:client-detail", args=[target.pk])]
    for url in pages:
        text = lxml.html.fromstring(client.get(url).content.decode()).text_content()
        assert f"{day} 15:30" in text, url
        assert re.search(rf"{day}(\.\d{{4}})? (00:00|23:59)", text) is None, url


def test_an_all_day_task_is_reminded_from_the_start_of_its_day_by_its_day(manager):
    today = timezone.localdate()
    morning = timezone.make_aware(datetime.combine(today, time(0, 5)))
    task = services.task_create(
        by=manager, title="Весь день", due_at=morning, all_day=True, assignee=manager
    )
    services.task_create(
        by=manager,
        title="Завтра",
        due_at=morning + timedelta(days=1),
        all_day=True,
        assignee=manager,
    )
    assert tasks_due_notify(now=morning) == 1
    task.refresh_from_db()
    assert task.reminded_at == morning
    with translation.override("ru"):
        text = Notice.objects.get(user=manager).render()
    assert "Весь день" in text and today.strftime("%d.%m") in text
    assert re.search(r"\d\d:\d\d", text) is None
