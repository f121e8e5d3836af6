"""What the showcase keeps in the shared cache, and when it is thrown away.

Only public data is kept: what a unit page shows every visitor (the unit, its shown price
and public status, the ways to pay at the default terms, rendered) and what a catalogue
query finds (the page of units with their shown prices and the count). Nothing of a visitor
(favourites, comparison, the request form's stamp, the CSRF token) is ever cached.

One read per page: ``cache.get_many`` of the entry and the generations it was built at.

- A unit's entries (one per language, both A/B variants of its terms in it) are deleted when
  the unit changes: its history rows (status, price, data — ``post_save``, and inventory's
  ``history_written`` for rows written in bulk), a save of the unit row, a hold or a deal.
- Each unit has its own generation, which moves with the unit's change as well: its unit
  pages (rendered whole for anonymous visitors, one per language and host) are read against
  it, so a hold or a sale shows on the next view whatever page was kept.
- The **units** generation moves with any unit's change: the catalogue's entries (which
  list many units) are read against it.
- The **settings** generation moves when what every page shows changes: promotions, the
  marketer's settings, programmes, plans, experiments, projects, buildings, sections, floors.

Each entry also carries the moment it stops being true by itself: the end of the day
(promotions run by date), a hold that runs out (its unit reads "available" at once), and at
most ``TTL`` seconds (a page that read just before a change committed may keep what it read
until then). Invalidation happens after the commit, outside the services' transactions.
"""

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

TTL = 60
# The shape of what is kept: raised with any change of it, so that a server of the new code
# never reads an entry an older one wrote (they share the cache during a deploy).
SHAPE = 2
PREFIX = f"showcase:{SHAPE}:"
SETTINGS_GEN = PREFIX + "gen:settings"
UNITS_GEN = PREFIX + "gen:units"
# More units than this changed at once (a price list): move the generations instead of
# deleting every unit's entries one by one.
BULK_LIMIT = 200


def unit_key(unit_id: int, language: str) -> str:
    return f"{PREFIX}unit:{unit_id}:{language}"


def unit_gen(unit_id: int) -> str:
    """The unit's own generation: moves at once (after the commit) with any change of it."""
    return f"{PREFIX}gen:unit:{unit_id}"


def page_key(unit_id: int, language: str, origin: str) -> str:
    """The unit page rendered for an anonymous visitor, its visitor's parts left as slots."""
    return f"{PREFIX}page:{unit_id}:{language}:{origin}"


def catalogue_key(digest: str) -> str:
    return f"{PREFIX}cat:{digest}"


def catalogue_page_key(digest: str) -> str:
    """The catalogue page rendered for an anonymous visitor (its visitor's parts as slots)."""
    return f"{PREFIX}catpage:{digest}"


def end_of_day(now: datetime) -> datetime:
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return midnight


def read(key: str, *generations: str):
    """The entry under ``key`` if it was built at the current ``generations`` and has not run
    out, else ``None``; and the current generations (for ``write``). One cache read."""
    found = cache.get_many([key, *generations])
    current = {}
    for gen in generations:
        if gen not in found:  # never set, or evicted: start anew, never reuse an old number
            fresh = time.time_ns()
            found[gen] = fresh if cache.add(gen, fresh, None) else cache.get(gen)
        current[gen] = found[gen]
    entry = found.get(key)
    if (
        entry is None
        or entry.get("generations") != current
        or entry["valid_until"] <= timezone.now()
    ):
        return None, current
    return entry["data"], current


def write(key: str, data, generations: dict, *, valid_until: datetime | None = None) -> None:
    now = timezone.now()
    until = min(valid_until or now + timedelta(seconds=TTL), now + timedelta(seconds=TTL))
    until = min(until, end_of_day(now))
    entry = {"data": data, "generations": generations, "valid_until": until}
    cache.set(key, entry, max(1, int((until - now).total_seconds()) + 1))


# --- invalidation -------------------------------------------------------------------------
#
# A generation moves by being deleted: the next reader starts a fresh number (``read``: a
# missing generation gets ``time.time_ns()``, never used before), so entries built at the old
# one are not read again. Deleting costs one command for every key of a change together (one
# ``DELETE … IN`` with the database cache, one ``DEL`` with Redis), where moving each number
# in place cost a read and a write per generation — and every change wrote the same units row.


def _forget(keys: list[str]) -> None:
    cache.delete_many(keys)


