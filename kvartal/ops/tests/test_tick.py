"""The periodic job beside the web server: holds that ran out and task reminders."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from kvartal.accounts.models import Notice
from kvartal.clients.services import task_create

pytestmark = pytest.mark.django_db


def test_the_tick_sends_the_reminders_of_tasks_coming_due(manager):
    task_create(
        by=manager,
        title="Перезвонить Ивановой",
        due_at=timezone.now() + timedelta(minutes=5),
        assignee=manager,
    )
    out = StringIO()
    call_command("sales_tick", stdout=out)
    assert "1 task reminder(s)" in out.getvalue()
    assert Notice.objects.filter(user=manager, text__contains="Ивановой").count() == 1
    call_command("sales_tick", stdout=StringIO())  # once only
    assert Notice.objects.filter(user=manager).count() == 1
