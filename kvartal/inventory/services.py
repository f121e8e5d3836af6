"""The only writers of inventory: units' data, prices and statuses, and the section generator.

Every function is keyword-only and atomic, appends its history rows in the same transaction,
and raises ``django.core.exceptions.ValidationError`` (bad data, keyed by field) or a
``DomainError`` (a rule refused the action). When it raises, nothing was changed.
``at`` lets imports and the demo generator date an event in the past; it defaults to now.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, connections, router, transaction
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kvartal import audit
from kvartal.core.errors import DomainError

from .models import (
    MANUAL_STATUSES,
    STATUS_TRANSITIONS,
    Building,
    Floor,
    LevelType,
    PriceBatch,
    PriceChange,
    Project,
    Section,
    StatusChange,
    Unit,
    UnitChange,
    UnitKind,
    UnitStatus,
    unit_code,
)
from .signals import history_written

BULK_BATCH = 500


class PriceLocked(DomainError):
    """The unit is held or sold: its price is the price it was taken at."""

    field = "price"


class InvalidStatusTransition(DomainError):
    field = "status"


class SectionLocked(DomainError):
    """A section with held or sold units cannot be generated again."""


def _bulk_history(model, rows: list, **options) -> list:
    """``bulk_create`` history rows and say so (``history_written``: webhooks listen)."""
    created = model.objects.bulk_create(rows, **options)
    history_written.send(sender=model, rows=created)
    return created


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def _locked(unit: Unit) -> Unit:
    """The unit row, re-read under a row lock (PostgreSQL) / the write transaction (SQLite)."""
    return unit_lock(unit_id=unit.pk)


# What the sales services read and write on a unit under its lock: its name (kind, number),
# its sales state (``unit_set_sales_state``) and its price. The hold path reads only these.
SALES_FIELDS = (
    "id",
    "kind",
    "number",
    "status",
    "status_changed_at",
    "hold_until",
    "price",
    "pending_price",
)


def unit_lock(*, unit_id: int, fields: Iterable[str] | None = None) -> Unit:
    """The unit row under a row lock: the one lock every sales operation takes first.

    PostgreSQL: ``SELECT … FOR UPDATE``. SQLite: the connection runs IMMEDIATE transactions,
    so the write lock is already held. Call inside ``transaction.atomic``. ``fields``: read
    only these columns (``SALES_FIELDS`` for the sales state; another one read later costs a
    query of its own); the whole row by default.
    """
    using = router.db_for_write(Unit)
    connection = connections[using]
    if connection.get_autocommit():  # as the ORM's select_for_update: no lock outside one
        raise TransactionManagementError(
            "select_for_update cannot be used outside of a transaction."
        )
    sql, names, converters = _lock_statement(connection, None if fields is None else tuple(fields))
    with connection.cursor() as cursor:
        cursor.execute(sql, [unit_id])
        row = cursor.fetchone()
    if row is None:
        raise Unit.DoesNotExist(f"{Unit._meta.object_name} matching query does not exist.")
    if converters:
        row = list(row)
        for position, (functions, expression) in converters:
            for function in functions:
                row[position] = function(row[position], expression, connection)
    return Unit.from_db(using, names, row)


# ``unit_lock``'s statement per database and columns, built by the ORM once per process:
# building it cost several times running it, on the lock every sales operation takes first.
_LOCK_STATEMENTS: dict = {}


def _lock_statement(connection, fields: tuple[str, ...] | None):
    """The ORM's own ``SELECT … FOR UPDATE`` of one unit by id (its one parameter), the
    columns' attribute names and the ORM's converters of their values."""
    key = (connection.alias, fields)
    found = _LOCK_STATEMENTS.get(key)
    if found is None:
        units = Unit.objects.using(connection.alias).select_for_update()
        if fields is not None:
            units = units.only(*fields)
        # no ordering: the model's default joins the section and floor, and FOR UPDATE would
        # lock their rows too (every hold of a floor waiting for the others)
        units = units.filter(pk=0).order_by()[:1]
        compiler = units.query.get_compiler(connection.alias)
        sql, params = compiler.as_sql()
        if list(params) != [0]:  # the id must be the statement's one parameter
            raise RuntimeError(f"unit_lock: unexpected parameters {params!r}")
        columns = [column for column, _sql, _alias in compiler.select]
        names = [column.target.attname for column in columns]
        converters = list(compiler.get_converters(columns).items())
        found = _LOCK_STATEMENTS[key] = (sql, names, converters)
    return found


def _lock_all(units: QuerySet) -> list[Unit]:
    """The selected unit rows, locked in id order (the same order everywhere: no deadlock).

    Re-selected by id so that a selection built with joins (a catalogue filter) can be locked:
    PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    """
    return list(Unit.objects.select_for_update().filter(pk__in=units.values("pk")).order_by("pk"))


def _round_price(value: Decimal, step: Decimal = Decimal(1)) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


# --- projects, buildings, floors -------------------------------------------------------


@transaction.atomic
@audit.service
def project_save(*, project: Project, by) -> Project:
    """Create or update a project after validating it."""
    project.full_clean()
    project.save()
    return project


@transaction.atomic
@audit.service
def building_save(*, building: Building, by) -> Building:
    """Create or update a building's passport data (its sections come from the generator)."""
    building.full_clean()
    building.save()
    return building


@transaction.atomic
@audit.service
def floor_save(*, floor: Floor, by, at: datetime | None = None) -> Floor:
    """Change a floor's label, level type or plan image.

    A level renamed to another number ("1" → "0") re-codes its units with that number
    (``1.0.001``), each with a ``UnitChange`` row; a code another unit of the building
    already has refuses the rename (``ValidationError`` on ``label``) and changes nothing.
    A label that is not a number ("M", "Тех.") leaves the codes as they are.
    """
    floor.full_clean()
    old = Floor.objects.filter(pk=floor.pk).values_list("label", flat=True).first()
    floor.save()
    if old is not None and old != floor.label:
        _recode_floor(floor, by=by, at=at)
    return floor


