"""``@audit.service``: every successful call of a writing service leaves one audit row, at the
cost of at most one INSERT and no SELECT.

How, without reading the database:

- *Old values* are the values the row had when it was loaded. ``Model.from_db`` keeps the
  loaded values on each instance (``_audit_loaded``, the tuple Django already built; see
  "Customizing model loading" in Django's model reference), and after each save inside an
  audited call the saved values become the loaded ones, so a second service called with the
  same instance shows only its own change.
- *New values* come from the instances the service saved: a ``post_save``/``post_delete``
  receiver notes every saved or deleted instance while an audited call runs (no query: it
  reads the instance in memory, never a deferred field).
- *The rows* of one outermost audited call (its own and those of the services it calls) are
  collected and written with one ``bulk_create`` at the end of that call, inside the
  caller's transaction when there is one (put ``@audit.service`` *below*
  ``@transaction.atomic``): a refused call (an exception) leaves no row.
- *The object's name* is ``str(obj)`` only when it needs no query (a query attempted while
  naming it is refused and the name left empty).

What a row holds: the service (``action``), the object it returned or else the first model
instance among its keyword arguments, the changed fields of that object as
``{field: [old, new]}`` (encrypted fields, passwords, keys and tokens as "•••" and a keyed
digest), the changes of the other objects it was given and the names of the others it
saved (``data``), its plain arguments, who (``by=``/``actor=``, else the signed-in user),
from which address and through which door (page, API, import, job, call centre, showcase,
agency cabinet, administration).
"""

from __future__ import annotations

import contextlib
import decimal
import functools
import hashlib
import hmac
import inspect
from contextvars import ContextVar
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

SECRET = "•••"  # what the log shows for an encrypted or password field
_ACTOR_KWARGS = ("by", "actor")
_SECRET_WORDS = ("password", "passphrase", "passport", "secret", "token", "key")
_MAX_OTHERS = 20  # names of other saved objects kept on one row

# The rows of the outermost audited call being served, and the stack of audited calls.
_buffer: ContextVar[list | None] = ContextVar("audit_buffer", default=None)
_calls: ContextVar[tuple] = ContextVar("audit_calls", default=())


class _Call:
    __slots__ = ("changes", "data", "obj", "touched")

    def __init__(self):
        # (label, pk) -> [before (dict | None), instance, "create" | "update" | "delete", after]
        self.touched: dict[tuple[str, Any], list] = {}
        self.changes: dict = {}
        self.data: dict = {}
        self.obj = None


# --- values -----------------------------------------------------------------------------------


def _plain(value):
    from . import _plain as plain

    return plain(value)


@functools.cache
def _secret_attnames(model) -> frozenset[str]:
    names = set()
    for field in model._meta.concrete_fields:
        if "Encrypted" in type(field).__name__ or field.name in _SECRET_WORDS:
            names.add(field.attname)
    return frozenset(names)


@functools.cache
def _decimal_places(model) -> dict[str, int]:
    return {
        f.attname: f.decimal_places
        for f in model._meta.concrete_fields
        if getattr(f, "decimal_places", None) is not None
    }


def _exact(value, places: int | None):
    """A decimal as the database keeps it (7500000 → 7500000.00)."""
    if places is None or not isinstance(value, decimal.Decimal):
        return _plain(value)
    try:
        return str(value.quantize(decimal.Decimal(1).scaleb(-places)))
    except decimal.InvalidOperation:
        return str(value)


@functools.cache
def _attnames(model) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def fingerprint(value) -> str:
    """A secret as "•••" and a keyed digest: a change shows, the value does not (the key is
    the installation's SECRET_KEY, so the digest cannot be searched for)."""
    from django.conf import settings

    digest = hmac.new(settings.SECRET_KEY.encode(), str(value).encode(), hashlib.sha256)
    return SECRET + digest.hexdigest()[:8]


def _shown(model, values: dict) -> dict:
    hidden = _secret_attnames(model)
    places = _decimal_places(model)
    return {
        name: (
            fingerprint(value)
            if name in hidden and value not in ("", None)
            else _exact(value, places.get(name))
        )
        for name, value in values.items()
    }


def _memory(instance) -> dict:
    """The instance's field values as they are in memory (a deferred field is left out: it
    is never loaded for the log)."""
    state = instance.__dict__
    return {name: state[name] for name in _attnames(type(instance)) if name in state}


def _loaded(instance) -> dict | None:
    """The values the instance had when it was loaded (or last saved in an audited call)."""
    loaded = instance.__dict__.get("_audit_loaded")
    if loaded is None:
        return None
    if isinstance(loaded, dict):
        return loaded
    names, values = loaded
    return dict(zip(names, values, strict=False))


def _diff(model, before: dict | None, after: dict) -> dict:
    after = _shown(model, after)
    if before is None:  # created: the values it was made with
        return {k: [None, v] for k, v in sorted(after.items()) if v not in (None, "", [], {})}
    before = _shown(model, before)
    return {
        k: [before[k], after[k]] for k in sorted(after) if k in before and before[k] != after[k]
    }