def _unit_keys(ids) -> list[str]:
    if len(ids) > BULK_LIMIT:  # a price list: every page anew rather than thousands of keys
        return [UNITS_GEN, SETTINGS_GEN]
    languages = [code for code, _name in settings.LANGUAGES]
    keys = [unit_key(i, lang) for i in sorted(ids) for lang in languages]
    # the unit's own generation (its pages of every host and language) and the catalogue's
    return [*keys, *(unit_gen(i) for i in sorted(ids)), UNITS_GEN]


class _Pending:
    """The units one transaction changed, forgotten together right after its commit: one
    callback and one cache command per transaction, however many of its rows name a unit
    (a hold saves the hold, the unit and the unit's history row)."""

    __slots__ = ("done", "hooks", "ids", "savepoints")

    def __init__(self):
        self.ids: set[int] = set()
        self.done = False
        self.hooks: list | None = None  # the connection's list of callbacks it joined
        self.savepoints: list = []  # and the savepoints open then

    def __call__(self) -> None:
        self.done = True
        _forget(_unit_keys(self.ids))


def _savepoints(connection) -> list[str]:
    # ``atomic(savepoint=False)`` stacks a ``None``: no savepoint, nothing of its own to undo
    return [sid for sid in connection.savepoint_ids if sid is not None]


def units_changed(unit_ids) -> None:
    """After the commit: the units' entries go, and the catalogue's with them."""
    ids = {i for i in unit_ids if i is not None}
    if not ids:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _forget(_unit_keys(ids))
        return
    pending = getattr(connection, "showcase_pending", None)
    # Joined only while its callback is still to run with this transaction, from the same
    # savepoint. Django replaces the connection's list of callbacks whenever it drops some (a
    # savepoint or the transaction rolled back) or runs them (the commit): a new list, a new
    # callback. A nested ``atomic`` (a service called inside another's transaction) gets its
    # own, which goes with its savepoint if that is rolled back.
    if (
        pending is None
        or pending.done
        or pending.hooks is not connection.run_on_commit
        or pending.savepoints != _savepoints(connection)
    ):
        pending = connection.showcase_pending = _Pending()
        transaction.on_commit(pending)
        pending.hooks = connection.run_on_commit
        pending.savepoints = _savepoints(connection)
    pending.ids |= ids


def settings_changed() -> None:
    _now_and_after_commit(lambda: _forget([SETTINGS_GEN, UNITS_GEN]))


def _now_and_after_commit(forget) -> None:
    """After the commit (at once outside a transaction): never a query inside the service's
    own transaction, and never forgetting a change that is rolled back."""
    transaction.on_commit(forget)


def _on_unit(sender, instance, **kwargs):
    units_changed([instance.pk])


def _on_unit_row(sender, instance, **kwargs):
    units_changed([instance.unit_id])


def _on_history(sender, rows, **kwargs):
    units_changed([getattr(row, "unit_id", None) for row in rows])


def _on_settings(sender, **kwargs):
    settings_changed()


def connect() -> None:
    """Called from the app's ``ready``."""
    from kvartal.inventory.models import (
        Building,
        Floor,
        PriceChange,
        Project,
        Section,
        StatusChange,
        Unit,
        UnitChange,
    )
    from kvartal.inventory.signals import history_written
    from kvartal.sales.models import Deal, Hold, Promotion

    from .models import Experiment, InstalmentPlan, MortgageProgramme, ProjectShowcase

    uid = "showcase-cache-"
    for signal in (post_save, post_delete):
        signal.connect(_on_unit, sender=Unit, dispatch_uid=f"{uid}unit-{signal}")
        for model in (StatusChange, PriceChange, UnitChange, Hold, Deal):
            signal.connect(_on_unit_row, sender=model, dispatch_uid=f"{uid}{model.__name__}")
        for model in (
            Promotion,
            ProjectShowcase,
            MortgageProgramme,
            InstalmentPlan,
            Experiment,
            Project,
            Building,
            Section,
            Floor,
        ):
            signal.connect(_on_settings, sender=model, dispatch_uid=f"{uid}{model.__name__}")
    for model in (Promotion, MortgageProgramme, InstalmentPlan):
        for field in model._meta.many_to_many:
            m2m_changed.connect(
                _on_settings, sender=field.remote_field.through, dispatch_uid=f"{uid}m2m-{field}"
            )
    history_written.connect(_on_history, dispatch_uid=f"{uid}history")