def _level_number(label: str) -> int | None:
    text = label.strip().replace("\u2212", "-")
    return int(text) if text.lstrip("-").isdigit() else None


def _recode_floor(floor: Floor, *, by, at: datetime | None) -> None:
    number = _level_number(floor.label)
    if number is None:
        return
    units = list(
        Unit.objects.select_for_update().filter(floor=floor).select_related("section").order_by()
    )
    changed = []
    for unit in units:
        code = unit_code(
            kind=unit.kind, section=unit.section.number, floor=number, position=unit.position
        )
        if code != unit.code:
            changed.append((unit, unit.code, code))
    if not changed:
        return
    taken = set(
        Unit.objects.filter(building_id=floor.section.building_id)
        .exclude(floor=floor)
        .filter(code__in=[new for _unit, _old, new in changed])
        .values_list("kind", "code")
    )
    clashes = sorted(new for unit, _old, new in changed if (unit.kind, new) in taken)
    if clashes:
        raise ValidationError(
            {
                "label": _("Codes already used in this building: %(codes)s.")
                % {"codes": ", ".join(clashes[:10])}
            }
        )
    # Two steps, so that swapping codes within the floor never meets the unique constraint.
    for unit, _old, _new in changed:
        unit.code = f"~{unit.pk}"
    Unit.objects.bulk_update([u for u, _o, _n in changed], ["code"], batch_size=BULK_BATCH)
    for unit, _old, new in changed:
        unit.code = new
    Unit.objects.bulk_update([u for u, _o, _n in changed], ["code"], batch_size=BULK_BATCH)
    when = _now(at)
    reason = _("Level renamed to %(label)s") % {"label": floor.label}
    _bulk_history(
        UnitChange,
        [
            UnitChange(unit=unit, at=when, actor=by, changes={"code": [old, new]}, reason=reason)
            for unit, old, new in changed
        ],
        batch_size=BULK_BATCH,
    )


# --- prices -------------------------------------------------------------------------------


@transaction.atomic
@audit.service
def unit_set_price(
    *, unit: Unit, price: Decimal, by, reason: str = "", at: datetime | None = None
) -> Unit:
    """Set a unit's current price and append a ``PriceChange`` row.

    On a reserved unit the hold keeps its price: the new one is kept as ``pending_price`` and
    applies when the unit is back on sale (``unit_set_sales_state``), also after a deal made
    from the hold is terminated. A reserved unit whose hold has run out is on sale already
    (its effective status): the price changes at once. Raises ``PriceLocked`` when the unit is
    in a deal or sold, ``ValidationError`` for a negative price or a zero price on a unit that
    is on sale. A price equal to the current one is a no-op.
    """
    unit = _locked(unit)
    price = Decimal(price)
    when = _now(at)
    run_out = unit.status == UnitStatus.RESERVED and unit.effective_status(when) != unit.status
    if unit.status == UnitStatus.RESERVED and not run_out:
        if price <= 0:
            raise ValidationError({"price": _("A unit on sale must have a price above zero.")})
        old = unit.pending_price
        unit.pending_price = None if price == unit.price else price
        if unit.pending_price != old:
            unit.save(update_fields=["pending_price"])
            UnitChange.objects.create(
                unit=unit,
                at=_now(at),
                actor=by,
                changes={"pending_price": [_display(old), _display(unit.pending_price)]},
                reason=reason,
            )
        return unit
    if unit.is_price_locked and not run_out:
        raise PriceLocked(_("The unit is in a deal or sold: its price is locked."))
    if price < 0 or (price == 0 and unit.status in (UnitStatus.AVAILABLE, UnitStatus.RESERVED)):
        raise ValidationError({"price": _("A unit on sale must have a price above zero.")})
    fields = ["price"]
    if unit.pending_price is not None:  # a run-out hold's pending price: this one replaces it
        unit.pending_price = None
        fields.append("pending_price")
    if price == unit.price:
        if len(fields) > 1:
            unit.save(update_fields=["pending_price"])
        return unit
    PriceChange.objects.create(
        unit=unit, at=when, actor=by, old_price=unit.price, new_price=price, reason=reason
    )
    unit.price = price
    unit.save(update_fields=fields)
    unit.refresh_from_db(fields=["price_per_m2"])
    return unit


@dataclass(frozen=True)
class PricePreview:
    unit: Unit
    old_price: Decimal
    new_price: Decimal
    # A held unit: the hold keeps its price; the new one is pending until the unit is back
    # on sale (``Unit.pending_price``).
    pending: bool = False


def units_price_preview(
    *,
    units: Iterable[Unit],
    percent: Decimal | None = None,
    per_m2_delta: Decimal | None = None,
    round_to: Decimal = Decimal(1),
) -> tuple[list[PricePreview], list[Unit]]:
    """What a bulk change would do: (changes, skipped). Units in a deal, sold and unpriced
    units are skipped. A held unit gets a pending price (``PricePreview.pending``): its hold
    keeps the old one, the new one applies when the unit is back on sale; the change counts
    from its pending price when it has one.

    ``percent`` multiplies the price by (1 + percent/100); ``per_m2_delta`` adds that many
    roubles per m² of total area. Exactly one of them must be given.
    """
    if (percent is None) == (per_m2_delta is None):
        raise ValidationError(_("Give either a percentage or an amount per m²."))
    changes, skipped = [], []
    now = timezone.now()
    for unit in units:
        held = unit.status == UnitStatus.RESERVED and unit.effective_status(now) == unit.status
        if price_skip_reason(unit, relative=True):
            skipped.append(unit)  # in a deal, sold, or never priced: a bulk change leaves it
            continue
        base = unit.pending_price if held and unit.pending_price is not None else unit.price
        if percent is not None:
            new = base * (1 + Decimal(percent) / 100)
        else:
            new = base + Decimal(per_m2_delta) * unit.total_area
        new = _round_price(new, round_to)
        if new <= 0:
            raise ValidationError(
                _("Unit %(number)s would get a price of zero or below.") % {"number": unit.number}
            )
        if new != base:
            changes.append(PricePreview(unit=unit, old_price=base, new_price=new, pending=held))
    return changes, skipped


