"""The task pages."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    CLIENTS_EDIT,
    CLIENTS_VIEW,
    require,
)
from kvartal.core.errors import DomainError
from kvartal.core.ids import parse_id
from kvartal.core.pages import refuse

from .. import services
from ..forms import (
    TaskForm,
)
from ..models import (
    Client,
    Lead,
    Task,
)
from ..selectors import my_tasks
from .common import _crumbs, _data, _form_page, _safe_next, client_url

# --- tasks ------------------------------------------------------------------------------


@require(CLIENTS_VIEW)
def task_list(request):
    """My tasks: overdue (highlighted), today, upcoming, done today."""
    now = timezone.now()
    return render(
        request,
        "clients/task_list.html",
        {
            **my_tasks(request.user, now),
            "now": now,
            "nav": "tasks",
            "crumbs": [(None, _("My tasks"))],
        },
    )


@require(CLIENTS_EDIT)
def task_create(request):
    clients = Client.objects.for_user(request.user)
    client = lead = None
    if client_id := (request.POST.get("client") or request.GET.get("client")):
        client = get_object_or_404(clients, pk=parse_id(client_id) or 0)
    if lead_id := (request.POST.get("lead") or request.GET.get("lead")):
        lead = get_object_or_404(Lead.objects.for_user(request.user), pk=parse_id(lead_id) or 0)
    form = TaskForm(_data(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.task_create(by=request.user, client=client, lead=lead, **form.cleaned_data)
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("Task created."))
            if client is not None:
                return redirect(client_url(client))
            if lead is not None:
                return redirect("clients:lead-detail", pk=lead.pk)
            return redirect("clients:my-tasks")
    title = _("New task")
    crumbs = (
        _crumbs((None, title), client=client)
        if client
        else [(reverse("clients:my-tasks"), _("My tasks")), (None, title)]
    )
    return _form_page(
        request,
        form,
        title=title,
        crumbs=crumbs,
        nav="tasks",
        hidden={"client": client.pk if client else "", "lead": lead.pk if lead else ""},
        subject=client or lead,
    )


@require(CLIENTS_EDIT)
def task_done(request, pk):
    task = get_object_or_404(Task.objects.for_user(request.user), pk=pk)
    if request.method == "POST":
        try:
            services.task_complete(task=task, by=request.user)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Task done."))
        return redirect(_safe_next(request, reverse("clients:my-tasks")))
    title = _("Mark the task done")
    return render(
        request,
        "clients/confirm.html",
        {
            "title": title,
            "crumbs": [(reverse("clients:my-tasks"), _("My tasks")), (None, title)],
            "text": task.title,
            "submit": _("Done"),
            "cancel_url": reverse("clients:my-tasks"),
            "nav": "tasks",
        },
    )
