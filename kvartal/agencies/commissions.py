"""Commissions: agencies' and managers' shares of the money received, settled by statements.

Accrual follows money actually received: on each payment the deal's commission accrued so far
is ``round(total × received ÷ total_due)`` to the kopeck, and the new entry is the difference
from what was accrued before, so the entries of a deal always add up exactly to its commission
once it is paid in full. While the hold-back is not released, ``round(accrued × holdback %)``
of the accrued sum sits in the "held" bucket, the rest is payable; the deal reaching the stage
the rule names (its requirement: registration or the handover act) releases it. A termination
reverses every entry not yet on a statement and books a clawback of what was (the next
statement deducts it).

The sales services announce payments and stage moves through ``kvartal.sales.signals``; the
receivers below write their entries in the same transaction.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal import audit
from kvartal.accounts.permissions import COMMISSIONS_SETTLE, has_capability
from kvartal.core.errors import DomainError
from kvartal.sales.models import Deal, Payment

from .models import (
    Bucket,
    CommissionEntry,
    CommissionKind,
    CommissionRule,
    CommissionTier,
    DealCommission,
    EntryKind,
    ManagerCommissionRule,
    Statement,
)

KOPECK = Decimal("0.01")
ZERO = Decimal(0)


class CommissionError(DomainError):
    pass


class TiersOverlap(CommissionError):
    field = "tiers"


def kopecks(value: Decimal) -> Decimal:
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    from_count: int
    to_count: int | None
    value: Decimal


def check_tiers(tiers: list[Tier]) -> list[Tier]:
    """Tiers sorted, or ``TiersOverlap`` naming the two that overlap (or a tier whose end is
    before its start)."""
    ordered = sorted(tiers, key=lambda t: t.from_count)
    for tier in ordered:
        if tier.from_count < 1 or (tier.to_count is not None and tier.to_count < tier.from_count):
            raise TiersOverlap(
                _("The tier %(tier)s ends before it starts.") % {"tier": _label(tier)}
            )
        if tier.value <= 0:
            raise TiersOverlap(_("The tier %(tier)s needs a value.") % {"tier": _label(tier)})
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.to_count is None or after.from_count <= before.to_count:
            raise TiersOverlap(
                _("The tiers %(a)s and %(b)s overlap.") % {"a": _label(before), "b": _label(after)}
            )
    return ordered


def _label(tier: Tier) -> str:
    return f"{tier.from_count}–{tier.to_count if tier.to_count is not None else '∞'}"


def parse_tiers(text: str) -> list[Tier]:
    """``"1-5: 3.0"`` per line (``"11-: 4"``: no upper bound) → tiers; ``ValidationError``."""
    tiers = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            span, value = line.split(":")
            low, high = span.split("-")
            tiers.append(
                Tier(int(low), int(high) if high.strip() else None, Decimal(value.strip()))
            )
        except (ValueError, ArithmeticError):
            raise ValidationError(
                {"tiers": _("Line %(n)s: write a tier as “1-5: 3.0”.") % {"n": number}}
            ) from None
    return tiers


@transaction.atomic
def commission_rule_save(
    *, by, tiers: list[Tier] = (), rule: CommissionRule | None = None, **fields
) -> CommissionRule:
    """Create or change a rule with its volume tiers. ``TiersOverlap``: overlapping tiers
    (nothing saved); ``CommissionError``: not the accountant or an administrator."""
    if not has_capability(by, COMMISSIONS_SETTLE):
        raise CommissionError(_("Only the accountant sets commission rules."))
    ordered = check_tiers(list(tiers))
    rule = rule or CommissionRule()
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    rule.tiers.all().delete()
    CommissionTier.objects.bulk_create(
        CommissionTier(rule=rule, from_count=t.from_count, to_count=t.to_count, value=t.value)
        for t in ordered
    )
    return rule


def _most_specific(rules: list[CommissionRule], unit) -> CommissionRule | None:
    fits = [
        r
        for r in rules
        if (r.project_id is None or r.project_id == unit.building.project_id)
        and (r.unit_kind == "" or r.unit_kind == unit.kind)
    ]
    return min(fits, key=lambda r: (r.project_id is None, r.unit_kind == "", r.pk), default=None)


def _agency_rules(deal: Deal) -> list[CommissionRule]:
    return list(
        CommissionRule.objects.filter(agency_id=deal.agency_id, is_active=True).prefetch_related(
            "tiers"
        )
    )


def rule_for(deal: Deal) -> CommissionRule | None:
    """The most specific active rule of the deal's agency for its main unit: project and
    unit kind match (a blank one matches any); a named project before none, a named kind
    before none."""
    return _most_specific(_agency_rules(deal), deal.unit)


def deal_commission(deal: Deal) -> tuple[CommissionRule | None, Decimal]:
    """The agency's commission on a deal of one or more units: each unit of the deal takes
    the most specific rule for itself (an apartment's rule, a parking space's rule, or none),
    and a rule's % or per m² is on the price and area of the units it covers (their
    ``DealUnit`` figures: the deal's price split by the units' prices); a fixed amount is
    paid once per rule and deal. Returns the main unit's rule (or the first that applies)
    and the total; ``(None, 0)`` when no unit has a rule."""
    rules = _agency_rules(deal)
    groups: dict[int, list] = {}
    main_rule = first_rule = None
    rows = list(deal.current_units())
    if not rows:  # a deal made before its units were recorded
        rule = _most_specific(rules, deal.unit)
        return rule, commission_total(rule, deal) if rule is not None else ZERO
    for row in rows:
        rule = _most_specific(rules, row.unit)
        if rule is None:
            continue
        first_rule = first_rule or rule
        if row.unit_id == deal.unit_id:
            main_rule = rule
        group = groups.setdefault(rule.pk, [rule, ZERO, ZERO])
        group[1] += row.price
        group[2] += row.area
    total = sum(
        (
            commission_total(rule, deal, price=price, area=area)
            for rule, price, area in groups.values()
        ),
        ZERO,
    )
    return main_rule or first_rule, total


def _quarter(day: date) -> tuple[date, date]:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last = date(first.year + (first.month + 3 > 12), (first.month + 2) % 12 + 1, 1)
    return first, last


def commission_total(
    rule: CommissionRule, deal: Deal, *, price: Decimal | None = None, area: Decimal | None = None
) -> Decimal:
    """The commission on ``deal`` by ``rule``: the tier of the agency's deals opened in the
    deal's quarter (this one counted), else the rule's value; %, fixed or per m². ``price``
    and ``area``: the base (the units of the deal the rule covers), the deal's by default."""
    price = deal.price if price is None else price
    area = deal.area if area is None else area
    value = rule.value
    tiers = list(rule.tiers.all())
    if tiers:
        start, end = _quarter(timezone.localdate(deal.created_at))
        count = (
            Deal.objects.filter(
                agency_id=deal.agency_id,
                created_at__date__gte=start,
                created_at__date__lt=end,
            )
            .filter(Q(is_active=True) | Q(pk=deal.pk))
            .count()
        )
        for tier in tiers:
            if tier.from_count <= count and (tier.to_count is None or count <= tier.to_count):
                value = tier.value
                break
    if rule.kind == CommissionKind.PERCENT:
        return kopecks(price * value / 100)
    if rule.kind == CommissionKind.PER_M2:
        return kopecks(area * value)
    return kopecks(value)