# Why a bulk change leaves a unit (``price_skip_reason``): keys and their messages.
SKIP_LOCKED = "locked"
SKIP_UNPRICED = "unpriced"
SKIP_MOVED = "moved"
SKIP_ON_SALE = "on_sale"
SKIP_REASONS = {
    SKIP_LOCKED: gettext_lazy("in a deal or sold: it keeps the price it was taken at"),
    SKIP_UNPRICED: gettext_lazy(
        "no price yet: a change by percent or per m² needs one (use a price list)"
    ),
    SKIP_MOVED: gettext_lazy("its price changed after the batch was prepared"),
    SKIP_ON_SALE: gettext_lazy("on sale: it cannot go back to having no price"),
}


def price_skip_reason(unit: Unit, *, relative: bool) -> str | None:
    """Why a bulk change would leave ``unit`` (a key of ``SKIP_REASONS``), or ``None``.

    A unit in a deal or sold keeps its price. A *relative* change (by %, by ₽/m²) cannot
    start from an unpriced unit; a price list sets absolute prices and prices new stock.
    A held unit is not skipped: it gets a pending price (see ``unit_set_price``).
    """
    if unit.is_price_locked and unit.status != UnitStatus.RESERVED:
        return SKIP_LOCKED
    if relative and not unit.price:
        return SKIP_UNPRICED
    return None


@dataclass
class PricesResult:
    """What ``units_set_prices`` did: the batch (``None`` when nothing changed), the units
    whose price changed now, those that got a pending price (held), and those left with
    the reason (a key of ``SKIP_REASONS``)."""

    batch: PriceBatch | None
    changed: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def _write_prices(units: list[Unit]) -> None:
    """``price`` and ``pending_price`` of many locked units, one parameterised UPDATE per
    unit sent as one batch (``executemany``). Django's ``bulk_update`` builds a CASE
    expression per row in Python: 14 of 18 s for 5 000 prices on PostgreSQL, against well
    under a second this way."""
    table = connection.ops.quote_name(Unit._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET price = %s, pending_price = %s WHERE id = %s",
            [(u.price, u.pending_price, u.pk) for u in units],
        )


@transaction.atomic
@audit.service
def units_set_prices(
    *,
    prices: dict[int, Decimal],
    by,
    reason: str,
    description: str = "",
    expected: dict[int, Decimal] | None = None,
    allow_unpricing: bool = False,
    at: datetime | None = None,
) -> PricesResult:
    """Set absolute prices of many units in one batch: ``prices`` maps unit id → new price.

    The bulk door for price lists, approved batches, rollbacks and imports; it writes what
    ``unit_set_price`` writes (a ``PriceChange`` row per unit, all tied to one
    ``PriceBatch``; a held unit keeps its hold's price and gets the new one as
    ``pending_price`` with a ``UnitChange`` row). Unpriced units (new stock) are priced.
    Units in a deal or sold are left (``skipped``); with ``expected`` (unit id → price the
    caller saw), a unit whose price is no longer that is left too — a rollback never
    overwrites a later change. With ``allow_unpricing`` (a rollback of new stock's first
    prices) a price of 0 returns a unit that is not for sale to having no price; a unit on
    sale is left. Raises ``ValidationError`` (nothing written) when a price is negative,
    zero (unless allowed) or a unit does not exist.
    """
    when = _now(at)
    lowest = 0 if allow_unpricing else 1
    bad = sorted(pk for pk, p in prices.items() if p is None or Decimal(p) < lowest)
    if bad:
        raise ValidationError(
            _("A price must be greater than zero (units %(ids)s).")
            % {"ids": ", ".join(map(str, bad[:10]))}
        )
    locked = _lock_all(Unit.objects.filter(pk__in=list(prices)))
    if len(locked) != len(prices):
        raise ValidationError(_("Some of the units no longer exist."))
    result = PricesResult(batch=None)
    history, data_rows, touched = [], [], []
    for unit in locked:
        new = Decimal(prices[unit.pk])
        held = unit.status == UnitStatus.RESERVED and unit.effective_status(when) == unit.status
        current = unit.pending_price if held and unit.pending_price is not None else unit.price
        if expected is not None and unit.pk in expected and current != expected[unit.pk]:
            result.skipped[unit.pk] = SKIP_MOVED
            continue
        why = price_skip_reason(unit, relative=False)
        if not why and new == 0 and unit.status != UnitStatus.NOT_FOR_SALE:
            why = SKIP_ON_SALE
        if why:
            result.skipped[unit.pk] = why
            continue
        if new == current:
            continue
        if held:
            data_rows.append(
                UnitChange(
                    unit=unit,
                    at=when,
                    actor=by,
                    changes={"pending_price": [_display(unit.pending_price), _display(new)]},
                    reason=reason,
                )
            )
            unit.pending_price = None if new == unit.price else new
            result.pending.append(unit.pk)
        else:
            history.append(
                PriceChange(
                    unit=unit, at=when, actor=by, old_price=unit.price, new_price=new, reason=reason
                )
            )
            unit.price, unit.pending_price = new, None
            result.changed.append(unit.pk)
        touched.append(unit)
    if not touched:
        return result
    batch = PriceBatch.objects.create(
        at=when, actor=by, description=(description or reason)[:300], units_count=len(touched)
    )
    for row in history:
        row.batch = batch
    PriceChange.objects.bulk_create(history, batch_size=BULK_BATCH)
    UnitChange.objects.bulk_create(data_rows, batch_size=BULK_BATCH)
    _write_prices(touched)
    result.batch = batch
    return result


