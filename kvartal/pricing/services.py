"""The writers of pricing: price lists, batches (propose, approve, schedule, reject, apply,
roll back), the sales plan and the rules.

Every function is keyword-only and atomic and raises ``ValidationError`` (bad data, keyed by
field) or a ``DomainError`` subclass (a rule refused the action); when it raises, nothing was
changed. Units' prices change only through ``inventory.services.units_set_prices``.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal import audit
from kvartal.accounts.models import Role
from kvartal.accounts.permissions import (
    PRICING_APPROVE,
    PRICING_CONFIGURE,
    PRICING_PROPOSE,
    has_capability,
)
from kvartal.core.errors import DomainError
from kvartal.inventory import services as inventory
from kvartal.inventory.models import (
    PRICE_LOCKED_STATUSES,
    Unit,
    UnitChange,
    UnitKind,
    UnitStatus,
)

from .models import (
    BATCH_TRANSITIONS,
    Approver,
    BaseRate,
    Batch,
    BatchLine,
    BatchSource,
    BatchStatus,
    Factor,
    FactorKind,
    PriceList,
    PricingSettings,
    Recommendation,
    RecommendationStatus,
    Rule,
    SalesPlan,
    StepMode,
)


class NotAllowed(DomainError):
    """The user may not take this decision."""


class BatchStateError(DomainError):
    """The batch is not in a state that allows this."""

    field = "status"


class BelowFloorPrice(DomainError):
    """A price would come out below the floor price per m²."""


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def _round(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


# --- price lists --------------------------------------------------------------------------


@dataclass
class Line:
    """One unit in a preview: its current price, the new one, and how it was computed; or
    why it is skipped (``skip``)."""

    unit: Unit
    old_price: Decimal
    new_price: Decimal | None = None
    explanation: str = ""
    skip: str = ""

    @property
    def delta(self) -> Decimal:
        return (self.new_price or self.old_price) - self.old_price


@dataclass
class Preview:
    lines: list[Line] = field(default_factory=list)

    @property
    def changes(self) -> list[Line]:
        return [ln for ln in self.lines if not ln.skip and ln.new_price != ln.old_price]

    @property
    def skipped(self) -> list[Line]:
        return [ln for ln in self.lines if ln.skip]

    @property
    def unchanged(self) -> int:
        return sum(1 for ln in self.lines if not ln.skip and ln.new_price == ln.old_price)

    @property
    def old_total(self) -> Decimal:
        """The stock's value now: the units the batch would change."""
        return sum((ln.old_price for ln in self.changes), Decimal(0))

    @property
    def new_total(self) -> Decimal:
        return sum((ln.new_price for ln in self.changes), Decimal(0))

    @property
    def revenue_change(self) -> Decimal:
        return self.new_total - self.old_total

    def skipped_by_reason(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for ln in self.skipped:
            counts[ln.skip] = counts.get(ln.skip, 0) + 1
        return sorted(counts.items())


def _price_list_units(price_list: PriceList):
    units = Unit.objects.filter(building=price_list.building)
    if price_list.section_id:
        units = units.filter(section=price_list.section_id)
    return units.select_related("floor", "section").order_by(
        "section__number", "floor__index", "position"
    )


def _rate_for(rates: list, unit: Unit):
    """The most specific base rate: same kind and rooms, else same kind with any rooms."""
    exact = [
        r for r in rates if r.kind == unit.kind and r.rooms is not None and r.rooms == unit.rooms
    ]
    if exact and unit.kind == UnitKind.APARTMENT:
        return exact[0]
    general = [r for r in rates if r.kind == unit.kind and r.rooms is None]
    return general[0] if general else None


def _factors_for(factors: list[Factor], unit: Unit) -> list[Factor]:
    matched = []
    for f in factors:
        if (
            f.kind == FactorKind.POSITION
            and f.value == str(unit.position)
            or f.kind == FactorKind.VIEW
            and unit.view
            and f.value == unit.view
            or f.kind == FactorKind.FINISHING
            and f.value == unit.finishing
        ):
            matched.append(f)
        elif f.kind == FactorKind.AREA:
            low = f.area_from if f.area_from is not None else Decimal(0)
            if unit.total_area >= low and (f.area_to is None or unit.total_area < f.area_to):
                matched.append(f)
    return matched


def price_list_check(price_list: PriceList) -> None:
    """The list's own rules: raises ``ValidationError`` keyed by field."""
    errors: dict[str, list[str]] = {}
    rates = list(price_list.rates.all())
    if not rates:
        errors.setdefault("rates", []).append(_("Give at least one base price per m²."))
    for r in rates:
        if r.per_m2 is None or r.per_m2 <= 0:
            errors.setdefault("rates", []).append(
                _("A base price per m² must be greater than zero.")
            )
    seen = set()
    for r in rates:
        key = (r.kind, r.rooms)
        if key in seen:
            errors.setdefault("rates", []).append(_("Two base prices for the same kind and rooms."))
        seen.add(key)
    for f in price_list.factors.all():
        if f.percent <= -100:
            errors.setdefault("factors", []).append(
                _("A coefficient cannot take off 100 per cent or more.")
            )
        if f.kind == FactorKind.AREA and (
            f.area_from is not None and f.area_to is not None and f.area_from >= f.area_to
        ):
            errors.setdefault("factors", []).append(_("An area band must end above its start."))
    if price_list.round_to is None or price_list.round_to < 1:
        errors.setdefault("round_to", []).append(_("Round to at least 1 ₽."))
    if errors:
        raise ValidationError({k: list(dict.fromkeys(v)) for k, v in errors.items()})


@transaction.atomic
@audit.service
def price_list_save(*, form, rates, factors, by) -> PriceList:
    """Save a price list with its base rates and coefficients (valid forms), then check the
    whole list (``price_list_check``): on a refusal nothing is saved."""
    if not has_capability(by, PRICING_PROPOSE):
        raise NotAllowed(_("You may not prepare price lists."))
    price_list = form.save(commit=False)
    if price_list.created_by_id is None:
        price_list.created_by = by
    price_list.save()
    rates.instance = factors.instance = price_list
    rates.save()
    factors.save()
    price_list_check(price_list)
    return price_list


def price_list_preview(*, price_list: PriceList, units=None) -> Preview:
    """Every unit of the list's building (or section) with its old and new price.

    new per m² = base (kind, rooms) + floor step (% of the base, or ₽/m², per floor above
    ``step_from_floor``), then × (1 + Σ coefficients %) of the matching position, view,
    finishing and area band; × total area; rounded to ``round_to``. Units in a deal or sold
    are skipped; units with no base rate for their kind are skipped. Raises
    ``BelowFloorPrice`` when any unit comes out below ``min_per_m2`` (nothing to apply),
    ``ValidationError`` when the list itself is invalid.
    """
    price_list_check(price_list)
    rates = list(price_list.rates.all())
    factors = list(price_list.factors.all())
    preview = Preview()
    below = []
    units = _price_list_units(price_list) if units is None else units
    for unit in units:
        line = Line(unit=unit, old_price=unit.price)
        preview.lines.append(line)
        if unit.status in PRICE_LOCKED_STATUSES and unit.status != UnitStatus.RESERVED:
            line.skip = str(inventory.SKIP_REASONS[inventory.SKIP_LOCKED])
            continue
        rate = _rate_for(rates, unit)
        if rate is None:
            line.skip = _("no base price for this kind and number of rooms")
            continue
        steps = max(unit.floor.index - price_list.step_from_floor, 0)
        per_m2 = rate.per_m2
        parts = [f"{rate.per_m2:.0f} ₽/m²"]
        if steps and price_list.step_value:
            if price_list.step_mode == StepMode.PERCENT:
                add = rate.per_m2 * price_list.step_value * steps / 100
                parts.append(f"+{steps}×{price_list.step_value}%")
            else:
                add = price_list.step_value * steps
                parts.append(f"+{steps}×{price_list.step_value:.0f} ₽/m²")
            per_m2 += add
        matched = _factors_for(factors, unit)
        percent = sum((f.percent for f in matched), Decimal(0))
        for f in matched:
            parts.append(f"{f.get_kind_display().lower()} {f.label()} {f.percent:+}%")
        per_m2 = per_m2 * (1 + percent / 100)
        new = _round(per_m2 * unit.total_area, price_list.round_to)
        line.new_price = new
        line.explanation = " ".join(parts)[:300]
        if new <= 0 or (price_list.min_per_m2 and new / unit.total_area < price_list.min_per_m2):
            below.append(unit)
    if below:
        raise BelowFloorPrice(
            _(
                "%(count)s units would cost less than the floor price of %(floor)s ₽/m² "
                "(first: %(numbers)s)."
            )
            % {
                "count": len(below),
                "floor": f"{price_list.min_per_m2 or 0:.0f}",
                "numbers": ", ".join(u.code for u in below[:5]),
            }
        )
    return preview


@transaction.atomic
@audit.service
def price_list_upload(*, price_list: PriceList, upload, by) -> Batch:
    """An edited price list file (``pricelist_file``) uploaded back: its settings, base
    prices and coefficients replace the list's, the list is checked and previewed as on the
    pages, and its changes become one batch awaiting approval. Raises ``NotAllowed``,
    ``ValidationError`` (every bad cell with its sheet, row and column; a list that breaks its
    rules; no price would change) or ``BelowFloorPrice`` — and then nothing is saved."""
    from . import pricelist_file, transfer

    if not has_capability(by, PRICING_PROPOSE):
        raise NotAllowed(_("You may not prepare price lists."))
    name = (getattr(upload, "name", "") or "").lower()
    if not name.endswith(".xlsx"):
        raise ValidationError({"file": _("Upload the .xlsx workbook of the price list.")})
    if upload.size > transfer.max_bytes():
        raise ValidationError(
            {
                "file": _("The file is %(size)s MB; the limit is %(limit)s MB.")
                % {
                    "size": round(upload.size / 1024 / 1024, 1),
                    "limit": transfer.max_bytes() // 1024 // 1024,
                }
            }
        )
    try:
        parsed = pricelist_file.read(upload)
    except transfer.ImportFileError as error:
        raise ValidationError({"file": str(error)}) from None
    if parsed.errors:
        raise ValidationError({"file": parsed.messages()[:50]})
    price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
    values = parsed.settings
    price_list.name = values["name"][:200]
    price_list.step_from_floor = values["step_from_floor"]
    price_list.step_mode = values["step_mode"]
    price_list.step_value = values.get("step_value") or Decimal(0)
    price_list.min_per_m2 = values.get("min_per_m2")
    price_list.round_to = values["round_to"]
    price_list.full_clean(exclude=["building", "section", "created_by"])
    price_list.save()
    price_list.rates.all().delete()
    price_list.factors.all().delete()
    rows = []
    for r in parsed.rates:
        rooms = r.get("rooms") if r["kind"] == UnitKind.APARTMENT else None
        rows.append(
            (
                parsed.sheets[1],
                r["_row"],
                BaseRate(price_list=price_list, kind=r["kind"], rooms=rooms, per_m2=r["per_m2"]),
            )
        )
    for f in parsed.factors:
        factor = Factor(
            price_list=price_list,
            kind=f["kind"],
            value=(f.get("value") or "") if f["kind"] != FactorKind.AREA else "",
            area_from=f.get("area_from"),
            area_to=f.get("area_to"),
            percent=f["percent"],
        )
        rows.append((parsed.sheets[2], f["_row"], factor))
    errors = []
    for sheet, row, obj in rows:
        try:
            obj.full_clean()
        except ValidationError as error:
            for column, messages in error.message_dict.items():
                errors += [
                    _("Sheet “%(sheet)s”, row %(row)s, %(column)s: %(message)s")
                    % {"sheet": sheet, "row": row, "column": column, "message": m}
                    for m in messages
                ]
        else:
            obj.save()
    if errors:
        raise ValidationError({"file": errors[:50]})
    preview = price_list_preview(price_list=price_list)
    return batch_propose(
        title=_("Price list “%(name)s” (file)") % {"name": price_list.name},
        source=BatchSource.PRICE_LIST,
        lines=preview.lines,
        price_list=price_list,
        by=by,
    )


# --- batches ------------------------------------------------------------------------------


def may_approve(user) -> bool:
    """The settings name who approves: a sales head, a director, or either; an
    administrator always may."""
    if not has_capability(user, PRICING_APPROVE):
        return False
    if user.is_superuser or user.role == Role.ADMIN:
        return True
    approver = PricingSettings.current().approver
    allowed = {
        Approver.SALES_HEAD: {Role.SALES_HEAD},
        Approver.DIRECTOR: {Role.DIRECTOR},
        Approver.EITHER: {Role.SALES_HEAD, Role.DIRECTOR},
    }[approver]
    return user.role in allowed


@transaction.atomic
@audit.service
def batch_propose(
    *,
    title: str,
    source: str,
    lines: list[Line],
    by,
    price_list: PriceList | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Batch:
    """Make a batch of the changing lines of a preview, awaiting approval. Raises
    ``NotAllowed`` for a user who may not propose, ``ValidationError`` when nothing would
    change."""
    if not has_capability(by, PRICING_PROPOSE):
        raise NotAllowed(_("You may not propose price changes."))
    changing = [ln for ln in lines if not ln.skip and ln.new_price != ln.old_price]
    if not changing:
        raise ValidationError(_("No price in the selection would change."))
    if any(ln.new_price is None or ln.new_price <= 0 for ln in changing):
        raise ValidationError(_("A price must be greater than zero."))
    batch = Batch.objects.create(
        title=title[:300],
        source=source,
        price_list=price_list,
        created_by=by,
        created_at=_now(at),
        note=note,
    )
    BatchLine.objects.bulk_create(
        [
            BatchLine(
                batch=batch,
                unit=ln.unit,
                old_price=ln.old_price,
                new_price=ln.new_price,
                explanation=ln.explanation[:300],
            )
            for ln in changing
        ],
        batch_size=inventory.BULK_BATCH,
    )
    return batch


class PriceLockedUnits(DomainError):
    """Some of the units are in a deal or sold: they keep the price they were taken at."""

    code = "price_locked"
    field = "items"


@transaction.atomic
@audit.service
def prices_propose(
    *,
    prices: dict[int, Decimal],
    by,
    title: str,
    source: str = BatchSource.API,
    at: datetime | None = None,
) -> Batch:
    """Propose absolute prices of many units (unit id → price) as one batch awaiting
    approval: the door of the API's price writes, approved, scheduled and rolled back as
    every other batch (nothing changes prices until an approver approves it). All or
    nothing: raises ``ValidationError`` for a missing unit, a price not above zero or when no
    price would change, ``PriceLockedUnits`` when a unit is in a deal or sold, ``NotAllowed``
    for a user who may not propose. A held unit's line starts from its pending price, as the
    bulk page's (the hold keeps its price; the new one waits until it is back on sale)."""
    if not has_capability(by, PRICING_PROPOSE):
        raise NotAllowed(_("You may not propose price changes."))
    units = Unit.objects.in_bulk(list(prices))
    missing = sorted(pk for pk in prices if pk not in units)
    if missing:
        raise ValidationError(
            {"items": _("Unknown units: %(ids)s.") % {"ids": ", ".join(map(str, missing[:20]))}}
        )
    locked = [
        u
        for u in units.values()
        if inventory.price_skip_reason(u, relative=False) == inventory.SKIP_LOCKED
    ]
    if locked:
        raise PriceLockedUnits(
            _("%(count)s units are in a deal or sold and keep their price: %(codes)s.")
            % {"count": len(locked), "codes": ", ".join(u.code for u in locked[:10])}
        )
    lines = []
    for pk, price in prices.items():
        unit = units[pk]
        old = unit.pending_price if unit.pending_price is not None else unit.price
        lines.append(Line(unit=unit, old_price=old, new_price=Decimal(price)))
    return batch_propose(title=title, source=source, lines=lines, by=by, at=at)


def _move(batch: Batch, status: str) -> None:
    if status not in BATCH_TRANSITIONS[batch.status]:
        raise BatchStateError(
            _("The batch is “%(status)s”: it cannot become “%(new)s”.")
            % {"status": batch.get_status_display(), "new": BatchStatus(status).label}
        )
    batch.status = status


def _lock(batch: Batch) -> Batch:
    return Batch.objects.select_for_update().get(pk=batch.pk)


@transaction.atomic
@audit.service
def batch_approve(
    *, batch: Batch, by, effective_at: datetime | None = None, at: datetime | None = None
) -> Batch:
    """Approve a batch: applied at once, or at ``effective_at`` by the job queue
    (``batches_apply_due``). Raises ``NotAllowed`` unless the settings name the user's role
    as approver, ``BatchStateError`` unless the batch awaits approval, ``ValidationError`` for
    an effective time in the past."""
    if not may_approve(by):
        raise NotAllowed(_("Only the approver named in the pricing settings may approve."))
    batch = _lock(batch)
    when = _now(at)
    if effective_at is not None and effective_at <= when:
        raise ValidationError({"effective_at": _("Choose a moment in the future.")})
    _move(batch, BatchStatus.SCHEDULED if effective_at else BatchStatus.APPLIED)
    batch.decided_by, batch.decided_at, batch.effective_at = by, when, effective_at
    if effective_at is None:
        _apply(batch, by=by, when=when)
    batch.save()
    return batch


@transaction.atomic
@audit.service
def batch_reject(*, batch: Batch, by, note: str = "", at: datetime | None = None) -> Batch:
    """Reject a batch awaiting approval (or a scheduled one before it applies)."""
    if not may_approve(by):
        raise NotAllowed(_("Only the approver named in the pricing settings may reject."))
    batch = _lock(batch)
    _move(batch, BatchStatus.REJECTED)
    batch.decided_by, batch.decided_at = by, _now(at)
    if note:
        batch.note = f"{batch.note}\n{note}".strip()
    batch.save()
    return batch


def _apply(batch: Batch, *, by, when: datetime) -> None:
    lines = list(batch.lines.all())
    result = inventory.units_set_prices(
        prices={ln.unit_id: ln.new_price for ln in lines},
        expected={ln.unit_id: ln.old_price for ln in lines},
        by=by,
        reason=batch.title,
        description=_("Batch %(id)s: %(title)s") % {"id": batch.pk, "title": batch.title},
        at=when,
    )
    batch.status = BatchStatus.APPLIED
    batch.applied, batch.applied_at = result.batch, when
    batch.skipped = {str(k): v for k, v in result.skipped.items()}


@transaction.atomic
@audit.service
def batch_apply_due(*, batch: Batch, at: datetime | None = None) -> bool:
    """Apply a scheduled batch whose moment has come (the job's door). Idempotent: a batch
    that is not scheduled, or not due yet, is left. Returns whether it applied."""
    batch = _lock(batch)
    when = _now(at)
    if batch.status != BatchStatus.SCHEDULED or batch.effective_at > when:
        return False
    _apply(batch, by=batch.decided_by, when=when)
    batch.save()
    return True


@transaction.atomic
@audit.service
def batch_rollback(*, batch: Batch, by, at: datetime | None = None) -> Batch:
    """Return every unit of an applied batch to the price it had before, in one new inventory
    batch — except units whose price changed since (another batch, a hold's pending price
    applied, a manual change): those are left and listed in ``rollback_skipped``. Raises
    ``NotAllowed`` unless the user may approve, ``BatchStateError`` unless applied."""
    if not may_approve(by):
        raise NotAllowed(_("Only the approver named in the pricing settings may roll back."))
    batch = _lock(batch)
    _move(batch, BatchStatus.ROLLED_BACK)
    when = _now(at)
    history = list(batch.applied.changes.all()) if batch.applied_id else []
    # Held units got a pending price (a UnitChange row): roll that back to the pending price
    # they had before (or none: the hold's own price).
    prices = {row.unit_id: row.old_price for row in history}
    expected = {row.unit_id: row.new_price for row in history}
    pending_rows = (
        UnitChange.objects.filter(
            unit_id__in=[ln.unit_id for ln in batch.lines.all()],
            at=batch.applied_at,
            reason=batch.title,
        ).exclude(unit_id__in=list(prices))
        if batch.applied_at
        else []
    )
    for row in pending_rows:
        old, new = row.changes.get("pending_price", [None, None])
        unit = Unit.objects.get(pk=row.unit_id)
        if new is None:
            continue
        prices[row.unit_id] = Decimal(old) if old is not None else unit.price
        expected[row.unit_id] = Decimal(new)
    result = inventory.units_set_prices(
        prices=prices,
        expected=expected,
        by=by,
        reason=_("Rollback of batch %(id)s") % {"id": batch.pk},
        allow_unpricing=True,
        at=when,
    )
    batch.rollback, batch.rolled_back_at = result.batch, when
    batch.rollback_skipped = {str(k): v for k, v in result.skipped.items()}
    batch.save()
    return batch


def batches_due(at: datetime | None = None):
    return Batch.objects.filter(status=BatchStatus.SCHEDULED, effective_at__lte=_now(at))


# --- the sales plan -----------------------------------------------------------------------


@dataclass
class PlanMonth:
    month: date
    units: int
    area: Decimal
    revenue: Decimal


@transaction.atomic
@audit.service
def plan_save(*, project, building=None, unit_type: str = "", months: list[PlanMonth], by) -> int:
    """Write the plan of these months for the project (building, unit type): each month's
    row is replaced (a new row, so the dashboard sees the change); a month of all zeros
    removes it. Raises ``NotAllowed`` without ``pricing.configure``, ``ValidationError`` for
    negative numbers, a month not on its first day or a building of another project."""
    if not has_capability(by, PRICING_CONFIGURE):
        raise NotAllowed(_("You may not change the sales plan."))
    if building is not None and building.project_id != project.pk:
        raise ValidationError({"building": _("This building is not in the chosen project.")})
    for m in months:
        if m.units < 0 or m.area < 0 or m.revenue < 0:
            raise ValidationError(
                _("The plan cannot be negative (%(month)s).") % {"month": m.month}
            )
        if m.month.day != 1:
            raise ValidationError(_("A plan month starts on its first day."))
    rows = SalesPlan.objects.filter(
        project=project, building=building, unit_type=unit_type, month__in=[m.month for m in months]
    )
    rows.delete()
    SalesPlan.objects.bulk_create(
        [
            SalesPlan(
                project=project,
                building=building,
                unit_type=unit_type,
                month=m.month,
                units=m.units,
                area=m.area,
                revenue=m.revenue,
            )
            for m in months
            if m.units or m.area or m.revenue
        ]
    )
    return len(months)


# --- dynamic pricing ----------------------------------------------------------------------


@transaction.atomic
@audit.service
def rule_save(*, rule: Rule, by) -> Rule:
    """Create or change a rule (the sales head's data). Raises ``NotAllowed`` without
    ``pricing.configure``, ``ValidationError`` keyed by field."""
    if not has_capability(by, PRICING_CONFIGURE):
        raise NotAllowed(_("You may not change the pricing rules."))
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
@audit.service
def recommendations_compute(*, day: date | None = None, at: datetime | None = None) -> int:
    """Compute every active rule's recommendation for each of its segments for ``day``
    (default today) — the scheduled job's door. Idempotent: a day's open recommendation is
    replaced; one already sent for approval or dismissed is kept. Writes no price."""
    from . import dynamic

    when = _now(at)
    day = day or timezone.localdate(when)
    count = 0
    for rule in Rule.objects.filter(active=True).select_related("project"):
        for segment in dynamic.segments_of(rule):
            numbers = dynamic.numbers_now(segment, rule.weeks, day)
            if not numbers.stock and not numbers.sold:
                continue
            decision = dynamic.decide(rule, numbers, dynamic.moved_this_month(rule, segment, day))
            existing = Recommendation.objects.filter(
                rule=rule, day=day, project=segment.project, unit_type=segment.unit_type
            ).first()
            if existing is not None and existing.status != RecommendationStatus.OPEN:
                continue
            Recommendation.objects.update_or_create(
                rule=rule,
                day=day,
                project=segment.project,
                unit_type=segment.unit_type,
                defaults={
                    "computed_at": when,
                    "floor_from": segment.floor_from,
                    "floor_to": segment.floor_to,
                    "sold": numbers.sold,
                    "pace": numbers.pace,
                    "plan_pace": numbers.plan_pace,
                    "stock": numbers.stock,
                    "days_to_sell_out": numbers.days_to_sell_out,
                    "move_percent": decision.move,
                    "explanation": decision.explanation,
                },
            )
            count += 1
    return count


@transaction.atomic
@audit.service
def recommendation_propose(*, recommendation: Recommendation, by) -> Batch:
    """Send a recommendation's move for approval as a batch of the segment's units on sale
    (nothing changes prices without approval). Raises ``BatchStateError`` unless it is open
    with a move, ``NotAllowed`` for a user who may not propose."""
    from . import dynamic

    reco = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
    if reco.status != RecommendationStatus.OPEN or not reco.move_percent:
        raise BatchStateError(_("This recommendation has no move to send for approval."))
    segment = dynamic.Segment(reco.project, reco.unit_type, reco.floor_from, reco.floor_to)
    units = Unit.objects.filter(segment.q(), status__in=dynamic.IN_STOCK).order_by("pk")
    lines = []
    for unit in units:
        old = unit.pending_price if unit.pending_price is not None else unit.price
        new = dynamic.unit_price_after(unit, reco.move_percent, reco.rule.min_per_m2)
        lines.append(
            Line(unit=unit, old_price=old, new_price=new, explanation=f"{reco.move_percent:+}%")
        )
    batch = batch_propose(
        title=_("Recommendation: %(segment)s %(move)s %%")
        % {"segment": segment.label(), "move": f"{reco.move_percent:+}"},
        source=BatchSource.RECOMMENDATION,
        lines=lines,
        by=by,
        note=reco.explanation,
    )
    reco.status, reco.batch = RecommendationStatus.PROPOSED, batch
    reco.save(update_fields=["status", "batch"])
    return batch


@transaction.atomic
@audit.service
def recommendation_dismiss(*, recommendation: Recommendation, by) -> Recommendation:
    if not has_capability(by, PRICING_PROPOSE):
        raise NotAllowed(_("You may not propose price changes."))
    reco = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
    if reco.status != RecommendationStatus.OPEN:
        raise BatchStateError(_("This recommendation was already decided."))
    reco.status = RecommendationStatus.DISMISSED
    reco.save(update_fields=["status"])
    return reco


def bulk_change_propose(request, changes, reason: str) -> str:
    """The inventory bulk page's door into the approval queue: its previewed changes (a %
    or ₽/m² change of a selection) become a batch awaiting approval. Returns its page."""
    from django.urls import reverse

    batch = batch_propose(
        title=reason,
        source=BatchSource.MANUAL,
        lines=[Line(unit=c.unit, old_price=c.old_price, new_price=c.new_price) for c in changes],
        by=request.user,
    )
    return reverse("pricing:batch-detail", args=[batch.pk])
