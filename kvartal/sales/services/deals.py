"""The only writers of deals: open, move along the stages, change buyers, swap the unit, BTI.

Every function is keyword-only and atomic, takes the unit row lock first
(``inventory.services.unit_lock``), re-checks its rules under it, changes the unit only through
``inventory.services.unit_set_sales_state`` / ``unit_update`` and appends a ``DealEvent`` in the
same transaction. A refused action raises a ``DealError`` subclass (or ``ValidationError``) and
changes nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal import audit
from kvartal.accounts.permissions import SALES_APPROVE, has_capability
from kvartal.clients.models import Agency, Client
from kvartal.inventory.models import Unit, UnitKind, UnitStatus
from kvartal.inventory.services import unit_lock, unit_set_sales_state, unit_update

from .. import signals
from ..availability import UnitNotAvailable, facts_from_hold, unit_check
from ..errors import (  # noqa: F401  (importable from here as before)
    ApprovalRequired,
    BtiRefused,
    BuyersInvalid,
    DealClosed,
    DealError,
    DealHoldNotLive,
    DiscountNeedsApproval,
    PriceBelowMinimum,
    PromotionNotApplicable,
    StageDateInFuture,
    StageMoveRefused,
    StageRequirementMissing,
)
from ..models import (
    AppliedPromotion,
    ContractType,
    Deal,
    DealBuyer,
    DealCounter,
    DealEvent,
    DealEventKind,
    DealUnit,
    Hold,
    LineKind,
    Payer,
    PaymentLine,
    PaymentMethod,
    Promotion,
    SalesSettings,
    Stage,
    StageRequirement,
    StageScheme,
    StageTransition,
)
from ..promotions_rules import promotion_applies, promotion_rule
from ..selectors import money_text

KOPECK = Decimal("0.01")
BTI_DUE_DAYS = 30


@dataclass(frozen=True)
class BuyerShare:
    """A buyer and their share of the unit, ``numerator/denominator``."""

    client: Client
    numerator: int = 1
    denominator: int = 1


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def _money(value) -> str:
    return str(Decimal(value).quantize(KOPECK))


def _buyers(buyers: Iterable) -> list[BuyerShare]:
    """Validated buyers: at least one, each once, shares proper fractions summing to 1."""
    rows = [b if isinstance(b, BuyerShare) else BuyerShare(*b) for b in buyers]
    if not rows:
        raise BuyersInvalid(_("A deal needs at least one buyer."))
    ids = [b.client.pk for b in rows]
    if len(ids) != len(set(ids)):
        raise BuyersInvalid(_("The same client is listed twice among the buyers."))
    total = Fraction(0)
    for b in rows:
        if not (0 < b.numerator <= b.denominator):
            raise BuyersInvalid(
                _("A share must be a fraction from 0 to 1 (e.g. 1/2), not %(n)s/%(d)s.")
                % {"n": b.numerator, "d": b.denominator}
            )
        total += Fraction(b.numerator, b.denominator)
    if total != 1:
        raise BuyersInvalid(
            _("The buyers' shares add up to %(total)s, not to 1.") % {"total": str(total)}
        )
    return rows


def _buyers_data(rows: list[BuyerShare]) -> list[dict]:
    return [
        {
            "client": b.client.pk,
            "name": b.client.display_name,
            "share": f"{b.numerator}/{b.denominator}",
        }
        for b in rows
    ]


def _save_buyers(deal: Deal, rows: list[BuyerShare]) -> None:
    DealBuyer.objects.bulk_create(
        [
            DealBuyer(
                deal=deal,
                client=b.client,
                share_numerator=b.numerator,
                share_denominator=b.denominator,
                order=i,
            )
            for i, b in enumerate(rows)
        ]
    )


def _check_unit_free(
    unit: Unit, *, now: datetime, own_hold: Hold | None, clients: set[int], active: Hold | None
) -> Hold | None:
    """Under the unit lock, the availability rule for a deal of ``clients``: a live hold of
    one of them (or ``own_hold``) is taken over. ``active``: the unit's active hold as
    ``_settled`` read it under this lock. Returns the live hold this deal takes over."""
    in_deal = DealUnit.objects.filter(unit=unit, is_active=True).exists()
    unit_check(
        unit,
        now=now,
        facts=facts_from_hold(active, in_deal=in_deal),
        for_clients=clients,
        hold_id=own_hold.pk if own_hold is not None else None,
    )
    return active if active is not None and active.is_live(now) else None


def _list_price(unit: Unit, hold: Hold | None) -> Decimal:
    """The hold's frozen price, else the unit's."""
    return hold.price if hold is not None else unit.price


def _settled(unit: Unit, *, by, when: datetime) -> tuple[Unit, Hold | None]:
    """Under the unit lock: a hold that has run out is finalised first (the unit back on sale
    with a price set meanwhile, or held for the first in its queue). Returns the unit and
    its active hold now (``None`` when it has none)."""
    from .holds import _active_hold, _expire

    hold = _active_hold(unit)
    if hold is not None and hold.expires_at <= when:
        unit = _expire(unit, hold, when=when)
        hold = _active_hold(unit)  # the first in the queue may have got it
    return unit, hold


@dataclass(frozen=True)
class UnitPrice:
    """One unit's figures in a deal: list price − its discounts = its price."""

    unit: Unit
    list_price: Decimal
    promotion_discount: Decimal
    manual_discount: Decimal
    price: Decimal
    area: Decimal
    # Every promotion's discount on this unit, in the order applied: (promotion, amount).
    promotions: tuple = ()


@dataclass(frozen=True)
class PriceBreakdown:
    list_price: Decimal
    promotion_discount: Decimal
    manual_discount: Decimal
    price: Decimal
    approved_by: object | None
    units: tuple[UnitPrice, ...] = ()

    @property
    def area(self) -> Decimal:
        return sum((u.area for u in self.units), Decimal(0))