@transaction.atomic
@audit.service
def units_bulk_set_price(
    *,
    units: QuerySet,
    by,
    reason: str,
    percent: Decimal | None = None,
    per_m2_delta: Decimal | None = None,
    round_to: Decimal = Decimal(1),
    at: datetime | None = None,
) -> PriceBatch:
    """Change the prices of many units at once (by %, or by an amount per m²).

    Writes the same ``PriceChange`` rows as ``unit_set_price``, all tied to one ``PriceBatch``.
    A held unit keeps its hold's price and gets the new one as ``pending_price`` (a
    ``UnitChange`` row, as ``unit_set_price``), applied when it is back on sale. Units in a
    deal, sold and unpriced units keep their price and are left out. Raises
    ``ValidationError`` when any resulting price would be zero or below, or when no price
    would change (then nothing is written).
    """
    when = _now(at)
    locked = _lock_all(units)
    changes, _skipped = units_price_preview(
        units=locked, percent=percent, per_m2_delta=per_m2_delta, round_to=round_to
    )
    if not changes:
        raise ValidationError(_("No price in the selection would change."))
    if percent is not None:
        description = f"{Decimal(percent):+} % — {reason}"
    else:
        description = f"{Decimal(per_m2_delta):+} ₽/m² — {reason}"
    batch = PriceBatch.objects.create(
        at=when, actor=by, description=description[:300], units_count=len(changes)
    )
    now_priced = [c for c in changes if not c.pending]
    pending = [c for c in changes if c.pending]
    _bulk_history(
        PriceChange,
        [
            PriceChange(
                unit=c.unit,
                at=when,
                actor=by,
                old_price=c.old_price,
                new_price=c.new_price,
                reason=reason,
                batch=batch,
            )
            for c in now_priced
        ],
        batch_size=BULK_BATCH,
    )
    UnitChange.objects.bulk_create(
        [
            UnitChange(
                unit=c.unit,
                at=when,
                actor=by,
                changes={"pending_price": [_display(c.unit.pending_price), _display(c.new_price)]},
                reason=reason,
            )
            for c in pending
        ],
        batch_size=BULK_BATCH,
    )
    for c in now_priced:
        c.unit.price = c.new_price
        c.unit.pending_price = None  # a run-out hold's pending price is replaced
    for c in pending:
        c.unit.pending_price = None if c.new_price == c.unit.price else c.new_price
    _write_prices([c.unit for c in changes])
    return batch


# --- statuses -----------------------------------------------------------------------------


def _check_transition(unit: Unit, status: str) -> None:
    if status == unit.status:
        raise InvalidStatusTransition(
            _("The unit is already “%(status)s”.") % {"status": unit.get_status_display()}
        )
    if status not in STATUS_TRANSITIONS[unit.status]:
        raise InvalidStatusTransition(
            _("A unit cannot go from “%(old)s” to “%(new)s”.")
            % {"old": unit.get_status_display(), "new": UnitStatus(status).label}
        )
    if status == UnitStatus.AVAILABLE and unit.price <= 0:
        raise ValidationError({"price": _("Set a price before putting the unit on sale.")})


def _write_status(unit: Unit, status: str, *, by, reason: str, when: datetime) -> list[str]:
    """Under the caller's lock and transaction (no savepoint of its own): check the move,
    append the ``StatusChange`` row and set the new status on ``unit`` in memory. Returns the
    fields to save; the caller writes them in one ``UPDATE`` with anything else it changes."""
    _check_transition(unit, status)
    StatusChange.objects.create(
        unit=unit,
        at=when,
        actor=by,
        old_status=unit.status,
        new_status=status,
        price=unit.price,
        reason=reason,
    )
    unit.status, unit.status_changed_at = status, when
    return ["status", "status_changed_at"]


def _check_manual(unit: Unit, status: str) -> None:
    """The public status services move units by hand only between "not for sale" and
    "available". Reserved, in a deal and sold are the sales services' (a hold or a deal
    behind them, through ``unit_set_sales_state``)."""
    if unit.status not in MANUAL_STATUSES or status not in MANUAL_STATUSES:
        raise InvalidStatusTransition(
            _(
                "“%(old)s” → “%(new)s” is not a manual change: a unit is reserved, put in a "
                "deal, sold or released only through a hold or a deal."
            )
            % {"old": unit.get_status_display(), "new": UnitStatus(status).label}
        )


@transaction.atomic
@audit.service
def unit_set_status(
    *, unit: Unit, status: str, by, reason: str = "", at: datetime | None = None
) -> Unit:
    """Open or close a unit for sale by hand ("not for sale" ↔ "available") and append a
    history row.

    Raises ``InvalidStatusTransition`` for any other move (the sales statuses change only
    with a hold or a deal, ``unit_set_sales_state``), ``ValidationError`` when a unit without
    a price would go on sale.
    """
    unit = _locked(unit)
    if status in UnitStatus.values:
        _check_manual(unit, status)
    unit.save(update_fields=_write_status(unit, status, by=by, reason=reason, when=_now(at)))
    return unit


@transaction.atomic
@audit.service
def units_bulk_set_status(
    *, units: QuerySet, status: str, by, reason: str = "", at: datetime | None = None
) -> int:
    """``unit_set_status`` for many units at once (opening a section for sale, imports):
    manual moves only ("not for sale" ↔ "available").

    All or nothing: one unit that may not move refuses the whole batch. Returns the count.
    """
    when = _now(at)
    locked = _lock_all(units)
    for unit in locked:
        try:
            if status in UnitStatus.values:
                _check_manual(unit, status)
            _check_transition(unit, status)
        except (DomainError, ValidationError) as error:
            raise InvalidStatusTransition(
                _("Unit %(number)s: %(error)s")
                % {"number": unit.number, "error": "; ".join(_messages(error))}
            ) from error
    _bulk_history(
        StatusChange,
        [
            StatusChange(
                unit=u,
                at=when,
                actor=by,
                old_status=u.status,
                new_status=status,
                price=u.price,
                reason=reason,
            )
            for u in locked
        ],
        batch_size=BULK_BATCH,
    )
    ids = [u.pk for u in locked]
    for start in range(0, len(ids), BULK_BATCH):
        batch = ids[start : start + BULK_BATCH]
        audit.update(
            Unit.objects.filter(pk__in=batch),
            where={"ids": batch},
            status=status,
            status_changed_at=when,
        )
    return len(locked)