# --- the ledger -----------------------------------------------------------------------------


def _entry(**fields) -> None:
    if fields["amount"]:
        CommissionEntry.objects.create(**fields)


def _received(deal: Deal) -> Decimal:
    return Payment.objects.filter(deal=deal).aggregate(s=Sum("amount"))["s"] or ZERO


def _sum(q) -> Decimal:
    return CommissionEntry.objects.filter(q).aggregate(s=Sum("amount"))["s"] or ZERO


def _accrue_agency(deal: Deal, payment: Payment, day: date) -> None:
    if deal.agency_id is None:
        return
    dc = DealCommission.objects.select_for_update().filter(deal=deal).first()
    if dc is None:
        rule, total = deal_commission(deal)
        if rule is None:
            return
        dc = DealCommission.objects.create(
            deal=deal,
            agency_id=deal.agency_id,
            rule=rule,
            total=total,
            holdback_percent=rule.holdback_percent,
            release_at=rule.release_at,
        )
    if dc.ended:
        return
    mine = Q(deal=deal, agency_id=dc.agency_id)
    accrued_before = _sum(mine & Q(kind__in=[EntryKind.ACCRUAL, EntryKind.HOLDBACK]))
    accrued_now = kopecks(dc.total * _received(deal) / deal.total_due)
    delta = accrued_now - accrued_before
    if dc.released:
        held_delta = ZERO
    else:
        held_now = kopecks(accrued_now * dc.holdback_percent / 100)
        held_delta = held_now - _sum(mine & Q(kind=EntryKind.HOLDBACK))
    common = {"agency_id": dc.agency_id, "deal": deal, "payment": payment, "booked_on": day}
    _entry(kind=EntryKind.ACCRUAL, bucket=Bucket.PAYABLE, amount=delta - held_delta, **common)
    _entry(kind=EntryKind.HOLDBACK, bucket=Bucket.HELD, amount=held_delta, **common)


