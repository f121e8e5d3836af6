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

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import SALES_APPROVE, has_capability
from kvartal.clients.models import Agency, Client
from kvartal.core.errors import DomainError
from kvartal.inventory.models import Unit, UnitStatus
from kvartal.inventory.services import unit_lock, unit_set_sales_state, unit_update

from ..models import (
    ContractType,
    Deal,
    DealBuyer,
    DealEvent,
    DealEventKind,
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
from ..promotions_rules import promotion_applies

KOPECK = Decimal("0.01")
BTI_DUE_DAYS = 30


class DealError(DomainError):
    """A deal rule refused the action."""


class UnitNotAvailable(DealError):
    """The unit is sold, in another deal, not for sale, or held for somebody else."""

    field = "unit"


class HoldNotLive(DealError):
    field = "hold"


class BuyersInvalid(DealError):
    field = "buyers"


class PromotionNotApplicable(DealError):
    field = "promotion"


class DiscountNeedsApproval(DealError):
    field = "manual_discount"


class PriceBelowMinimum(DealError):
    field = "manual_discount"


class StageMoveRefused(DealError):
    field = "stage"


class StageRequirementMissing(DealError):
    """The target stage asks for data that was not given (registration, act date, payment…)."""


class ApprovalRequired(DealError):
    """Only a sales head or an administrator may do this (terminations)."""


class DealClosed(DealError):
    """The deal is terminated: nothing changes on it any more."""


class BtiRefused(DealError):
    field = "bti_area"


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
    """Under the unit lock: no other active deal, no live hold for somebody else, the unit on
    sale or held for this deal. ``active``: the unit's active hold as ``_settled`` read it
    under this lock. Returns the live hold this deal takes over, if any."""
    if Deal.objects.filter(unit=unit, is_active=True).exists():
        if unit.status == UnitStatus.SOLD:
            raise UnitNotAvailable(
                _("%(unit)s is already sold under another deal.") % {"unit": unit}
            )
        raise UnitNotAvailable(_("%(unit)s is in another deal.") % {"unit": unit})
    hold = active if active is not None and active.is_live(now) else None
    if hold is not None:
        mine = (own_hold is not None and hold.pk == own_hold.pk) or hold.client_id in clients
        if not mine:
            raise UnitNotAvailable(
                _("%(unit)s is held for another client until %(until)s.")
                % {
                    "unit": unit,
                    "until": timezone.localtime(hold.expires_at).strftime("%d.%m.%Y %H:%M"),
                }
            )
    status = unit.effective_status(now)
    if status == UnitStatus.RESERVED and hold is not None:
        return hold
    if status != UnitStatus.AVAILABLE:
        if unit.status == UnitStatus.SOLD:
            raise UnitNotAvailable(_("%(unit)s is already sold.") % {"unit": unit})
        raise UnitNotAvailable(
            _("%(unit)s is not on sale (status: %(status)s).")
            % {"unit": unit, "status": UnitStatus(status).label}
        )
    return hold


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
class PriceBreakdown:
    list_price: Decimal
    promotion_discount: Decimal
    manual_discount: Decimal
    price: Decimal
    approved_by: object | None


def deal_price(
    *,
    unit: Unit,
    list_price: Decimal,
    by,
    promotion: Promotion | None = None,
    manual_discount: Decimal = Decimal(0),
    approved_by=None,
    on=None,
) -> PriceBreakdown:
    """list price − promotion discount − manual discount = deal price, with its rules.

    The promotion must be running on ``on`` and cover the unit. A manual discount above
    ``SalesSettings.discount_approval_percent`` % of the list price is approved by the acting
    user only: ``by`` must hold ``sales.approve`` (a sales head or an administrator), and is
    then recorded as the approver. Nobody approves in another's name: a manager is refused
    (the deal opens without the discount, and a sales head applies it with
    ``deal_set_discount``). ``approved_by``: an approval already on the deal for this same
    discount (a unit swap), kept while the discount's share of the list price does not grow
    — the caller checks that. A price below the promotion's ``min_price`` is refused.
    Raises ``DealError``s.
    """
    on = on or timezone.localdate()
    list_price = Decimal(list_price)
    manual_discount = Decimal(manual_discount or 0).quantize(KOPECK)
    if list_price <= 0:
        raise UnitNotAvailable(_("%(unit)s has no price: it cannot be sold.") % {"unit": unit})
    promo_discount = Decimal(0)
    if promotion is not None:
        if not promotion.is_running(on):
            raise PromotionNotApplicable(
                _("The promotion “%(name)s” is not running.") % {"name": promotion.name}
            )
        if not promotion_applies(promotion, unit):
            raise PromotionNotApplicable(
                _("The promotion “%(name)s” does not cover %(unit)s.")
                % {"name": promotion.name, "unit": unit}
            )
        promo_discount = promotion.discount_for(price=list_price, area=unit.total_area)
    if manual_discount < 0:
        raise PriceBelowMinimum(_("A discount cannot be negative."))
    price = list_price - promo_discount - manual_discount
    if price <= 0:
        raise PriceBelowMinimum(_("The discounts leave no price to pay."))
    if promotion is not None and promotion.min_price and price < promotion.min_price:
        raise PriceBelowMinimum(
            _("The price %(price)s ₽ is below the promotion's minimum of %(min)s ₽.")
            % {"price": _money(price), "min": _money(promotion.min_price)}
        )
    percent = SalesSettings.current().discount_approval_percent
    limit = list_price * percent / 100
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
    return PriceBreakdown(list_price, promo_discount, manual_discount, price, approved_by)


def _next_number(year: int) -> str:
    prefix = f"Д-{year}-"
    last = (
        Deal.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:05d}"


def _create_numbered(deal: Deal, year: int) -> Deal:
    """Save a new deal under the next free number; a number taken meanwhile by a deal on
    another unit is retried."""
    for _attempt in range(5):
        deal.number = _next_number(year)
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
    raise DealError(_("Could not give the deal a number; try again."))


def _convert_hold(hold: Hold, *, by, at: datetime) -> None:
    """Turn the live hold this deal takes over into the deal. The caller holds the unit's
    lock and got ``hold`` from ``_check_unit_free`` under it (so it is live)."""
    from .holds import convert_locked_hold

    convert_locked_hold(hold=hold, by=by, at=at)


@transaction.atomic
def deal_open(
    *,
    by,
    buyers: Iterable,
    unit: Unit | None = None,
    hold: Hold | None = None,
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
    """Open a deal on a unit, from a live hold (its frozen price) or straight from sale.

    Under the unit lock: no other active deal, no live hold for another client (a live hold
    for one of the buyers is taken over and turned into the deal), the unit available or
    reserved by that hold. The deal starts at the flow's first stage; the unit takes that
    stage's status. Prices: see ``deal_price`` (a discount above the threshold only when
    ``by`` is a sales head). The default payment schedule of ``payment_method`` is laid out
    in the same transaction (``schedule_generate``). Waiting clients of the unit's queue
    leave it (``holds.convert_locked_hold``). Raises ``UnitNotAvailable``, ``HoldNotLive``,
    ``BuyersInvalid``, ``PromotionNotApplicable``, ``DiscountNeedsApproval``,
    ``PriceBelowMinimum``, ``DealError`` (a flow without a first stage).
    """
    when = _now(at)
    unit_id = hold.unit_id if hold is not None else unit.pk if unit is not None else None
    if unit_id is None:
        raise UnitNotAvailable(_("Choose the unit of the deal."))
    unit, active = _settled(unit_lock(unit_id=unit_id), by=by, when=when)
    rows = _buyers(buyers)
    if hold is not None:
        # Live means active and not run out: then it is the unit's one active hold, read
        # (and a run-out one finalised) under the unit's lock just now.
        if active is None or active.pk != hold.pk or not active.is_live(when):
            raise HoldNotLive(_("The hold has ended: open the deal from the unit."))
        hold = active
    hold = _check_unit_free(
        unit, now=when, own_hold=hold, clients={b.client.pk for b in rows}, active=active
    )
    breakdown = deal_price(
        unit=unit,
        list_price=_list_price(unit, hold),
        by=by,
        promotion=promotion,
        manual_discount=manual_discount,
        on=timezone.localdate(when),
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
        area=unit.total_area,
        created_at=when,
        created_by=by,
    )
    deal = _create_numbered(deal, timezone.localdate(when).year)
    _save_buyers(deal, rows)
    if hold is not None:
        _convert_hold(hold, by=by, at=when)
    unit_set_sales_state(
        unit=unit,
        status=stage.unit_status,
        by=by,
        reason=_("Deal %(number)s") % {"number": deal.number},
        at=when,
    )
    DealEvent.objects.create(
        deal=deal,
        at=when,
        actor=by,
        kind=DealEventKind.CREATED,
        unit=unit,
        to_stage=stage,
        data={
            "number": deal.number,
            "hold": hold.pk if hold else None,
            "list_price": _money(deal.list_price),
            "promotion": promotion.name if promotion else None,
            "promotion_discount": _money(deal.promotion_discount),
            "manual_discount": _money(deal.manual_discount),
            "approved_by": str(deal.discount_approved_by) if deal.discount_approved_by else None,
            "price": _money(deal.price),
            "buyers": _buyers_data(rows),
        },
    )
    from .payments import _generate

    # A new deal has no schedule yet (``fresh``: nothing to read or delete).
    _generate(deal=deal, by=by, first_due=timezone.localdate(when), at=when, fresh=True)
    return deal


def _locked_deal(deal: Deal) -> tuple[Deal, Unit]:
    """The unit lock first (the one order every sales operation takes), then the deal."""
    unit = unit_lock(unit_id=deal.unit_id)
    # The deal's row only (``of``): locking its stage and flow rows too, as a plain FOR UPDATE
    # over the join does on PostgreSQL, would queue every deal at that stage behind this one.
    deal = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("stage", "scheme")
        .get(pk=deal.pk)
    )
    if deal.unit_id != unit.pk:  # swapped meanwhile: lock the unit it is on now
        unit = unit_lock(unit_id=deal.unit_id)
    if not deal.is_active:
        raise DealClosed(_("Deal %(number)s is closed.") % {"number": deal.number})
    return deal, unit


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
    — received payments ≥ ``total_due`` —, or a reason). A stage that ``needs_approval``
    (termination) is for a user holding ``sales.approve``. The unit takes the stage's status;
    a termination closes the deal and returns the unit to sale. Appends a ``DealEvent``
    (``stage``, or ``terminated``). Raises ``StageMoveRefused``, ``StageRequirementMissing``,
    ``ApprovalRequired``, ``DealClosed``.
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
        deal.registration_number, deal.registration_date = number, registration_date
        data.update(registration_number=number, registration_date=str(registration_date))
    elif required == StageRequirement.ACT:
        if act_date is None:
            raise StageRequirementMissing(_("Give the date of the handover act."), field="act_date")
        deal.act_date = act_date
        data["act_date"] = str(act_date)
    elif required == StageRequirement.PAID_IN_FULL:
        paid = paid_total(deal)
        if paid < deal.total_due:
            raise StageRequirementMissing(
                _("Paid %(paid)s ₽ of %(due)s ₽: the deal is not paid in full.")
                % {"paid": _money(paid), "due": _money(deal.total_due)}
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
                % {"planned": _money(planned), "due": _money(deal.total_due)}
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
    unit_set_sales_state(
        unit=unit,
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
    return deal


def termination_stage(deal: Deal) -> Stage | None:
    """The termination stage reachable from where the deal is, if any."""
    return (
        Stage.objects.filter(entries__source_id=deal.stage_id, is_termination=True)
        .order_by("order")
        .first()
    )


def deal_terminate(*, deal: Deal, by, reason: str, at: datetime | None = None) -> Deal:
    """Terminate a deal: ``deal_move`` to its flow's termination stage (reason required,
    sales head only). Raises ``StageMoveRefused`` when the flow has no termination from here."""
    stage = termination_stage(deal)
    if stage is None:
        raise StageMoveRefused(
            _("A deal at “%(stage)s” cannot be terminated.") % {"stage": deal.stage.label}
        )
    return deal_move(deal=deal, stage=stage, by=by, reason=reason, at=at)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DealError(_("Give a reason."), field="reason")
    return reason[:300]


@transaction.atomic
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


@transaction.atomic
def deal_swap_unit(*, deal: Deal, unit: Unit, by, reason: str, at: datetime | None = None) -> Deal:
    """Move an open deal to another unit (the buyers chose another flat), with a reason.

    The old unit goes back on sale; the new one must be free as for ``deal_open`` (a live hold
    for one of the deal's buyers is taken over) and takes the deal's stage status. The price
    is worked out again on the new unit's list price with the same promotion (dropped if it
    does not cover the new unit) and manual discount: a discount above the threshold keeps
    the sales head's approval it had while its share of the list price does not grow, else
    ``by`` must be a sales head (``deal_price``). Before signing, a changed price lays the
    default schedule out again; after signing, a change of price is refused (the schedule
    is fixed). Refused once the deal's stage counts the unit as sold or its BTI area is
    recorded. Both units get a ``DealEvent``.
    """
    when = _now(at)
    reason = _require_reason(reason)
    first, second = sorted([deal.unit_id, unit.pk])
    unit_lock(unit_id=first)
    unit_lock(unit_id=second)
    deal, old_unit = _locked_deal(deal)
    if unit.pk == old_unit.pk:
        raise UnitNotAvailable(_("The deal is already on this unit."))
    if deal.stage.unit_status == UnitStatus.SOLD:
        raise DealError(
            _("At “%(stage)s” the unit of a deal can no longer be swapped.")
            % {"stage": deal.stage.label}
        )
    if deal.bti_area is not None:
        raise DealError(_("The BTI area is recorded: the unit can no longer be swapped."))
    new_unit, active = _settled(unit_lock(unit_id=unit.pk), by=by, when=when)
    clients = set(deal.buyers.values_list("client_id", flat=True))
    hold = _check_unit_free(new_unit, now=when, own_hold=None, clients=clients, active=active)
    promotion = deal.promotion
    on = timezone.localdate(when)
    if promotion is not None and not (
        promotion.is_running(on) and promotion_applies(promotion, new_unit)
    ):
        promotion = None
    list_price = _list_price(new_unit, hold)
    breakdown = deal_price(
        unit=new_unit,
        list_price=list_price,
        by=by,
        promotion=promotion,
        manual_discount=deal.manual_discount,
        # The approval given covers the same share of a price, not a larger one.
        approved_by=deal.discount_approved_by if list_price >= deal.list_price else None,
        on=on,
    )
    if not deal.stage.is_initial and breakdown.price != deal.price:
        # The schedule is fixed once the contract is signed: it cannot follow a new price.
        raise DealError(
            _(
                "The contract is signed and the payment schedule fixed: the deal can move only "
                "to a unit at the same price (%(old)s ₽; on %(unit)s it would be %(new)s ₽)."
            )
            % {"old": _money(deal.price), "unit": new_unit, "new": _money(breakdown.price)},
            field="unit",
        )
    old_figures = {
        "unit": old_unit.pk,
        "unit_name": str(old_unit),
        "price": _money(deal.price),
        "area": str(deal.area),
    }
    # The old unit leaves the deal first: the one-active-deal-per-unit constraint holds.
    unit_set_sales_state(
        unit=old_unit,
        status=UnitStatus.AVAILABLE,
        by=by,
        reason=_("Deal %(number)s moved to %(unit)s") % {"number": deal.number, "unit": new_unit},
        at=when,
    )
    deal.unit = new_unit
    deal.hold = hold or deal.hold
    deal.promotion = promotion
    deal.list_price = breakdown.list_price
    deal.promotion_discount = breakdown.promotion_discount
    deal.discount_approved_by = breakdown.approved_by
    deal.price = breakdown.price
    deal.area = new_unit.total_area
    deal.save(
        update_fields=[
            "unit",
            "hold",
            "promotion",
            "list_price",
            "promotion_discount",
            "discount_approved_by",
            "price",
            "area",
        ]
    )
    if hold is not None:
        _convert_hold(hold, by=by, at=when)
    unit_set_sales_state(
        unit=new_unit,
        status=deal.stage.unit_status,
        by=by,
        reason=_("Deal %(number)s") % {"number": deal.number},
        at=when,
    )
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


@transaction.atomic
def deal_set_discount(
    *, deal: Deal, manual_discount: Decimal, by, reason: str, at: datetime | None = None
) -> Deal:
    """A sales head sets the manual discount of a deal before its contract is signed (a
    manager opened it without the discount that needs approval). ``by`` must hold
    ``sales.approve`` and is recorded as the approver of a discount above the threshold. The
    price is worked out again (``deal_price``, the same list price and promotion) and the
    default schedule laid out again for it. Raises ``ApprovalRequired``, ``DealClosed``,
    ``DealError`` (past the first stage, no reason), ``PriceBelowMinimum``.
    """
    when = _now(at)
    if not has_capability(by, SALES_APPROVE):
        raise ApprovalRequired(_("Only a sales head may set a deal's discount."))
    reason = _require_reason(reason)
    deal, unit = _locked_deal(deal)
    if not deal.stage.is_initial:
        raise DealError(
            _("At “%(stage)s” the contract is signed: the price can no longer change.")
            % {"stage": deal.stage.label},
            field="manual_discount",
        )
    breakdown = deal_price(
        unit=unit,
        list_price=deal.list_price,
        by=by,
        promotion=deal.promotion,
        manual_discount=manual_discount,
        on=timezone.localdate(when),
    )
    old = {
        "manual_discount": _money(deal.manual_discount),
        "price": _money(deal.price),
        "approved_by": str(deal.discount_approved_by) if deal.discount_approved_by else None,
    }
    deal.promotion_discount = breakdown.promotion_discount
    deal.manual_discount = breakdown.manual_discount
    deal.discount_approved_by = breakdown.approved_by
    deal.price = breakdown.price
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
    if deal.bti_area is not None:
        raise BtiRefused(
            _("The BTI area of this deal is already recorded (%(area)s m²).")
            % {"area": deal.bti_area}
        )
    settings = SalesSettings.current()
    adjustment = bti_adjustment(
        contract_area=deal.area,
        bti_area=bti_area,
        price_per_m2=deal.price_per_m2,
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
            "contract_area": str(deal.area),
            "bti_area": str(bti_area),
            "difference": str(bti_area - deal.area),
            "tolerance": str(settings.bti_tolerance_m2),
            "beyond_tolerance_only": settings.bti_charge_beyond_tolerance_only,
            "price_per_m2": _money(deal.price_per_m2),
            "adjustment": _money(adjustment),
            "due_date": str(due) if adjustment else None,
        },
    )
    return deal
