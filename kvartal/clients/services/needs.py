"""What a client is looking for: a list of needs, each with its own status, every change kept
with its old and new value (``NeedChange``)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kvartal import audit

from ..models import (
    Client,
    ClientEventKind,
    Need,
    NeedChange,
)
from .clients import _event, _refuse_retired

# The fields whose changes are kept, in the order a form shows them.
TRACKED = (
    "title",
    "status",
    "rooms",
    "budget_min",
    "budget_max",
    "area_min",
    "area_max",
    "payment_method",
    "purpose",
    "deadline",
    "comment",
)


def _shown(need: Need, name: str) -> str:
    """A field's value as people read it (a choice by its label; nothing as "")."""
    value = getattr(need, name)
    if value in (None, "", []):
        return ""
    if name in ("status", "payment_method", "purpose"):
        return str(getattr(need, f"get_{name}_display")())
    if name == "rooms":
        return ", ".join(_("studio") if r == 0 else str(r) for r in value)
    return str(value)


def _projects_shown(projects) -> str:
    return ", ".join(sorted(p.name for p in projects))


@transaction.atomic
@audit.service
def need_save(
    *, client: Client, by, need: Need | None = None, projects=None, new: bool = False, **fields
) -> Need:
    """Write one of the client's needs: ``need`` (one of theirs), else the newest current one,
    else a new one (``new=True``: always a new one). Each changed field is kept in the need's
    history with its old and new value; nothing changed writes nothing."""
    _refuse_retired(client)
    if need is not None:
        if need.client_id != client.pk:
            raise ValidationError(_("This need belongs to another client."))
        need = Need.objects.select_for_update().get(pk=need.pk)
    elif not new:
        need = (
            Need.objects.filter(client=client, status="active")
            .order_by("-created_at", "-pk")
            .first()
        )
    created = need is None
    if created:
        need = Need(client=client)
    before = {name: ("" if created else _shown(need, name)) for name in TRACKED}
    projects_before = "" if created else _projects_shown(need.projects.all())
    for name, value in fields.items():
        setattr(need, name, value)
    if need.budget_min and need.budget_max and need.budget_min > need.budget_max:
        raise ValidationError({"budget_max": _("The upper budget is below the lower one.")})
    if need.area_min and need.area_max and need.area_min > need.area_max:
        raise ValidationError({"area_max": _("The largest area is below the smallest.")})
    need.full_clean(exclude=["client"])
    need.save()
    changes = [
        NeedChange(need=need, actor=by, field=name, old=before[name], new=_shown(need, name))
        for name in TRACKED
        if before[name] != _shown(need, name)
    ]
    if projects is not None:
        need.projects.set(projects)
        after = _projects_shown(projects)
        if after != projects_before:
            changes.append(
                NeedChange(need=need, actor=by, field="projects", old=projects_before, new=after)
            )
    NeedChange.objects.bulk_create(changes)
    if changes or created:
        _event(client, ClientEventKind.UPDATED, by, fields=["need"], need=need.pk)
    return need