# --- what the services save -----------------------------------------------------------------


def track_loading() -> None:
    """Keep the loaded values on every instance read from the database (no copy: the tuple
    Django builds anyway). Called once from the app's ``ready``."""
    original = Model.from_db.__func__
    if getattr(original, "audit_tracking", False):
        return

    def from_db(cls, db, field_names, values):
        instance = original(cls, db, field_names, values)
        instance.__dict__["_audit_loaded"] = (field_names, values)
        return instance

    from_db.audit_tracking = True
    Model.from_db = classmethod(from_db)
    post_save.connect(_saved, dispatch_uid="audit_saved")
    post_delete.connect(_deleted, dispatch_uid="audit_deleted")


def _note(instance, state: str, *, created: bool = False) -> None:
    calls = _calls.get()
    if not calls:
        return
    key = (instance._meta.label_lower, instance.pk)
    after = _memory(instance)
    before = None if created else _loaded(instance)
    for call in calls:
        entry = call.touched.get(key)
        if entry is None:
            call.touched[key] = [before, instance, state, after]
        else:
            entry[1], entry[3] = instance, after
            if state == "delete" or entry[2] != "create":
                entry[2] = state
    if state != "delete":
        instance.__dict__["_audit_loaded"] = after


def _saved(sender, instance, created, raw=False, **kwargs):
    if not raw and _calls.get():
        _note(instance, "create" if created else "update", created=created)


def _deleted(sender, instance, **kwargs):
    if _calls.get():
        _note(instance, "delete")


# --- the row ----------------------------------------------------------------------------------


class _WouldQuery(Exception):
    pass


def _refuse_queries(execute, sql, params, many, context):
    raise _WouldQuery


def _name(obj) -> str:
    """``str(obj)`` if naming it needs no query, else "". The refused query never runs (and
    is not logged as run: the debug cursor is off while naming)."""
    forced = connection.force_debug_cursor
    connection.force_debug_cursor = False
    try:
        with connection.execute_wrapper(_refuse_queries):
            return str(obj)[:200]
    except _WouldQuery:
        return ""
    except Exception:  # noqa: BLE001 - a name is never worth a failed sale
        return ""
    finally:
        connection.force_debug_cursor = forced


def _subject(obj, key) -> str:
    """Whose personal data a row about ``obj`` may hold: the client or lead itself, or the
    client an object belongs to."""
    label, pk = key
    if label in ("clients.client", "clients.lead"):
        return f"{label}:{pk}"
    client_id = obj.__dict__.get("client_id")
    if client_id:
        return f"clients.client:{client_id}"
    return ""


def _is_model(value) -> bool:
    return isinstance(value, Model)


def _argument(name: str, value, model) -> Any:
    if any(word in name for word in _SECRET_WORDS) or (
        model is not None and name in _secret_attnames(model)
    ):
        return fingerprint(value) if value not in ("", None) else value
    if isinstance(value, str):
        return value[:300]
    return _plain(value)


def _row(func_name, kind, call: _Call, arguments: dict, watched: list, result):
    """The row of one call. ``watched``: (name, instance, key) of the model instances among
    the arguments, keyed before the call (a deleted instance loses its pk)."""
    from django.contrib.auth import get_user_model

    from .context import current_actor, current_address, current_door
    from .models import AuditEvent, Kind

    primary, primary_key = call.obj, None
    if primary is None and _is_model(result) and result.pk is not None:
        primary = result
    if primary is not None:
        primary_key = (primary._meta.label_lower, primary.pk)
    elif watched:
        _name_, primary, primary_key = watched[0]

    changes: dict = {}
    data: dict = {}
    row_kind = kind
    used = set()
    if primary is not None:
        used.add(primary_key)
        entry = call.touched.get(primary_key)
        if entry is not None:
            before, _instance, state, after = entry
            changes = _diff(type(primary), before, after)
            if row_kind is None:
                row_kind = {"create": Kind.CREATE, "delete": Kind.DELETE}.get(state)
    for name, value, key in watched:
        if key in used:
            continue
        used.add(key)
        entry = call.touched.get(key)
        if entry is not None:
            delta = _diff(type(value), entry[0], entry[3])
            if delta or entry[2] == "delete":
                data[name] = {"object": "{}:{}".format(*key), "changes": delta}
                if entry[2] == "delete":
                    data[name]["deleted"] = True
    others = [
        f"{label}:{pk} {entry[2]}"
        for (label, pk), entry in call.touched.items()
        if (label, pk) not in used and label != "audit.auditevent"
    ]
    if others:
        data["saved"] = others[:_MAX_OTHERS]
        if len(others) > _MAX_OTHERS:
            data["saved_more"] = len(others) - _MAX_OTHERS
    model = type(primary) if primary is not None else None
    plain = {
        name: _argument(name, value, model)
        for name, value in arguments.items()
        if name not in _ACTOR_KWARGS
        and not _is_model(value)
        and isinstance(value, str | int | float | bool | decimal.Decimal)
    }
    if plain:
        data["arguments"] = plain
    if primary is None and type(result) is int:
        data["count"] = result
    changes.update(call.changes)
    data.update(call.data)
    if row_kind == Kind.ERASE:  # the row of an erasure keeps which fields went, not the values
        changes = {name: ["", ""] for name in changes}
        data = {k: v for k, v in data.items() if k not in ("arguments",)}

    actor = next((arguments[n] for n in _ACTOR_KWARGS if arguments.get(n) is not None), None)
    if actor is None:
        actor = current_actor()
    if actor is not None and (
        not isinstance(actor, get_user_model()) or not actor.is_authenticated
    ):
        actor = None
    return AuditEvent(
        actor=actor,
        actor_name=(actor.get_username() if actor is not None else "")[:150],
        address=current_address(),
        door=current_door(),
        kind=row_kind or (Kind.UPDATE if changes else Kind.ACTION),
        action=func_name[:80],
        object_type=primary_key[0] if primary is not None else "",
        object_id=str(primary_key[1])[:64] if primary is not None else "",
        object_repr=_name(primary) if primary is not None else "",
        changes=_plain(changes),
        data=_plain(data),
        subject=(_subject(primary, primary_key) if primary is not None else "")[:80],
    )


