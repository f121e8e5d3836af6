"""Visits, interactions and tasks (the reminders of tasks coming due: ``ops.notifications``)."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kvartal import audit
from kvartal.accounts.models import User
from kvartal.accounts.services import notice_send
from kvartal.core.errors import DomainError

from ..models import (
    Client,
    Interaction,
    Task,
    Visit,
)
from .clients import _client_url, _refuse_retired

# --- visits, interactions, tasks --------------------------------------------------------


@transaction.atomic
@audit.service
def visit_register(
    *, by, client: Client, received_by: User, at=None, asked_about: str = "", units=()
) -> Visit:
    """Register a visit to the sales office (the reception desk)."""
    if client.erased_at or client.merged_into_id:
        raise DomainError(_("This client record is no longer in use."))
    visit = Visit.objects.create(
        client=client,
        at=at or timezone.now(),
        received_by=received_by,
        asked_about=asked_about,
        created_by=by,
    )
    if units:
        visit.units_shown.set(units)
    if received_by != by:
        notice_send(
            user=received_by,
            message=gettext_noop("Visit registered for you: %(name)s"),
            args={"name": client.display_name},
            url=_client_url(client),
        )
    if client.manager_id and client.manager_id not in (by.pk if by else None, received_by.pk):
        notice_send(
            user=client.manager,
            message=gettext_noop(
                "Your client came to the sales office: %(name)s (received by %(who)s)"
            ),
            args={"name": client.display_name, "who": received_by.short_name},
            url=_client_url(client),
        )
    return visit


@transaction.atomic
@audit.service
def interaction_add(*, client: Client, by, kind: str, text: str, at=None) -> Interaction:
    _refuse_retired(client)
    interaction = Interaction(client=client, by=by, kind=kind, text=text, at=at or timezone.now())
    # ``by`` None: written by the system (a call no operator took), not by a person.
    interaction.full_clean(exclude=["by"] if by is None else None)
    interaction.save()
    return interaction


@transaction.atomic
@audit.service
def task_create(
    *,
    by,
    title: str,
    due_at,
    assignee: User,
    client=None,
    lead=None,
    note: str = "",
    all_day: bool = False,
) -> Task:
    """Create a follow-up task; the assignee is told in the app when it is someone else. An
    ``all_day`` task is due by the end of ``due_at``'s day (``Task.day_end``): a task due
    today is not overdue before tomorrow."""
    if client is not None:
        _refuse_retired(client)
    task = Task(
        title=title,
        due_at=Task.day_end(due_at) if all_day else due_at,
        all_day=all_day,
        assignee=assignee,
        client=client,
        lead=lead,
        note=note,
        created_by=by,
    )
    task.full_clean()
    task.save()
    if assignee != by:
        notice_send(
            user=assignee,
            message=gettext_noop("New task: %(title)s"),
            args={"title": title},
            url=reverse("clients:my-tasks"),
        )
    return task


@transaction.atomic
@audit.service
def task_complete(*, task: Task, by, at=None) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.done_at:
        raise DomainError(_("This task is already done."))
    task.done_at = at or timezone.now()
    task.save(update_fields=["done_at"])
    return task