def _manager_rule(manager_id: int) -> ManagerCommissionRule | None:
    return (
        ManagerCommissionRule.objects.filter(manager_id=manager_id).first()
        or ManagerCommissionRule.objects.filter(manager__isnull=True).first()
    )


def _accrue_manager(deal: Deal, payment: Payment, day: date) -> None:
    rule = _manager_rule(deal.manager_id)
    if rule is None:
        return
    amount = payment.amount
    below, above = amount, ZERO
    if rule.plan is not None and rule.percent_over_plan is not None:
        month = day.replace(day=1)
        before = (
            Payment.objects.filter(
                deal__manager_id=deal.manager_id,
                received_on__gte=month,
                received_on__lte=day,
            )
            .exclude(pk=payment.pk)
            .aggregate(s=Sum("amount"))["s"]
            or ZERO
        )
        below = max(ZERO, min(amount, rule.plan - before))
        above = amount - below
    share = kopecks(below * rule.percent / 100 + above * (rule.percent_over_plan or ZERO) / 100)
    _entry(
        manager_id=deal.manager_id,
        deal=deal,
        payment=payment,
        booked_on=day,
        kind=EntryKind.ACCRUAL,
        bucket=Bucket.PAYABLE,
        amount=share,
    )


def on_payment(sender, *, deal: Deal, payment: Payment, by, **kwargs) -> None:
    """``sales.signals.payment_recorded``: accrue the agency's and the manager's shares."""
    _accrue_agency(deal, payment, payment.received_on)
    _accrue_manager(deal, payment, payment.received_on)


def _release(deal: Deal, day: date) -> None:
    dc = DealCommission.objects.select_for_update().filter(deal=deal).first()
    if dc is None or dc.released or dc.ended:
        return
    held = _sum(Q(deal=deal, agency_id=dc.agency_id, bucket=Bucket.HELD))
    common = {"agency_id": dc.agency_id, "deal": deal, "booked_on": day, "kind": EntryKind.RELEASE}
    _entry(bucket=Bucket.HELD, amount=-held, **common)
    _entry(bucket=Bucket.PAYABLE, amount=held, **common)
    dc.released = True
    dc.save(update_fields=["released"])


def _terminate(deal: Deal, day: date) -> None:
    """Reverse what is not on a statement, claw back what is (agency and manager alike)."""
    dc = DealCommission.objects.select_for_update().filter(deal=deal).first()
    if dc is not None:
        dc.ended = True
        dc.save(update_fields=["ended"])
    owners = CommissionEntry.objects.filter(deal=deal).values_list("agency_id", "manager_id")
    for agency_id, manager_id in set(owners):
        mine = Q(deal=deal, agency_id=agency_id, manager_id=manager_id)
        common = {"agency_id": agency_id, "manager_id": manager_id, "deal": deal, "booked_on": day}
        unsettled = mine & Q(statement__isnull=True)
        _entry(
            kind=EntryKind.REVERSAL,
            bucket=Bucket.HELD,
            amount=-_sum(unsettled & Q(bucket=Bucket.HELD)),
            **common,
        )
        _entry(
            kind=EntryKind.REVERSAL,
            bucket=Bucket.PAYABLE,
            amount=-_sum(unsettled & Q(bucket=Bucket.PAYABLE)),
            **common,
        )
        _entry(
            kind=EntryKind.CLAWBACK,
            bucket=Bucket.PAYABLE,
            amount=-_sum(mine & Q(statement__isnull=False)),
            **common,
        )


def on_deal_moved(sender, *, deal: Deal, source, target, by, at, **kwargs) -> None:
    """``sales.signals.deal_moved``: release the hold-back at the rule's stage; a termination
    reverses and claws back."""
    day = timezone.localdate(at)
    if target.is_termination:
        _terminate(deal, day)
        return
    dc = DealCommission.objects.filter(deal=deal).only("release_at").first()
    if dc is not None and target.requires == dc.release_at:
        _release(deal, day)