def _flush(rows: list) -> None:
    from .models import AuditEvent

    if rows:
        AuditEvent.objects.bulk_create(rows)


# --- the API ----------------------------------------------------------------------------------


def service(fn=None, *, kind: str | None = None):
    """Decorate a writing service so that every successful call leaves one audit row (see
    the module's text). Put it directly above ``def``, below ``@transaction.atomic``."""

    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            rows = _buffer.get()
            outermost = rows is None
            if outermost:
                rows = []
                buffer_token = _buffer.set(rows)
            start = len(rows)
            call = _Call()
            calls_token = _calls.set((*_calls.get(), call))
            try:
                arguments = signature.bind_partial(*args, **kwargs).arguments if args else kwargs
                watched = [
                    (name, value, (value._meta.label_lower, value.pk))
                    for name, value in arguments.items()
                    if name not in _ACTOR_KWARGS and _is_model(value) and value.pk is not None
                ]
                result = func(*args, **kwargs)
                rows.append(_row(func.__name__, kind, call, arguments, watched, result))
                if outermost:
                    _flush(rows)
            except BaseException:
                del rows[start:]
                raise
            finally:
                _calls.reset(calls_token)
                if outermost:
                    _buffer.reset(buffer_token)
            return result

        wrapper.audited = True
        return wrapper

    return decorate(fn) if fn is not None else decorate


def note(*, obj=None, changes: dict | None = None, data: dict | None = None) -> None:
    """Inside an audited service: name the row's object, or add changes (``{field: [old,
    new]}``) and details the service knows and the hooks cannot see (a queryset
    ``update()``, a file written). Outside one: nothing."""
    calls = _calls.get()
    if not calls:
        return
    call = calls[-1]
    if obj is not None:
        call.obj = obj
    call.changes.update(changes or {})
    call.data.update(data or {})


_SHOWN = (str, int, float, bool, decimal.Decimal, type(None))
# Most ids kept per update in the row (the count is always kept).
_MAX_IDS = 200


def update(queryset, *, where: dict | None = None, **values) -> int:
    """``queryset.update(**values)`` — a change the save hooks cannot see — recorded in the
    row of the audited service being run, with no query beyond the UPDATE: under
    ``data["bulk"]`` the model, ``where`` (how the rows were chosen, as the caller knows it:
    ``{"client": 12}``, ``{"ids": [...]}``), the new values (a computed value as its field
    name only) and how many rows changed. Outside an audited service, or when no row
    changed, nothing is recorded. Returns the count, as ``update()`` does."""
    rows = queryset.update(**values)
    calls = _calls.get()
    if not calls or not rows:
        return rows
    shown = {}
    for name, value in values.items():
        if _is_model(value):
            value = value.pk
        shown[name] = value if isinstance(value, _SHOWN) else "(computed)"
    entry = {"model": queryset.model._meta.label_lower, "set": shown, "rows": rows}
    if where:
        entry["where"] = {
            k: (v[:_MAX_IDS] if isinstance(v, list | tuple) else v) for k, v in where.items()
        }
    calls[-1].data.setdefault("bulk", []).append(entry)
    return rows


@contextlib.contextmanager
def door(name: str):
    """Name the door of the changes made inside (``with audit.door("import"): ...``)."""
    from .context import _door

    token = _door.set(name)
    try:
        yield
    finally:
        _door.reset(token)