def _split(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``amount`` shared in proportion to ``weights``, in kopecks, the shares adding up to it
    exactly (the remainder on the heaviest)."""
    total = sum(weights, Decimal(0))
    if not amount or not total:
        return [Decimal("0.00") for _w in weights]
    shares = [(amount * w / total).quantize(KOPECK, rounding=ROUND_HALF_UP) for w in weights]
    heaviest = max(range(len(weights)), key=lambda i: weights[i])
    shares[heaviest] += amount - sum(shares, Decimal(0))
    return shares


def conditional_promotions(on) -> list[Promotion]:
    """The promotions with a condition running on ``on`` (applied by themselves)."""
    return list(
        Promotion.objects.filter(is_active=True, starts_on__lte=on, ends_on__gte=on)
        .exclude(condition="")
        .prefetch_related("projects", "buildings", "units")
        .order_by("pk")
    )


def condition_holds(
    promotion: Promotion, unit: Unit, *, lines: list[tuple[Unit, Decimal]], payment_method: str
) -> bool:
    """Whether ``promotion``'s condition holds for ``unit`` in a deal of ``lines`` paid by
    ``payment_method`` (the promotion covering the unit is checked apart):

    - with an apartment: the unit is not an apartment and the deal has an apartment of the
      same project;
    - a second unit: the deal has several units and this is not its first — the first is the
      one of the highest list price (the main unit on a tie), which pays in full;
    - full payment: the deal is paid in full at once.
    """
    condition = promotion.condition
    if condition == Promotion.Condition.WITH_APARTMENT:
        project = unit.building.project_id
        return unit.kind != UnitKind.APARTMENT and any(
            u.pk != unit.pk and u.kind == UnitKind.APARTMENT and u.building.project_id == project
            for u, _lp in lines
        )
    if condition == Promotion.Condition.EXTRA_UNIT:
        if len(lines) < 2:
            return False
        top = max(range(len(lines)), key=lambda i: (Decimal(lines[i][1]), -i))
        return lines[top][0].pk != unit.pk
    if condition == Promotion.Condition.FULL_PAYMENT:
        return payment_method == PaymentMethod.FULL
    return False


def deal_pricing(
    *,
    lines: list[tuple[Unit, Decimal]],
    by,
    promotion: Promotion | None = None,
    manual_discount: Decimal = Decimal(0),
    approved_by=None,
    on=None,
    payment_method: str = PaymentMethod.FULL,
    automatic: list[Promotion] | None = None,
    promotion_on=None,
) -> PriceBreakdown:
    """The price of a deal of one or more units: each unit's list price − its promotion
    discount − its part of the manual discount = its price; the deal's figures are the sums.

    ``lines``: (unit, list price) in the deal's order, the main unit first. The promotion
    must be running on ``on`` and cover the main unit; it discounts every unit it covers
    (and only those), and a unit's price below its ``min_price`` is refused. The manual
    discount is shared among the units in proportion to their list prices. A manual discount
    above ``SalesSettings.discount_approval_percent`` % of the list price is approved by the
    acting user only: ``by`` must hold ``sales.approve`` (a sales head or an administrator),
    and is then recorded as the approver. Nobody approves in another's name: a manager is
    refused (the deal opens without the discount, and a sales head applies it with
    ``deal_set_discount``). ``approved_by``: an approval already on the deal for this same
    discount (a unit swap), kept while the discount's share of the list price does not grow
    — the caller checks that. ``promotion_on``: the day the chosen promotion must run on
    (``on`` unless given: a deal priced again keeps the promotion it was opened with).
    Raises ``DealError``s.

    The one pricing rule of conditional promotions: every running promotion with a condition
    (``automatic``, read here unless given) that covers a unit and whose condition holds for
    it in this deal (``condition_holds``: with an apartment, a second unit, full payment)
    discounts that unit's list price by itself, after the chosen promotion, never below its
    ``min_price`` nor to nothing; each discount is in ``UnitPrice.promotions``.
    """
    on = on or timezone.localdate()
    manual_discount = Decimal(manual_discount or 0).quantize(KOPECK)
    main = lines[0][0]
    for unit, list_price in lines:
        if Decimal(list_price) <= 0:
            raise UnitNotAvailable(_("%(unit)s has no price: it cannot be sold.") % {"unit": unit})
    covers = None
    if promotion is not None:
        if not promotion.is_running(promotion_on or on):
            raise PromotionNotApplicable(
                _("The promotion “%(name)s” is not running.") % {"name": promotion.name}
            )
        if promotion.is_automatic:
            raise PromotionNotApplicable(
                _("The promotion “%(name)s” applies by itself when its condition holds.")
                % {"name": promotion.name}
            )
        covers = promotion_rule(promotion)
        if not covers(main):
            raise PromotionNotApplicable(
                _("The promotion “%(name)s” does not cover %(unit)s.")
                % {"name": promotion.name, "unit": main}
            )
    if manual_discount < 0:
        raise PriceBelowMinimum(_("A discount cannot be negative."))
    list_prices = [Decimal(list_price) for _unit, list_price in lines]
    total_list = sum(list_prices, Decimal(0))
    manual_shares = _split(manual_discount, list_prices)
    if automatic is None:
        automatic = conditional_promotions(on)
    rules = [(p, promotion_rule(p)) for p in automatic]
    units = []
    for (unit, _lp), list_price, manual in zip(lines, list_prices, manual_shares, strict=True):
        promo = Decimal(0)
        given = []
        applied = covers is not None and covers(unit)
        if applied:
            promo = promotion.discount_for(price=list_price, area=unit.total_area)
            if promo:
                given.append((promotion, promo))
        for auto, auto_covers in rules:
            if not (
                auto_covers(unit)
                and condition_holds(auto, unit, lines=lines, payment_method=payment_method)
            ):
                continue
            floor = max(
                auto.min_price or Decimal(0),
                (promotion.min_price or Decimal(0)) if applied else Decimal(0),
                KOPECK,
            )
            room = list_price - promo - floor
            amount = min(auto.discount_for(price=list_price, area=unit.total_area), room)
            if amount > 0:
                promo += amount
                given.append((auto, amount))
        price = list_price - promo - manual
        if price <= 0:
            raise PriceBelowMinimum(_("The discounts leave no price to pay."))
        if applied and promotion.min_price and price < promotion.min_price:
            raise PriceBelowMinimum(
                _("The price %(price)s ₽ is below the promotion's minimum of %(min)s ₽.")
                % {"price": money_text(price), "min": money_text(promotion.min_price)}
            )
        units.append(
            UnitPrice(unit, list_price, promo, manual, price, unit.total_area, tuple(given))
        )
    percent = SalesSettings.current().discount_approval_percent
    limit = total_list * percent / 100
    if manual_discount > limit:
        if has_capability(by, SALES_APPROVE):
            approved_by = by
        elif approved_by is None or not has_capability(approved_by, SALES_APPROVE):
            raise DiscountNeedsApproval(
                _(
                    "A manual discount above %(percent)s%% of the list price needs a sales "
                    "head's approval: open the deal without it and ask a sales head to apply "
                    "the discount."
                )
                % {"percent": percent.normalize()}
            )
    else:
        approved_by = None
    promo_total = sum((u.promotion_discount for u in units), Decimal(0))
    price = sum((u.price for u in units), Decimal(0))
    return PriceBreakdown(
        total_list, promo_total, manual_discount, price, approved_by, tuple(units)
    )


def deal_price(
    *,
    unit: Unit,
    list_price: Decimal,
    by,
    promotion: Promotion | None = None,
    manual_discount: Decimal = Decimal(0),
    approved_by=None,
    on=None,
    payment_method: str = PaymentMethod.FULL,
) -> PriceBreakdown:
    """``deal_pricing`` of a one-unit deal: list price − promotion discount − manual discount
    = deal price, with its rules."""
    return deal_pricing(
        lines=[(unit, list_price)],
        by=by,
        promotion=promotion,
        manual_discount=manual_discount,
        approved_by=approved_by,
        on=on,
        payment_method=payment_method,
    )


def _last_number_in(year: int) -> int:
    last = (
        Deal.objects.filter(number__startswith=f"Д-{year}-")
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return int(last.rsplit("-", 1)[1]) if last else 0


def _take_number(year: int) -> int:
    """The year's next number: one statement that locks the counter row, adds one and reads
    it back (the row is created first, from the numbers already given, if the year has
    none). Held until the transaction ends, so deals opened at once take numbers in turn."""
    table = connection.ops.quote_name(DealCounter._meta.db_table)
    sql = f"UPDATE {table} SET last = last + 1 WHERE year = %s RETURNING last"
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [year])
            row = cursor.fetchone()
        if row is not None:
            return row[0]
        DealCounter.objects.bulk_create(
            [DealCounter(year=year, last=_last_number_in(year))], ignore_conflicts=True
        )
    raise AssertionError("unreachable: the counter row exists after its insert")


def _create_numbered(deal: Deal, year: int) -> Deal:
    """Save a new deal under the next number of its year (``_take_number``); numbering
    never refuses a valid deal. A number already taken (an imported deal) is skipped. The
    caller holds the unit's lock: locks are always taken unit first, then the counter."""
    while True:
        deal.number = f"Д-{year}-{_take_number(year):05d}"
        try:
            with transaction.atomic():
                deal.save()
            return deal
        except IntegrityError as error:
            if not Deal.objects.filter(number=deal.number).exists():
                # The database's backstop: one active deal per unit.
                raise UnitNotAvailable(
                    _("%(unit)s is in another deal.") % {"unit": deal.unit}
                ) from error


def _take_unit(deal: Deal, unit: Unit, hold: Hold | None, *, by, at: datetime) -> None:
    """The deal takes ``unit``: the live hold on it (if the deal takes one over) becomes the
    deal, and the unit shows the deal's stage status. The caller holds the unit's lock and got
    ``hold`` from ``_check_unit_free`` under it (so it is live)."""
    from .holds import convert_locked_hold

    if hold is not None:
        convert_locked_hold(hold=hold, by=by, at=at)
    unit_set_sales_state(
        unit=unit,
        status=deal.stage.unit_status,
        by=by,
        reason=_("Deal %(number)s") % {"number": deal.number},
        at=at,
    )


def _unit_data(row) -> dict:
    return {
        "unit": row.unit.pk,
        "unit_name": str(row.unit),
        "list_price": _money(row.list_price),
        "promotion_discount": _money(row.promotion_discount),
        "manual_discount": _money(row.manual_discount),
        "price": _money(row.price),
        "area": str(row.area),
    }


def _save_units(deal: Deal, prices, *, when: datetime, start: int = 0) -> list[DealUnit]:
    """The deal's ``DealUnit`` rows for ``prices`` (``UnitPrice``s). The database's backstop
    of one active deal per unit turns into the same refusal the rule gives."""
    rows = [
        DealUnit(
            deal=deal,
            unit=p.unit,
            building_id=p.unit.building_id,
            order=start + i,
            list_price=p.list_price,
            promotion_discount=p.promotion_discount,
            manual_discount=p.manual_discount,
            price=p.price,
            area=p.area,
            is_active=deal.is_active,
            added_at=when,
        )
        for i, p in enumerate(prices)
    ]
    if len(rows) == 1:
        # Without a savepoint (a query less on the hot path): a refusal rolls back the caller.
        try:
            return DealUnit.objects.bulk_create(rows)
        except IntegrityError as error:
            raise UnitNotAvailable(_("%(unit)s is in a deal.") % {"unit": rows[0].unit}) from error
    try:
        with transaction.atomic():
            return DealUnit.objects.bulk_create(rows)
    except IntegrityError as error:
        taken = (
            DealUnit.objects.filter(unit__in=[p.unit for p in prices], is_active=True)
            .select_related("unit")
            .first()
        )
        unit = taken.unit if taken is not None else prices[0].unit
        raise UnitNotAvailable(_("%(unit)s is in a deal.") % {"unit": unit}) from error


def _record_promotions(
    deal: Deal, breakdown: PriceBreakdown, rows: list[DealUnit], *, fresh: bool = False
) -> None:
    """Write down which promotion gave how much on which unit (``AppliedPromotion``), as
    ``breakdown`` priced it; the rows of the deal's earlier pricing go."""
    if not fresh:
        AppliedPromotion.objects.filter(deal=deal).delete()
    by_unit = {row.unit_id: row for row in rows}
    applied = [
        AppliedPromotion(
            deal=deal, deal_unit=by_unit[p.unit.pk], promotion=promotion, amount=amount
        )
        for p in breakdown.units
        for promotion, amount in p.promotions
    ]
    if applied:
        AppliedPromotion.objects.bulk_create(applied)


def _promotions_data(breakdown: PriceBreakdown) -> list[dict]:
    return [
        {
            "promotion": promotion.name,
            "condition": promotion.condition,
            "unit": p.unit.pk,
            "amount": _money(amount),
        }
        for p in breakdown.units
        for promotion, amount in p.promotions
    ]


def _unit_ids(unit: Unit | None, hold: Hold | None, units: Iterable[Unit]) -> list[int]:
    """The deal's unit ids in its order, the main unit (the hold's, else ``unit``, else the
    first of ``units``) first, each once."""
    ids = []
    main = hold.unit_id if hold is not None else unit.pk if unit is not None else None
    for pk in [main, *(u.pk for u in units)]:
        if pk is not None and pk not in ids:
            ids.append(pk)
    return ids


def hold_ended() -> DealHoldNotLive:
    """The refusal of a deal opened from a hold that is no longer live (``deal_open``; the
    page says it at once and offers the unit instead)."""
    return DealHoldNotLive(_("The hold has ended: open the deal from the unit."))


def _take_units(
    ids: list[int], *, by, when: datetime, clients: set[int], own_hold: Hold | None
) -> tuple[list[Unit], list[Hold | None]]:
    """Under the locks of ``ids`` (taken in id order, the one order every multi-unit action
    uses): each unit settled (a run-out hold finalised) and checked by the one availability
    rule, in the deal's order, so the refusal names the first unit that is taken. Returns the
    units and, per unit, the live hold of the buyers the deal takes over (or ``None``).
    ``own_hold``: the hold the deal is opened from (on the first unit): it must be live."""
    locked = {pk: unit_lock(unit_id=pk) for pk in sorted(ids)}
    settled = {pk: _settled(locked[pk], by=by, when=when) for pk in sorted(ids)}
    if own_hold is not None:
        # Live means active and not run out: then it is the unit's one active hold, read
        # (and a run-out one finalised) under the unit's lock just now.
        active = settled[ids[0]][1]
        if active is None or active.pk != own_hold.pk or not active.is_live(when):
            raise hold_ended()
        own_hold = active
    units, holds = [], []
    for i, pk in enumerate(ids):
        unit, active = settled[pk]
        units.append(unit)
        holds.append(
            _check_unit_free(
                unit,
                now=when,
                own_hold=own_hold if i == 0 else None,
                clients=clients,
                active=active,
            )
        )
    return units, holds


@transaction.atomic
@audit.service
def deal_open(
    *,
    by,
    buyers: Iterable,
    unit: Unit | None = None,
    hold: Hold | None = None,
    units: Iterable[Unit] = (),
    manager=None,
    agency: Agency | None = None,
    promotion: Promotion | None = None,
    manual_discount: Decimal = Decimal(0),
    payment_method: str = PaymentMethod.FULL,
    bank: str = "",
    programme: str = "",
    contract_type: str = ContractType.DDU,
    scheme: StageScheme | None = None,
    at: datetime | None = None,
) -> Deal:
    """Open a deal on one or more units (an apartment with parking spaces and storage
    rooms), from a live hold (its frozen price) or straight from sale.

    ``unit`` / ``hold``: the main unit; ``units``: the others (or all of them). All or
    nothing: under the units' locks each must be free by the one availability rule — no other
    active deal, no live hold for another client (a live hold for one of the buyers is taken
    over and turned into the deal), available or reserved by that hold —; the first unit that
    is not refuses the whole deal with the rule's message naming it, and nothing changes. The
    deal starts at the flow's first stage; each unit takes that stage's status. Prices: see
    ``deal_pricing`` (each unit's own figures, recorded on its ``DealUnit``; a discount above
    the threshold only when ``by`` is a sales head). The default payment schedule of
    ``payment_method`` is laid out in the same transaction (``schedule_generate``). Waiting
    clients of a unit's queue leave it (``holds.convert_locked_hold``). Raises
    ``UnitNotAvailable``, ``DealHoldNotLive``, ``BuyersInvalid``, ``PromotionNotApplicable``,
    ``DiscountNeedsApproval``, ``PriceBelowMinimum``, ``DealError`` (a flow without a first
    stage).
    """
    when = _now(at)
    ids = _unit_ids(unit, hold, units)
    if not ids:
        raise UnitNotAvailable(_("Choose the unit of the deal."))
    rows = _buyers(buyers)
    taken, holds = _take_units(
        ids, by=by, when=when, clients={b.client.pk for b in rows}, own_hold=hold
    )
    unit = taken[0]
    hold = holds[0] or next((h for h in holds if h is not None), None)
    breakdown = deal_pricing(
        lines=[(u, _list_price(u, h)) for u, h in zip(taken, holds, strict=True)],
        by=by,
        promotion=promotion,
        manual_discount=manual_discount,
        on=timezone.localdate(when),
        payment_method=payment_method,
    )
    if payment_method not in PaymentMethod.values:
        raise DealError(_("Unknown payment method."), field="payment_method")
    stage = None
    if scheme is None:
        # The default flow with its first stage in one query (else StageScheme.default()).
        stage = (
            Stage.objects.select_related("scheme")
            .filter(scheme__is_default=True, is_initial=True)
            .first()
        )
        scheme = stage.scheme if stage is not None else StageScheme.default()
    if stage is None and scheme is not None:
        stage = scheme.stages.filter(is_initial=True).first()
    if stage is None:
        raise DealError(
            _("The deal flow “%(flow)s” has no first stage: ask an administrator to mark one.")
            % {"flow": scheme.name if scheme is not None else "—"},
            field="scheme",
        )
    deal = Deal(
        unit=unit,
        hold=hold,
        scheme=scheme,
        stage=stage,
        manager=manager or by,
        agency=agency,
        contract_type=contract_type,
        payment_method=payment_method,
        bank=bank if payment_method != PaymentMethod.FULL else "",
        programme=programme if payment_method != PaymentMethod.FULL else "",
        list_price=breakdown.list_price,
        promotion=promotion,
        promotion_discount=breakdown.promotion_discount,
        manual_discount=breakdown.manual_discount,
        discount_approved_by=breakdown.approved_by,
        price=breakdown.price,
        area=breakdown.area,
        created_at=when,
        created_by=by,
    )
    deal = _create_numbered(deal, timezone.localdate(when).year)
    saved = _save_units(deal, breakdown.units, when=when)
    _record_promotions(deal, breakdown, saved, fresh=True)
    _save_buyers(deal, rows)
    for each, taken_hold in zip(taken, holds, strict=True):
        _take_unit(deal, each, taken_hold, by=by, at=when)
    data = {
        "number": deal.number,
        "hold": hold.pk if hold else None,
        "list_price": _money(deal.list_price),
        "promotion": promotion.name if promotion else None,
        "promotion_discount": _money(deal.promotion_discount),
        "manual_discount": _money(deal.manual_discount),
        "approved_by": str(deal.discount_approved_by) if deal.discount_approved_by else None,
        "price": _money(deal.price),
        "buyers": _buyers_data(rows),
    }
    if len(saved) > 1:
        data["units"] = [_unit_data(row) for row in saved]
    if given := _promotions_data(breakdown):
        data["promotions"] = given
    DealEvent.objects.create(
        deal=deal,
        at=when,
        actor=by,
        kind=DealEventKind.CREATED,
        unit=unit,
        to_stage=stage,
        data=data,
    )
    from .payments import _generate

    # A new deal has no schedule yet (``fresh``: nothing to read or delete).
    _generate(deal=deal, by=by, first_due=timezone.localdate(when), at=when, fresh=True)
    return deal


def _current_unit_ids(deal_id: int) -> list[int]:
    return list(
        DealUnit.objects.filter(deal_id=deal_id, removed_at__isnull=True)
        .order_by("unit_id")
        .values_list("unit_id", flat=True)
    )


def _locked_deal(deal: Deal) -> tuple[Deal, Unit]:
    """The units' locks first (the one order every sales operation takes: unit rows in id
    order), then the deal. Returns the deal and its main unit; ``deal.locked_units`` maps
    the id of each of its current units to the locked row."""
    from django.db.models import Count, IntegerField, OuterRef, Q, Subquery

    ids = _current_unit_ids(deal.pk) or [deal.unit_id]
    for _attempt in range(3):
        locked = {pk: unit_lock(unit_id=pk) for pk in sorted(ids)}
        current = DealUnit.objects.filter(deal_id=OuterRef("pk"), removed_at__isnull=True)
        counts = (
            current.values("deal_id")
            .annotate(n=Count("pk"), known=Count("pk", filter=Q(unit_id__in=ids)))
            .order_by()
        )
        # The deal's row only (``of``): locking its stage and flow rows too, as a plain FOR
        # UPDATE over the join does on PostgreSQL, would queue every deal at that stage
        # behind this one. The count of its units, read with it, tells whether they are
        # still the ones locked.
        deal = (
            Deal.objects.select_for_update(of=("self",))
            .select_related("stage", "scheme")
            .annotate(
                units_now=Subquery(counts.values("n")[:1], output_field=IntegerField()),
                units_known=Subquery(counts.values("known")[:1], output_field=IntegerField()),
            )
            .get(pk=deal.pk)
        )
        same = (deal.units_now or 0) == (deal.units_known or 0) == len(ids)
        if (same or not deal.units_now) and deal.unit_id in locked:
            break
        ids = _current_unit_ids(deal.pk) or [deal.unit_id]  # changed meanwhile: lock again
    else:
        raise DealError(_("The deal is being changed by someone else; try again."))
    if not deal.is_active:
        raise DealClosed(_("Deal %(number)s is closed.") % {"number": deal.number})
    deal.locked_units = locked
    return deal, locked[deal.unit_id]


def _main_first(deal: Deal) -> list[Unit]:
    """The locked rows of the deal's current units (``_locked_deal``), the main unit first."""
    locked = deal.locked_units
    return [locked[deal.unit_id]] + [u for pk, u in sorted(locked.items()) if pk != deal.unit_id]


def paid_total(deal: Deal) -> Decimal:
    return deal.payments.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def next_stages(deal: Deal) -> list[Stage]:
    """The stages a deal may move to from where it is (none once it is closed)."""
    if not deal.is_active:
        return []
    return list(
        Stage.objects.filter(entries__source_id=deal.stage_id).order_by("order", "pk").distinct()
    )


@transaction.atomic
@audit.service
def deal_move(
    *,
    deal: Deal,
    stage: Stage,
    by,
    registration_number: str = "",
    registration_date=None,
    act_date=None,
    reason: str = "",
    at: datetime | None = None,
) -> Deal:
    """Move a deal to ``stage`` along a ``StageTransition`` of its flow.

    The stage's requirement must be met (registration number and date, act date, paid in full
    — received payments ≥ ``total_due`` —, or a reason); the dates of what has happened
    (registration, the handover act) are not later than today. A stage that ``needs_approval``
    (termination) is for a user holding ``sales.approve``. The unit takes the stage's status;
    a termination closes the deal and returns the unit to sale. Appends a ``DealEvent``
    (``stage``, or ``terminated``). Raises ``StageMoveRefused``, ``StageRequirementMissing``
    (``StageDateInFuture``), ``ApprovalRequired``, ``DealClosed``.
    """
    when = _now(at)
    deal, unit = _locked_deal(deal)
    source = deal.stage
    if not StageTransition.objects.filter(source=source, target=stage).exists():
        raise StageMoveRefused(
            _("A deal cannot go from “%(old)s” to “%(new)s”.")
            % {"old": source.label, "new": stage.label}
        )
    # A termination needs a sales head and a reason whatever the flow's configuration says.
    if (stage.needs_approval or stage.is_termination) and not has_capability(by, SALES_APPROVE):
        raise ApprovalRequired(
            _("Only a sales head may move a deal to “%(stage)s”.") % {"stage": stage.label}
        )
    reason = (reason or "").strip()
    if stage.is_termination and not reason:
        raise StageRequirementMissing(_("Give the reason for the termination."), field="reason")
    data: dict = {}
    required = stage.requires
    if required == StageRequirement.REGISTRATION:
        number = (registration_number or "").strip()
        if not number or registration_date is None:
            raise StageRequirementMissing(
                _("Give the registration number and date."), field="registration_number"
            )
        if registration_date > timezone.localdate():
            raise StageDateInFuture(
                _("The registration date cannot be later than today."), field="registration_date"
            )
        deal.registration_number, deal.registration_date = number, registration_date
        data.update(registration_number=number, registration_date=str(registration_date))
    elif required == StageRequirement.ACT:
        if act_date is None:
            raise StageRequirementMissing(_("Give the date of the handover act."), field="act_date")
        if act_date > timezone.localdate():
            raise StageDateInFuture(
                _("The date of the handover act cannot be later than today."), field="act_date"
            )
        deal.act_date = act_date
        data["act_date"] = str(act_date)
    elif required == StageRequirement.PAID_IN_FULL:
        paid = paid_total(deal)
        if paid < deal.total_due:
            raise StageRequirementMissing(
                _("Paid %(paid)s ₽ of %(due)s ₽: the deal is not paid in full.")
                % {"paid": money_text(paid), "due": money_text(deal.total_due)}
            )
        data.update(paid=_money(paid), due=_money(deal.total_due))
    elif required == StageRequirement.REASON and not reason:
        raise StageRequirementMissing(_("Give a reason."), field="reason")
    if source.is_initial and not stage.is_termination:
        # The schedule is fixed from here on: it must plan exactly what the buyers owe.
        planned = deal.schedule.aggregate(total=Sum("amount"))["total"] or Decimal(0)
        if planned != deal.total_due:
            raise StageRequirementMissing(
                _(
                    "The payment schedule plans %(planned)s ₽ but the deal is for %(due)s ₽: "
                    "correct the schedule before the contract is signed."
                )
                % {"planned": money_text(planned), "due": money_text(deal.total_due)}
            )
        if deal.signed_on is None:
            deal.signed_on = timezone.localdate(when)
    deal.stage = stage
    fields = [
        "stage",
        "registration_number",
        "registration_date",
        "act_date",
        "signed_on",
    ]
    if stage.is_termination:
        deal.is_active = False
        deal.closed_at = when
        deal.termination_reason = reason[:300]
        fields += ["is_active", "closed_at", "termination_reason"]
        status = UnitStatus.AVAILABLE
    else:
        status = stage.unit_status
    deal.save(update_fields=fields)
    if stage.is_termination:
        # Every unit of the deal is free again: the one-active-deal-per-unit rows let go.
        audit.update(
            DealUnit.objects.filter(deal=deal, is_active=True),
            where={"deal": deal.pk, "is_active": True},
            is_active=False,
        )
    for each in _main_first(deal):
        unit_set_sales_state(
            unit=each,
            status=status,
            by=by,
            reason=_("Deal %(number)s: %(stage)s") % {"number": deal.number, "stage": stage.label},
            at=when,
        )
    DealEvent.objects.create(
        deal=deal,
        at=when,
        actor=by,
        kind=DealEventKind.TERMINATED if stage.is_termination else DealEventKind.STAGE,
        unit=unit,
        from_stage=source,
        to_stage=stage,
        data=data,
        reason=reason[:300],
    )
    signals.deal_moved.send(sender=Deal, deal=deal, source=source, target=stage, by=by, at=when)
    return deal


def termination_stage(deal: Deal) -> Stage | None:
    """The termination stage reachable from where the deal is, if any."""
    return deal.termination_stage()


def deal_terminate(*, deal: Deal, by, reason: str, at: datetime | None = None) -> Deal:
    """Terminate a deal: ``deal_move`` to its flow's termination stage (reason required,
    sales head only): refused as ``deal.terminate_blocker`` says."""
    if blocker := deal.terminate_blocker(by):
        raise blocker
    return deal_move(deal=deal, stage=deal.termination_stage(), by=by, reason=reason, at=at)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DealError(_("Give a reason."), field="reason")
    return reason[:300]


@transaction.atomic
@audit.service
def deal_change_buyers(*, deal: Deal, buyers: Iterable, by, reason: str, at=None) -> Deal:
    """Replace the buyers of an open deal (a change of buyer, a new co-owner), with a reason.

    Raises ``BuyersInvalid`` (shares must add up to 1), ``DealClosed``, ``DealError``
    without a reason."""
    when = _now(at)
    deal, unit = _locked_deal(deal)
    reason = _require_reason(reason)
    rows = _buyers(buyers)
    old = [
        {
            "client": b.client_id,
            "name": b.client.display_name,
            "share": f"{b.share_numerator}/{b.share_denominator}",
        }
        for b in deal.buyers.select_related("client")
    ]
    new = _buyers_data(rows)
    if old == new:
        raise BuyersInvalid(_("The buyers are the same as before."))
    deal.buyers.all().delete()
    _save_buyers(deal, rows)
    DealEvent.objects.create(
        deal=deal,
        at=when,
        actor=by,
        kind=DealEventKind.BUYERS,
        unit=unit,
        data={"old": old, "new": new},
        reason=reason,
    )
    return deal


def _current_rows(deal: Deal) -> list[DealUnit]:
    """The deal's ``DealUnit`` rows now (under its lock), the main unit first."""
    rows = list(
        DealUnit.objects.filter(deal=deal, removed_at__isnull=True)
        .select_related("unit__building")
        .order_by("order", "pk")
    )
    rows.sort(key=lambda r: r.unit_id != deal.unit_id)
    return rows


def _sync_units(deal: Deal, breakdown: PriceBreakdown, *, when: datetime) -> list[DealUnit]:
    """Make the deal's current ``DealUnit`` rows what ``breakdown`` says: the units it no
    longer has are removed (``removed_at``), the ones it has get their new figures, new ones
    are added; then the deal's own figures are the sums. The caller locked every unit."""
    current = {r.unit_id: r for r in DealUnit.objects.filter(deal=deal, removed_at__isnull=True)}
    wanted = {p.unit.pk for p in breakdown.units}
    gone = [r.pk for uid, r in current.items() if uid not in wanted]
    if gone:
        audit.update(
            DealUnit.objects.filter(pk__in=gone),
            where={"ids": gone},
            removed_at=when,
            is_active=False,
        )
    kept, new = [], []
    for i, p in enumerate(breakdown.units):
        row = current.get(p.unit.pk)
        if row is None:
            new.append((i, p))
            continue
        row.order, row.list_price, row.price, row.area = i, p.list_price, p.price, p.area
        row.promotion_discount, row.manual_discount = p.promotion_discount, p.manual_discount
        kept.append(row)
    fields = ["order", "list_price", "promotion_discount", "manual_discount", "price", "area"]
    DealUnit.objects.bulk_update(kept, fields)
    for i, p in new:
        kept += _save_units(deal, [p], when=when, start=i)
    _record_promotions(deal, breakdown, kept)
    deal.list_price = breakdown.list_price
    deal.promotion_discount = breakdown.promotion_discount
    deal.manual_discount = breakdown.manual_discount
    deal.discount_approved_by = breakdown.approved_by
    deal.price = breakdown.price
    deal.area = breakdown.area
    return sorted(kept, key=lambda r: r.order)


_FIGURES = [
    "unit",
    "hold",
    "promotion",
    "list_price",
    "promotion_discount",
    "manual_discount",
    "discount_approved_by",
    "price",
    "area",
]


def _units_changed(
    deal: Deal,
    *,
    lines: list[tuple[Unit, Decimal]],
    by,
    when: datetime,
    approved_by=None,
    keep_promotion: bool = False,
) -> PriceBreakdown:
    """The deal priced again on ``lines`` (its promotion dropped where it stopped covering
    the main unit or — unless ``keep_promotion``, the one it opened with — is no longer
    running; the same manual discount and payment method; conditional promotions as they
    hold now)."""
    promotion = deal.promotion
    on = timezone.localdate(when)
    opened_on = timezone.localdate(deal.created_at)
    running = promotion is not None and promotion.is_running(opened_on if keep_promotion else on)
    if promotion is not None and not (running and promotion_applies(promotion, lines[0][0])):
        promotion = None
    breakdown = deal_pricing(
        lines=lines,
        by=by,
        promotion=promotion,
        manual_discount=deal.manual_discount,
        approved_by=approved_by,
        on=on,
        payment_method=deal.payment_method,
        promotion_on=opened_on if keep_promotion else None,
    )
    deal.promotion = promotion
    return breakdown


@transaction.atomic
@audit.service
def deal_swap_unit(
    *,
    deal: Deal,
    unit: Unit,
    by,
    reason: str,
    old_unit: Unit | None = None,
    at: datetime | None = None,
) -> Deal:
    """Move an open deal from one of its units (``old_unit``, its main unit unless given) to
    another (the buyers chose another flat), with a reason.

    The old unit goes back on sale; the new one must be free as for ``deal_open`` (a live hold
    for one of the deal's buyers is taken over) and takes the deal's stage status. The price
    is worked out again on the new unit's list price with the same promotion (dropped if it
    does not cover the new main unit) and manual discount: a discount above the threshold
    keeps the sales head's approval it had while its share of the list price does not grow,
    else ``by`` must be a sales head (``deal_pricing``). Before signing, a changed price lays
    the default schedule out again; after signing, a change of price is refused (the schedule
    is fixed). Refused once the deal's stage counts the unit as sold or its BTI area is
    recorded. Both units get a ``DealEvent``.
    """
    when = _now(at)
    reason = _require_reason(reason)
    # Every unit of the deal and the new one, in id order, before the deal.
    for pk in sorted({*(_current_unit_ids(deal.pk) or [deal.unit_id]), unit.pk}):
        unit_lock(unit_id=pk)
    deal, main = _locked_deal(deal)
    old_unit = deal.locked_units.get(old_unit.pk if old_unit is not None else deal.unit_id)
    if old_unit is None:
        raise UnitNotAvailable(_("That unit is not in this deal."))
    if unit.pk in deal.locked_units:
        if unit.pk == old_unit.pk:
            raise UnitNotAvailable(_("The deal is already on this unit."))
        raise UnitNotAvailable(_("%(unit)s is already in this deal.") % {"unit": unit})
    if blocker := deal.swap_blocker(by):
        raise blocker
    new_unit, active = _settled(unit_lock(unit_id=unit.pk), by=by, when=when)
    clients = set(deal.buyers.values_list("client_id", flat=True))
    hold = _check_unit_free(new_unit, now=when, own_hold=None, clients=clients, active=active)
    rows = _current_rows(deal)
    lines = [
        (new_unit, _list_price(new_unit, hold))
        if r.unit_id == old_unit.pk
        else (deal.locked_units[r.unit_id], r.list_price)
        for r in rows
    ]
    new_list = sum((lp for _u, lp in lines), Decimal(0))
    old_price, old_list = deal.price, deal.list_price
    breakdown = _units_changed(
        deal,
        lines=lines,
        by=by,
        when=when,
        # The approval given covers the same share of a price, not a larger one.
        approved_by=deal.discount_approved_by if new_list >= old_list else None,
    )
    if not deal.stage.is_initial and breakdown.price != old_price:
        # The schedule is fixed once the contract is signed: it cannot follow a new price.
        raise DealError(
            _(
                "The contract is signed and the payment schedule fixed: the deal can move only "
                "to a unit at the same price (%(old)s ₽; on %(unit)s it would be %(new)s ₽)."
            )
            % {"old": money_text(old_price), "unit": new_unit, "new": money_text(breakdown.price)},
            field="unit",
        )
    old_figures = {
        "unit": old_unit.pk,
        "unit_name": str(old_unit),
        "price": _money(old_price),
        "area": str(deal.area),
    }
    # The old unit leaves the deal first: the one-active-deal-per-unit constraints hold.
    unit_set_sales_state(
        unit=old_unit,
        status=UnitStatus.AVAILABLE,
        by=by,
        reason=_("Deal %(number)s moved to %(unit)s") % {"number": deal.number, "unit": new_unit},
        at=when,
    )
    if old_unit.pk == deal.unit_id:
        deal.unit = new_unit
    deal.hold = hold or deal.hold
    deal.save(update_fields=["unit"])
    _sync_units(deal, breakdown, when=when)
    deal.save(update_fields=_FIGURES)
    _take_unit(deal, new_unit, hold, by=by, at=when)
    if deal.stage.is_initial and old_figures["price"] != _money(deal.price):
        from .payments import _generate

        _generate(deal=deal, by=by, first_due=timezone.localdate(when), at=when)
    new_figures = {
        "unit": new_unit.pk,
        "unit_name": str(new_unit),
        "price": _money(deal.price),
        "area": str(deal.area),
    }
    data = {"old": old_figures, "new": new_figures}
    DealEvent.objects.bulk_create(
        [
            DealEvent(
                deal=deal,
                at=when,
                actor=by,
                kind=DealEventKind.UNIT_SWAP,
                unit=u,
                data=data,
                reason=reason,
            )
            for u in (old_unit, new_unit)
        ]
    )
    return deal


@audit.service
def deal_reprice(deal: Deal, *, by, when: datetime) -> bool:
    """Price the deal again as it is now (its units, promotion, manual discount and payment
    method: a conditional promotion that stopped holding goes, one that now holds comes).
    For a caller holding the deal's lock at its first stage (``payments`` on a change of the
    payment method). Returns whether the price changed."""
    rows = _current_rows(deal)
    if not rows:
        return False
    before = (deal.price, deal.promotion_discount)
    breakdown = _units_changed(
        deal,
        lines=[(r.unit, r.list_price) for r in rows],
        by=by,
        when=when,
        approved_by=deal.discount_approved_by,
        keep_promotion=True,
    )
    _sync_units(deal, breakdown, when=when)
    deal.save(update_fields=_FIGURES[2:])
    if (deal.price, deal.promotion_discount) != before:
        DealEvent.objects.create(
            deal=deal,
            at=when,
            actor=by,
            kind=DealEventKind.DISCOUNT,
            unit_id=deal.unit_id,
            data={
                "old": {"price": _money(before[0]), "promotion_discount": _money(before[1])},
                "new": {
                    "price": _money(deal.price),
                    "promotion_discount": _money(deal.promotion_discount),
                },
                "payment_method": deal.payment_method,
                "promotions": _promotions_data(breakdown),
            },
        )
        return True
    return False


def _units_event(deal, *, by, when, kind, unit, old, rows, reason="") -> None:
    DealEvent.objects.create(
        deal=deal,
        at=when,
        actor=by,
        kind=kind,
        unit=unit,
        data={
            "unit": unit.pk,
            "unit_name": str(unit),
            "old": old,
            "new": {"price": _money(deal.price), "area": str(deal.area)},
            "units": [_unit_data(r) for r in rows],
        },
        reason=reason,
    )


@transaction.atomic
@audit.service
def deal_add_unit(*, deal: Deal, unit: Unit, by, reason: str = "", at=None) -> Deal:
    """Add a unit (a parking space, a storage room, another flat) to an open deal before its
    contract is signed (``Deal.units_blocker``).

    The unit must be free by the one availability rule under its lock (a live hold of one of
    the deal's buyers is taken over), as for ``deal_open``; it takes the deal's stage status;
    the deal is priced again (``deal_pricing``: its list price, the deal's promotion where
    it covers it, the manual discount shared again) and its default schedule laid out again.
    Raises ``UnitNotAvailable`` naming the unit, ``DealClosed``, ``DealError``; nothing
    changes then."""
    when = _now(at)
    if blocker := deal.units_blocker(by):
        raise blocker
    for pk in sorted({*(_current_unit_ids(deal.pk) or [deal.unit_id]), unit.pk}):
        unit_lock(unit_id=pk)
    deal, main = _locked_deal(deal)
    if blocker := deal.units_blocker(by):  # as it is now, under the lock
        raise blocker
    if unit.pk in deal.locked_units:
        raise UnitNotAvailable(_("%(unit)s is already in this deal.") % {"unit": unit})
    new_unit, active = _settled(unit_lock(unit_id=unit.pk), by=by, when=when)
    clients = set(deal.buyers.values_list("client_id", flat=True))
    hold = _check_unit_free(new_unit, now=when, own_hold=None, clients=clients, active=active)
    rows = _current_rows(deal)
    old = {"price": _money(deal.price), "area": str(deal.area)}
    lines = [(deal.locked_units[r.unit_id], r.list_price) for r in rows]
    lines.append((new_unit, _list_price(new_unit, hold)))
    breakdown = _units_changed(
        deal,
        lines=lines,
        by=by,
        when=when,
        approved_by=deal.discount_approved_by,
        keep_promotion=True,
    )
    synced = _sync_units(deal, breakdown, when=when)
    deal.save(update_fields=_FIGURES)
    _take_unit(deal, new_unit, hold, by=by, at=when)
    _units_event(
        deal,
        by=by,
        when=when,
        kind=DealEventKind.UNIT_ADDED,
        unit=new_unit,
        old=old,
        rows=synced,
        reason=(reason or "").strip()[:300],
    )
    from .payments import _generate

    _generate(deal=deal, by=by, first_due=timezone.localdate(when), at=when)
    return deal


@transaction.atomic
@audit.service
def deal_remove_unit(*, deal: Deal, unit: Unit, by, reason: str, at=None) -> Deal:
    """Take a unit out of an open deal before its contract is signed (``Deal.units_blocker``),
    with a reason. The deal keeps at least one unit; the unit goes back on sale; removing the
    main unit makes the next one main. The deal is priced again (its promotion dropped where
    it no longer covers the main unit) and its default schedule laid out again."""
    when = _now(at)
    reason = _require_reason(reason)
    if blocker := deal.units_blocker(by):
        raise blocker
    deal, main = _locked_deal(deal)
    if blocker := deal.units_blocker(by):
        raise blocker
    gone = deal.locked_units.get(unit.pk)
    if gone is None:
        raise UnitNotAvailable(_("That unit is not in this deal."))
    if len(deal.locked_units) == 1:
        raise DealError(
            _("A deal keeps at least one unit: swap it or terminate the deal."), field="unit"
        )
    rows = [r for r in _current_rows(deal) if r.unit_id != gone.pk]
    old = {"price": _money(deal.price), "area": str(deal.area)}
    lines = [(deal.locked_units[r.unit_id], r.list_price) for r in rows]
    breakdown = _units_changed(
        deal,
        lines=lines,
        by=by,
        when=when,
        approved_by=deal.discount_approved_by,
        keep_promotion=True,
    )
    unit_set_sales_state(
        unit=gone,
        status=UnitStatus.AVAILABLE,
        by=by,
        reason=_("Removed from deal %(number)s") % {"number": deal.number},
        at=when,
    )
    deal.unit = lines[0][0]
    synced = _sync_units(deal, breakdown, when=when)
    deal.save(update_fields=_FIGURES)
    _units_event(
        deal,
        by=by,
        when=when,
        kind=DealEventKind.UNIT_REMOVED,
        unit=gone,
        old=old,
        rows=synced,
        reason=reason,
    )
    from .payments import _generate

    _generate(deal=deal, by=by, first_due=timezone.localdate(when), at=when)
    return deal


@transaction.atomic
@audit.service
def deal_set_discount(
    *, deal: Deal, manual_discount: Decimal, by, reason: str, at: datetime | None = None
) -> Deal:
    """A sales head sets the manual discount of a deal before its contract is signed (a
    manager opened it without the discount that needs approval). ``by`` must hold
    ``sales.approve`` and is recorded as the approver of a discount above the threshold. The
    price is worked out again (``deal_pricing``, the same list prices and promotion; the
    discount shared among the units) and the default schedule laid out again for it. Raises
    ``ApprovalRequired``, ``DealClosed``, ``DealError`` (past the first stage, no reason),
    ``PriceBelowMinimum``.
    """
    when = _now(at)
    if blocker := deal.discount_blocker(by):
        raise blocker
    reason = _require_reason(reason)
    deal, unit = _locked_deal(deal)
    if blocker := deal.discount_blocker(by):  # as it is now, under the lock
        raise blocker
    rows = _current_rows(deal)
    breakdown = deal_pricing(
        lines=[(deal.locked_units[r.unit_id], r.list_price) for r in rows],
        by=by,
        promotion=deal.promotion,
        manual_discount=manual_discount,
        on=timezone.localdate(when),
        payment_method=deal.payment_method,
    )
    old = {
        "manual_discount": _money(deal.manual_discount),
        "price": _money(deal.price),
        "approved_by": str(deal.discount_approved_by) if deal.discount_approved_by else None,
    }
    _sync_units(deal, breakdown, when=when)
    deal.save(
        update_fields=["promotion_discount", "manual_discount", "discount_approved_by", "price"]
    )
    DealEvent.objects.create(
        deal=deal,
        at=when,
        actor=by,
        kind=DealEventKind.DISCOUNT,
        unit=unit,
        data={
            "old": old,
            "new": {
                "manual_discount": _money(deal.manual_discount),
                "price": _money(deal.price),
                "approved_by": str(by) if deal.discount_approved_by else None,
            },
        },
        reason=reason,
    )
    from .payments import _generate

    _generate(deal=deal, by=by, first_due=timezone.localdate(when), at=when)
    return deal


def bti_adjustment(
    *,
    contract_area: Decimal,
    bti_area: Decimal,
    price_per_m2: Decimal,
    tolerance: Decimal,
    beyond_only: bool = False,
) -> Decimal:
    """The BTI settlement: 0 within the tolerance; else the area difference (or only the part
    beyond the tolerance) × the price per m², in kopecks. Positive: the buyers pay more;
    negative: they get a refund."""
    difference = Decimal(bti_area) - Decimal(contract_area)
    if abs(difference) <= tolerance:
        return Decimal("0.00")
    charged = difference
    if beyond_only:
        charged = (abs(difference) - tolerance) * (1 if difference > 0 else -1)
    return (charged * price_per_m2).quantize(KOPECK, rounding=ROUND_HALF_UP)


@transaction.atomic
@audit.service
def deal_record_bti(*, deal: Deal, bti_area: Decimal, by, at: datetime | None = None) -> Deal:
    """Record the BTI-measured area of the deal's unit and settle the difference.

    Sets the unit's ``bti_area`` (``unit_update``), computes ``bti_adjustment`` (see
    ``bti_adjustment`` and ``SalesSettings``), adds a ``recalculation`` payment line due in
    30 days when it is not zero (negative: a refund), and appends a ``bti`` event. Recorded
    once per deal. Raises ``BtiRefused``, ``DealClosed``.
    """
    when = _now(at)
    deal, unit = _locked_deal(deal)
    bti_area = Decimal(bti_area)
    if bti_area <= 0:
        raise BtiRefused(_("The measured area must be greater than zero."))
    if blocker := deal.bti_blocker(by):
        raise blocker
    settings = SalesSettings.current()
    # The main unit is the one measured: its own contract area and price per m².
    row = DealUnit.objects.filter(deal=deal, unit=unit, removed_at__isnull=True).first()
    contract_area = row.area if row is not None else deal.area
    per_m2 = (row.price / row.area).quantize(KOPECK) if row is not None else deal.price_per_m2
    adjustment = bti_adjustment(
        contract_area=contract_area,
        bti_area=bti_area,
        price_per_m2=per_m2,
        tolerance=settings.bti_tolerance_m2,
        beyond_only=settings.bti_charge_beyond_tolerance_only,
    )
    unit_update(
        unit=unit,
        by=by,
        data={"bti_area": bti_area},
        reason=_("BTI measurement, deal %(number)s") % {"number": deal.number},
        at=when,
    )
    deal.bti_area = bti_area
    deal.bti_adjustment = adjustment
    deal.save(update_fields=["bti_area", "bti_adjustment"])
    due = timezone.localdate(when) + timedelta(days=BTI_DUE_DAYS)
    if adjustment:
        PaymentLine.objects.create(
            deal=deal,
            due_date=due,
            amount=adjustment,
            kind=LineKind.RECALCULATION,
            payer=Payer.BUYER,
        )
    DealEvent.objects.create(
        deal=deal,
        at=when,
        actor=by,
        kind=DealEventKind.BTI,
        unit=unit,
        data={
            "contract_area": str(contract_area),
            "bti_area": str(bti_area),
            "difference": str(bti_area - contract_area),
            "tolerance": str(settings.bti_tolerance_m2),
            "beyond_tolerance_only": settings.bti_charge_beyond_tolerance_only,
            "price_per_m2": _money(per_m2),
            "adjustment": _money(adjustment),
            "due_date": str(due) if adjustment else None,
        },
    )
    return deal