# --- statements -----------------------------------------------------------------------------


@dataclass
class Balance:
    accrued: Decimal = ZERO
    held_back: Decimal = ZERO
    payable: Decimal = ZERO
    paid: Decimal = ZERO


def _owner_q(*, agency_id=None, manager_id=None) -> Q:
    return Q(agency_id=agency_id) if agency_id is not None else Q(manager_id=manager_id)


def balance(*, agency_id=None, manager_id=None, date_from=None, date_to=None) -> Balance:
    """Accrued in the period, held back and payable (not yet on a statement) at its end, paid
    by statements paid in it."""
    owner = _owner_q(agency_id=agency_id, manager_id=manager_id)
    upto = Q(booked_on__lte=date_to) if date_to else Q()
    since = Q(booked_on__gte=date_from) if date_from else Q()
    paid = Statement.objects.filter(owner, paid_on__isnull=False)
    if date_from:
        paid = paid.filter(paid_on__gte=date_from)
    if date_to:
        paid = paid.filter(paid_on__lte=date_to)
    return Balance(
        accrued=_sum(owner & upto & since & Q(kind__in=[EntryKind.ACCRUAL, EntryKind.HOLDBACK])),
        held_back=_sum(owner & upto & Q(bucket=Bucket.HELD)),
        payable=_sum(owner & upto & Q(bucket=Bucket.PAYABLE, statement__isnull=True)),
        paid=paid.aggregate(s=Sum("payable"))["s"] or ZERO,
    )


def agency_summary(agency_id: int) -> Balance:
    return balance(agency_id=agency_id)


@transaction.atomic
def statement_create(*, by, date_from: date, date_to: date, agency=None, manager=None) -> Statement:
    """Put every payable entry of the agency (or manager) booked up to ``date_to`` and not yet
    settled on a new statement. ``CommissionError``: not the accountant, an inverted period,
    nothing to settle, both or neither of agency and manager."""
    if not has_capability(by, COMMISSIONS_SETTLE):
        raise CommissionError(_("Only the accountant makes commission statements."))
    if (agency is None) == (manager is None):
        raise CommissionError(_("Choose an agency or a manager."))
    if date_from > date_to:
        raise CommissionError(_("The period ends before it starts."), field="date_to")
    owner = _owner_q(agency_id=getattr(agency, "pk", None), manager_id=getattr(manager, "pk", None))
    entries = CommissionEntry.objects.select_for_update().filter(
        owner, bucket=Bucket.PAYABLE, statement__isnull=True, booked_on__lte=date_to
    )
    ids = list(entries.values_list("pk", flat=True))
    if not ids:
        raise CommissionError(_("Nothing to settle up to this date."))
    figures = balance(
        agency_id=getattr(agency, "pk", None),
        manager_id=getattr(manager, "pk", None),
        date_from=date_from,
        date_to=date_to,
    )
    statement = Statement.objects.create(
        agency=agency,
        manager=manager,
        date_from=date_from,
        date_to=date_to,
        accrued=figures.accrued,
        held_back=figures.held_back,
        payable=figures.payable,
        created_by=by,
    )
    audit.update(
        CommissionEntry.objects.filter(pk__in=ids), where={"ids": list(ids)}, statement=statement
    )
    return statement


@transaction.atomic
def statement_pay(*, statement: Statement, by, paid_on: date, document: str) -> Statement:
    """Record that a statement was paid. ``CommissionError``: already paid, no document, a
    date in the future, not the accountant, or a statement that owes (negative: nothing to
    pay, it is deducted next time)."""
    if not has_capability(by, COMMISSIONS_SETTLE):
        raise CommissionError(_("Only the accountant records payments of statements."))
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    if statement.paid_on is not None:
        raise CommissionError(_("This statement is already paid."))
    if not (document or "").strip():
        raise CommissionError(_("Give the payment document's number."), field="document")
    if paid_on > timezone.localdate():
        raise CommissionError(_("The payment date cannot be in the future."), field="paid_on")
    statement.paid_on, statement.paid_document, statement.paid_by = paid_on, document.strip(), by
    statement.save(update_fields=["paid_on", "paid_document", "paid_by"])
    return statement
