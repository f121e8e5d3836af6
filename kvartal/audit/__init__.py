"""The audit log's API for every app's services: ``from kvartal import audit``.

    before = audit.snapshot(project, ["name", "city"])
    ...change and save...
    audit.record("project_update", obj=project, before=before, by=by)

``record`` writes one append-only row: who (``by``, else the signed-in user of the request
being served), when, from which address, what (the action and the object) and the old and
new values. It joins the caller's transaction, so a refused change leaves no row either.
This module imports no business app: it sits just above accounts.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

__all__ = [
    "SECRET",
    "diff",
    "door",
    "erase_subject",
    "erase_text",
    "note",
    "record",
    "service",
    "snapshot",
    "subject_of",
    "update",
]


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a field value (money stays exact as a string)."""
    if value is None or isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "pk") and hasattr(value, "_meta"):
        return value.pk
    if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
        return value.name or ""
    return str(value)


def snapshot(obj, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The values of ``fields`` (default: every concrete field) as JSON-safe values;
    foreign keys by id, files by name."""
    meta = obj._meta
    if fields is None:
        fields = [f.name for f in meta.concrete_fields]
    values = {}
    for name in fields:
        field = meta.get_field(name)
        attname = getattr(field, "attname", name)
        values[name] = _plain(getattr(obj, attname, None))
    return values


def diff(before: dict, after: dict) -> dict[str, list]:
    """``{field: [old, new]}`` for the fields whose value changed."""
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def subject_of(obj) -> str:
    """The data-subject key of a person-holding object ("clients.client:12")."""
    return f"{obj._meta.label_lower}:{obj.pk}"


def record(
    action: str,
    *,
    obj=None,
    by=None,
    kind: str | None = None,
    before: dict | None = None,
    changes: dict | None = None,
    data: dict | None = None,
    subject=None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
    address: str | None = None,
):
    """Append one row to the audit log and return it.

    ``action`` names what happened (a service's name: "unit_set_price"). ``kind`` defaults to
    "create" when ``before`` is ``{}``, "update" when ``before`` is a snapshot, else "action".
    With ``before`` the new values are read from ``obj`` for the same fields and only what
    changed is kept; ``changes`` gives ``{field: [old, new]}`` directly. ``subject`` (an
    object or a key) marks whose personal data the values may hold.
    """
    from django.contrib.auth import get_user_model

    from .context import current_actor, current_address, current_door
    from .models import AuditEvent, Kind

    if before is not None and obj is not None:
        after = snapshot(obj, before.keys() or None)
        changes = {**diff(before, after), **(changes or {})}
        if kind is None:
            kind = Kind.CREATE if not before else Kind.UPDATE
    actor = by if by is not None else current_actor()
    if actor is not None and not isinstance(actor, get_user_model()):
        actor = None
    if actor is not None and not actor.is_authenticated:
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    if subject is not None and not isinstance(subject, str):
        subject = subject_of(subject)
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=(actor.get_username() if actor is not None else "")[:150],
        address=address or current_address(),
        door=current_door(),
        kind=kind or Kind.ACTION,
        action=action[:80],
        object_type=object_type[:80],
        object_id=str(object_id if object_id is not None else "")[:64],
        object_repr=str(object_repr)[:200],
        changes=_plain(changes or {}),
        data=_plain(data or {}),
        subject=(subject or "")[:80],
    )


def erase_subject(subject, *, by=None, log: bool = True) -> int:
    """Blank the old and new values and the details of every row about ``subject`` (an object
    or its key), and the object's name on them, and record the erasure (unless ``log`` is
    false: the erasing service's own row records it). Returns the count of rows blanked. Who
    did what and when stays: only the personal values go."""
    from .models import AuditEvent, Kind

    key = subject if isinstance(subject, str) else subject_of(subject)
    blanked = _blank(AuditEvent.objects.filter(subject=key))
    if not log:
        return blanked
    type_, _sep, id_ = key.partition(":")
    record(
        "erase_subject",
        by=by,
        kind=Kind.ERASE,
        object_type=type_,
        object_id=id_,
        data={"rows_blanked": blanked},
    )
    return blanked


def erase_text(terms: Iterable[str]) -> int:
    """Blank the values of every row whose values or object name hold one of ``terms`` (a
    person's names, phones, e-mails typed into another object's free text). Returns the count
    of rows blanked."""
    from django.db.models import Q

    from .models import AuditEvent

    query = Q()
    for term in {t.strip() for t in terms if t and len(t.strip()) >= 3}:
        query |= Q(changes__icontains=term) | Q(data__icontains=term)
        query |= Q(object_repr__icontains=term)
    if not query:
        return 0
    return _blank(AuditEvent.objects.filter(query))


def _blank(rows) -> int:
    from .models import AuditEvent

    blanked = 0
    for row in rows.only("pk", "changes", "data"):
        changes = {name: ["", ""] for name in row.changes}
        data = dict.fromkeys(row.data, "")
        blanked += AuditEvent.objects.filter(pk=row.pk)._blank(
            changes=changes, data=data, object_repr=""
        )
    return blanked


# --- the decorator every writing service carries: see hooks.py -----------------------------

from .hooks import SECRET, door, note, service, update  # noqa: E402