def _messages(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)]


@transaction.atomic(savepoint=False)
@audit.service
def unit_set_sales_state(
    *,
    unit: Unit,
    status: str,
    by,
    hold_until: datetime | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> Unit:
    """The sales services' one door into a unit: its status and, while reserved, the end of
    the hold.

    Contract: ``unit`` is the row the caller got from ``unit_lock`` in the transaction it is
    in now (and has not changed behind it); it is not locked or read again here. The caller's
    transaction is used as it is (no savepoint of its own: a refusal here rolls the caller's
    whole action back); called outside one, it opens its own.

    Moving to another status goes along ``STATUS_TRANSITIONS`` with a history row (as
    ``unit_set_status``); staying reserved only moves ``hold_until`` (a hold extended or
    passed to the next in the queue). A price set during a hold (``pending_price``) is kept
    while the unit is reserved, in a deal or sold, and applies with its own ``PriceChange``
    row ("price set during the hold") when the unit is back on sale, from whatever status
    (a hold ended, a deal terminated or moved to another unit). Everything that changes on
    the unit is written in one ``UPDATE`` (none when nothing changes).
    """
    when = _now(at)
    fields = []
    if status != unit.status:
        fields += _write_status(unit, status, by=by, reason=reason, when=when)
    hold_until = hold_until if status == UnitStatus.RESERVED else None
    if hold_until != unit.hold_until:
        unit.hold_until = hold_until
        fields.append("hold_until")
    pending = unit.pending_price
    if status == UnitStatus.AVAILABLE and pending is not None:
        unit.pending_price = None
        fields.append("pending_price")
        if pending != unit.price:
            PriceChange.objects.create(
                unit=unit,
                at=when,
                actor=by,
                old_price=unit.price,
                new_price=pending,
                reason=_("Price set during the hold"),
            )
            unit.price = pending
            fields.append("price")
    if fields:
        unit.save(update_fields=fields)
    if "price" in fields:
        unit.refresh_from_db(fields=["price_per_m2"])
    return unit


def manual_statuses_for(unit: Unit) -> list[str]:
    """The statuses an inventory keeper may move this unit to by hand: opening and closing
    sales. A held or sold unit leaves its status only through the sales operations."""
    if unit.status not in MANUAL_STATUSES:
        return []
    return [s for s in STATUS_TRANSITIONS[unit.status] if s in MANUAL_STATUSES]


# --- unit data ----------------------------------------------------------------------------

# Fields an edit may touch; price and status have their own services.
EDITABLE_FIELDS = (
    "number",
    "kind",
    "floor",
    "position",
    "rooms",
    "total_area",
    "living_area",
    "kitchen_area",
    "bti_area",
    "length",
    "width",
    "ceiling_height",
    "finishing",
    "view",
    "has_balcony",
    "principal",
    "special_conditions",
    "layout",
    "plan_region",
)


def _display(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "pk"):
        return str(value)
    if isinstance(value, File):  # a file; an empty field's file has no url to ask for
        return value.name or None
    return str(value)


def _comparable(value):
    return ("pk", value.pk) if hasattr(value, "pk") else _display(value)


@transaction.atomic
@audit.service
def unit_update(
    *, unit: Unit, by, data: dict, reason: str = "", at: datetime | None = None
) -> Unit:
    """Change a unit's data (not price or status) and append a ``UnitChange`` row.

    Validates with the model's rules (areas, number unique in the building, floor inside the
    section); raises ``ValidationError`` keyed by field and changes nothing on failure.
    Moving to another floor re-computes the code.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    current = _locked(unit)
    changes = {}
    for name, value in data.items():
        old = getattr(current, name)
        if _comparable(old) != _comparable(value):
            changes[name] = [_display(old), _display(value)]
            setattr(current, name, value)
    if not changes:
        return current
    current.code = unit_code(
        kind=current.kind,
        section=current.section.number,
        floor=current.floor.index,
        position=current.position,
    )
    current.full_clean(exclude=["price_per_m2"])
    current.save()
    UnitChange.objects.create(unit=current, at=_now(at), actor=by, changes=changes, reason=reason)
    return current


@transaction.atomic
@audit.service
def units_set_plan_regions(
    *, regions: dict[int, str], by, reason: str = "", at: datetime | None = None
) -> int:
    """Place many units on their floor plan at once (``plan_region`` by unit id): what
    ``unit_update(data={"plan_region": …})`` writes for each, one ``UnitChange`` per unit
    whose place changes, in two statements instead of a locked read, a validation and two
    writes per unit. Raises ``ValidationError`` and changes nothing when a region is not
    four numbers. Returns the number of units changed."""
    for region in regions.values():
        if region and Unit(plan_region=region).plan_box is None:
            raise ValidationError({"plan_region": _("Give four numbers: x,y,width,height.")})
    units = _lock_all(Unit.objects.filter(pk__in=list(regions)))
    changed = []
    for unit in units:
        new = regions[unit.pk]
        if unit.plan_region != new:
            changed.append((unit, {"plan_region": [_display(unit.plan_region), _display(new)]}))
            unit.plan_region = new
    Unit.objects.bulk_update([unit for unit, _ in changed], ["plan_region"], batch_size=500)
    when = _now(at)
    _bulk_history(
        UnitChange,
        [
            UnitChange(unit=unit, at=when, actor=by, changes=changes, reason=reason)
            for unit, changes in changed
        ],
        batch_size=500,
    )
    return len(changed)


# --- the section generator ----------------------------------------------------------------


@dataclass
class UnitSpec:
    """What one unit looks like: a riser (on typical floors) or a unit of a non-typical floor."""

    position: int
    total_area: Decimal
    rooms: int | None = None
    living_area: Decimal | None = None
    kitchen_area: Decimal | None = None
    kind: str = UnitKind.APARTMENT
    floor: int | None = None  # only for non-typical units


# How a developer numbers the units of a section: the sort key of (floor, spec) places.
NUMBERING_ORDERS = {
    "left_to_right": lambda place: (place[0].index, place[1].position),
    "right_to_left": lambda place: (place[0].index, -place[1].position),
    "by_riser": lambda place: (place[1].position, place[0].index),
}


@dataclass
class SectionPlan:
    """A section to generate.

    Floors 1…``floors`` above ground (and −1…−``underground`` below, and a level 0 between
    them with ``ground_level``: a parking's "уровень 0"). Floors ``typical_from``…
    ``typical_to`` (default: up to the top; underground levels may be typical too) repeat the
    ``risers``: one unit per riser per floor, with the riser's characteristics. Every other
    floor gets the units listed in ``non_typical`` (each with its ``floor``). Apartments are
    numbered from ``first_number`` (default: after the building's last apartment) in the
    ``numbering`` order (default: bottom-up, left to right); other kinds have their own
    sequences (in a parking structure ``first_number`` numbers the spaces).
    ``skip_floor_labels`` lists floor numbers the developer skips (e.g. 13): labels jump over
    them while the physical index stays contiguous.
    """

    number: int
    floors: int
    typical_from: int = 2
    typical_to: int | None = None
    risers: list[UnitSpec] = field(default_factory=list)
    non_typical: list[UnitSpec] = field(default_factory=list)
    underground: int = 0
    ground_level: bool = False
    first_number: int | None = None
    skip_floor_labels: list[int] = field(default_factory=list)
    price_per_m2: Decimal | None = None
    floor_price_step: Decimal = Decimal(0)  # percent added per floor above ``floor_price_from``
    # The floor whose units cost ``price_per_m2``; each floor above it adds a step, floors
    # below it (a commercial ground floor) get none. Default: the first typical floor.
    floor_price_from: int | None = None
    name: str = ""
    numbering: str = "left_to_right"  # a key of NUMBERING_ORDERS

    def price_factor(self, index: int) -> Decimal:
        """The floor's multiplier of ``price_per_m2``: 1 up to the step's first floor, then
        ``floor_price_step`` % more per floor above it."""
        start = self.floor_price_from
        if start is None:
            start = self.typical_from if self.risers else 1
        return 1 + Decimal(self.floor_price_step) * max(index - start, 0) / 100

    def floor_indexes(self) -> list[int]:
        ground = [0] if self.ground_level else []
        return [*range(-self.underground, 0), *ground, *range(1, self.floors + 1)]

    def typical_top(self) -> int:
        if self.typical_to is not None:
            return self.typical_to
        indexes = self.floor_indexes()
        return indexes[-1] if indexes else 0

    def is_typical(self, index: int) -> bool:
        return self.typical_from <= index <= self.typical_top()

    def validate(self) -> None:
        errors: dict[str, list[str]] = {}

        def err(name, message):
            errors.setdefault(name, []).append(message)

        if self.number < 1:
            err("number", _("The section number starts at 1."))
        if not 0 <= self.floors <= 200:
            err("floors", _("A section has from 0 to 200 floors above ground."))
        elif self.floors + self.underground + self.ground_level < 1:
            err("floors", _("A section needs at least one floor or level."))
        if not 0 <= self.underground <= 10:
            err("underground", _("From 0 to 10 underground levels."))
        indexes = self.floor_indexes() or [1]
        if self.risers and not indexes[0] <= self.typical_from <= self.typical_top() <= indexes[-1]:
            err(
                "typical_from",
                _("Typical floors must lie between the lowest level and the top floor."),
            )
        positions = [r.position for r in self.risers]
        if len(positions) != len(set(positions)):
            err("risers", _("Two risers have the same position."))
        valid_floors = set(self.floor_indexes())
        seen = set()
        for spec in self.risers + self.non_typical:
            where = "risers" if spec.floor is None else "non_typical"
            if spec.position < 1:
                err(where, _("Positions are counted from 1."))
            if spec.total_area is None or spec.total_area <= 0:
                err(where, _("Areas must be greater than zero."))
            elif spec.living_area is not None and spec.living_area > spec.total_area:
                err(where, _("Living area cannot exceed the total area."))
            for value in (spec.living_area, spec.kitchen_area):
                if value is not None and value <= 0:
                    err(where, _("Areas must be greater than zero."))
            if spec.floor is not None:
                if spec.floor not in valid_floors:
                    err(
                        "non_typical",
                        _("Floor %(floor)s is outside the section.") % {"floor": spec.floor},
                    )
                elif self.risers and self.is_typical(spec.floor):
                    err(
                        "non_typical",
                        _("Floor %(floor)s is typical: it is filled by the risers.")
                        % {"floor": spec.floor},
                    )
                key = (spec.floor, spec.position, spec.kind)
                if key in seen:
                    err(
                        "non_typical",
                        _("Two units share floor %(floor)s, position %(pos)s.")
                        % {"floor": spec.floor, "pos": spec.position},
                    )
                seen.add(key)
        if self.numbering not in NUMBERING_ORDERS:
            err("numbering", _("Unknown numbering order."))
        if not self.risers and not self.non_typical:
            err("risers", _("Describe at least one riser or one unit."))
        if self.price_per_m2 is not None and self.price_per_m2 <= 0:
            err("price_per_m2", _("The price per m² must be greater than zero."))
        if errors:
            raise ValidationError({k: list(dict.fromkeys(v)) for k, v in errors.items()})

    def labels(self) -> dict[int, str]:
        labels, number = {}, 0
        skip = set(self.skip_floor_labels)
        for index in range(1, self.floors + 1):
            number += 1
            while number in skip:
                number += 1
            labels[index] = str(number)
        for index in range(-self.underground, 1 if self.ground_level else 0):
            labels[index] = str(index)
        return labels


def _next_numbers(building: Building, exclude_section: Section | None) -> dict[str, int]:
    """The next free number per unit kind in the building (numbers that are digits)."""
    numbers: dict[str, int] = {}
    rows = Unit.objects.filter(building=building)
    if exclude_section is not None:
        rows = rows.exclude(section=exclude_section)
    for kind, number in rows.values_list("kind", "number"):
        if number.isdigit():
            numbers[kind] = max(numbers.get(kind, 0), int(number))
    return {kind: n + 1 for kind, n in numbers.items()}


@transaction.atomic
@audit.service
def section_generate(
    *, building: Building, plan: SectionPlan, by, at: datetime | None = None
) -> Section:
    """Create (or re-create) a section with its floors and every unit, numbered and coded.

    Re-generating an existing section replaces it only while every unit in it is "not for
    sale" or "available"; otherwise raises ``SectionLocked`` and changes nothing. Raises
    ``ValidationError`` (keyed by plan field) for an impossible plan. With ``price_per_m2``
    the units are priced (plus ``floor_price_step`` % per floor above ``floor_price_from``,
    by default the first typical floor) and put on sale.
    """
    plan.validate()
    when = _now(at)
    building = Building.objects.select_for_update().get(pk=building.pk)
    section = Section.objects.filter(building=building, number=plan.number).first()
    if section is not None:
        taken = section.units.exclude(
            status__in=[UnitStatus.NOT_FOR_SALE, UnitStatus.AVAILABLE]
        ).count()
        if taken:
            raise SectionLocked(
                ngettext(
                    "Section %(number)s has %(count)s reserved or sold unit: "
                    "it cannot be generated again.",
                    "Section %(number)s has %(count)s reserved or sold units: "
                    "it cannot be generated again.",
                    taken,
                )
                % {"number": plan.number, "count": taken}
            )
        section.units.all().delete()
        section.floors.all().delete()
        section.name = plan.name
        section.save(update_fields=["name"])
    else:
        section = Section.objects.create(building=building, number=plan.number, name=plan.name)
    next_number = _next_numbers(building, exclude_section=section)
    if plan.first_number is not None:
        main = UnitKind.PARKING if building.is_parking else UnitKind.APARTMENT
        next_number[main] = plan.first_number
    labels = plan.labels()
    floors = Floor.objects.bulk_create(
        [
            Floor(
                section=section,
                index=index,
                label=labels[index],
                level_type=LevelType.UNDERGROUND if index < 0 else LevelType.ABOVE_GROUND,
                is_typical=bool(plan.risers) and plan.is_typical(index),
            )
            for index in plan.floor_indexes()
        ]
    )
    by_floor: dict[int, list[UnitSpec]] = {}
    for spec in plan.non_typical:
        by_floor.setdefault(spec.floor, []).append(spec)
    places = [
        (floor, spec)
        for floor in floors
        for spec in (plan.risers if floor.is_typical else by_floor.get(floor.index, []))
    ]
    places.sort(key=NUMBERING_ORDERS[plan.numbering])
    units = []
    for floor, spec in places:
        number = next_number.get(spec.kind, 1)
        next_number[spec.kind] = number + 1
        price = Decimal(0)
        if plan.price_per_m2:
            factor = plan.price_factor(floor.index)
            price = _round_price(spec.total_area * plan.price_per_m2 * factor, Decimal(1000))
        units.append(
            Unit(
                building=building,
                section=section,
                floor=floor,
                kind=spec.kind,
                number=str(number),
                code=unit_code(
                    kind=spec.kind,
                    section=plan.number,
                    floor=floor.index,
                    position=spec.position,
                ),
                position=spec.position,
                rooms=spec.rooms if spec.kind == UnitKind.APARTMENT else None,
                total_area=spec.total_area,
                living_area=spec.living_area,
                kitchen_area=spec.kitchen_area,
                price=price,
                status=UnitStatus.AVAILABLE if price else UnitStatus.NOT_FOR_SALE,
                status_changed_at=when,
                created_by=by,
            )
        )
    _check_numbers_free(building, section, units)
    units = Unit.objects.bulk_create(units, batch_size=BULK_BATCH)
    _record_creation(units, by=by, at=when)
    return section


def _check_numbers_free(building: Building, section: Section, units: list[Unit]) -> None:
    taken = set(
        Unit.objects.filter(building=building)
        .exclude(section=section)
        .values_list("kind", "number")
    )
    clashes = sorted({u.number for u in units if (u.kind, u.number) in taken}, key=_natural)
    if clashes:
        raise ValidationError(
            {
                "first_number": _("Numbers already used in this building: %(numbers)s.")
                % {"numbers": ", ".join(clashes[:10])}
            }
        )


def _natural(number: str):
    return (0, int(number), "") if number.isdigit() else (1, 0, number)


def _record_creation(units: list[Unit], *, by, at: datetime) -> None:
    """History of who entered the data: a creation row, and the first status if on sale."""
    UnitChange.objects.bulk_create(
        [UnitChange(unit=u, at=at, actor=by, changes={}) for u in units],
        batch_size=BULK_BATCH,
    )
    _bulk_history(
        StatusChange,
        [
            StatusChange(
                unit=u,
                at=at,
                actor=by,
                old_status="",
                new_status=u.status,
                price=u.price,
            )
            for u in units
        ],
        batch_size=BULK_BATCH,
    )


@transaction.atomic
@audit.service
def unit_create(*, floor: Floor, by, data: dict, at: datetime | None = None) -> Unit:
    """Add one unit to a floor by hand (a non-typical layout after generation).

    The unit starts "not for sale" without a price. Raises ``ValidationError`` keyed by field.
    """
    section = floor.section
    unit = Unit(
        building_id=section.building_id,
        section=section,
        floor=floor,
        created_by=by,
        status=UnitStatus.NOT_FOR_SALE,
        **{k: v for k, v in data.items() if k in EDITABLE_FIELDS and k != "floor"},
    )
    unit.code = unit_code(
        kind=unit.kind, section=section.number, floor=floor.index, position=unit.position
    )
    unit.full_clean(exclude=["price_per_m2"])
    unit.status_changed_at = _now(at)
    unit.save()
    _record_creation([unit], by=by, at=_now(at))
    return unit


# --- imports ------------------------------------------------------------------------------


@transaction.atomic
@audit.service
def units_import(
    *,
    create: list[Unit],
    update: dict[int, dict],
    by,
    reason: str = "",
    at: datetime | None = None,
) -> tuple[int, int]:
    """The bulk door of an import: create ``create`` (unsaved units with building, section,
    floor and data; price 0, "not for sale") and change the data of existing units
    (``update``: unit id → {field: value}, fields of ``EDITABLE_FIELDS``). Writes what
    ``unit_create`` and ``unit_update`` write — a creation ``UnitChange`` and the first
    ``StatusChange`` per new unit, a ``UnitChange`` with old → new per changed unit — in a
    constant number of statements per 500 units. The caller validated the rows (field by
    field, and the model's ``clean`` rules); the database constraints are the backstop.
    Raises ``ValidationError`` when a number or code is taken in its building (nothing is
    written). Returns (created, changed).
    """
    when = _now(at)
    for unit in create:
        unit.code = unit_code(
            kind=unit.kind,
            section=unit.section.number,
            floor=unit.floor.index,
            position=unit.position,
        )
        unit.price, unit.status, unit.status_changed_at = Decimal(0), UnitStatus.NOT_FOR_SALE, when
        unit.created_by = by
    unknown = {name for data in update.values() for name in data} - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    locked = {u.pk: u for u in _lock_all(Unit.objects.filter(pk__in=list(update)))}
    if len(locked) != len(update):
        raise ValidationError(_("Some of the units no longer exist."))
    rows, changed = [], []
    fields: set[str] = set()
    for pk, data in update.items():
        unit, diff = locked[pk], {}
        for name, value in data.items():
            old = getattr(unit, name)
            if _comparable(old) != _comparable(value):
                diff[name] = [_display(old), _display(value)]
                setattr(unit, name, value)
        if diff:
            fields |= set(diff)
            if {"floor", "position", "kind"} & set(diff):
                unit.code = unit_code(
                    kind=unit.kind,
                    section=unit.section.number,
                    floor=unit.floor.index,
                    position=unit.position,
                )
                fields.add("code")
            changed.append(unit)
            rows.append(UnitChange(unit=unit, at=when, actor=by, changes=diff, reason=reason))
    _check_import_clashes(create, changed)
    created = Unit.objects.bulk_create(create, batch_size=BULK_BATCH)
    _record_creation(created, by=by, at=when)
    if changed:
        Unit.objects.bulk_update(changed, sorted(fields), batch_size=BULK_BATCH)
        UnitChange.objects.bulk_create(rows, batch_size=BULK_BATCH)
    return len(created), len(changed)


def _check_import_clashes(create: list[Unit], changed: list[Unit]) -> None:
    """Numbers and codes stay unique per building and kind: against each other and against
    the units already there (one query per building)."""
    mine = {u.pk for u in changed}
    wanted: dict[int, list[Unit]] = {}
    for unit in [*create, *changed]:
        wanted.setdefault(unit.building_id, []).append(unit)
    errors = []
    for building_id, units in wanted.items():
        taken_numbers, taken_codes = set(), set()
        for pk, kind, number, code in Unit.objects.filter(building_id=building_id).values_list(
            "pk", "kind", "number", "code"
        ):
            if pk not in mine:
                taken_numbers.add((kind, number))
                taken_codes.add((kind, code))
        for unit in units:
            if (unit.kind, unit.number) in taken_numbers:
                errors.append(
                    _("Number %(number)s is already used in this building.")
                    % {"number": unit.number}
                )
            if (unit.kind, unit.code) in taken_codes:
                errors.append(
                    _("Code %(code)s is already used in this building.") % {"code": unit.code}
                )
            taken_numbers.add((unit.kind, unit.number))
            taken_codes.add((unit.kind, unit.code))
    if errors:
        raise ValidationError(errors[:20])


@transaction.atomic
@audit.service
def places_ensure(*, building: Building, places: Iterable[tuple[int, int]]) -> dict:
    """The floors (section number, floor index) of a building, creating the sections and
    floors an import names that do not exist yet (labelled by their index; below ground when
    negative). Returns {(section number, floor index): Floor}."""
    wanted: dict[int, set[int]] = {}
    for number, index in places:
        wanted.setdefault(number, set()).add(index)
    sections = {s.number: s for s in Section.objects.filter(building=building)}
    for number in sorted(set(wanted) - set(sections)):
        sections[number] = Section.objects.create(building=building, number=number)
    floors = {
        (f.section.number, f.index): f
        for f in Floor.objects.filter(section__building=building).select_related("section")
    }
    missing = [
        Floor(
            section=sections[number],
            index=index,
            label=str(index),
            level_type=LevelType.UNDERGROUND if index < 0 else LevelType.ABOVE_GROUND,
        )
        for number, indexes in wanted.items()
        for index in sorted(indexes)
        if (number, index) not in floors
    ]
    for floor in Floor.objects.bulk_create(missing, batch_size=BULK_BATCH):
        floors[floor.section.number, floor.index] = floor
    return floors
