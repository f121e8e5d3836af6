"""Writers of payment schedules and received payments.

The schedule is planned money: ``schedule_generate`` lays it out from the deal's payment
method, ``schedule_line_save``/``schedule_line_delete`` edit it. It may change only while the
deal is at its flow's first stage (before the contract is signed), and no line falls due
before the deal's date. Received money is recorded by the cashier with ``payment_record``; it
never exceeds what the buyers still owe, nor, tied to a planned payment, what is left on it.
What is paid, outstanding or overdue is never stored: ``kvartal.sales.selectors`` computes it.

Every function is keyword-only and atomic, takes the unit row lock first (the lock every
sales operation takes, so a schedule edit and a signing cannot cross), appends a
``DealEvent`` in the same transaction and raises ``ScheduleLocked``/``PaymentRefused``
(``DomainError``) or ``ValidationError``; when it raises, nothing was changed.
"""

import calendar
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kvartal import audit
from kvartal.accounts.permissions import SALES_PAY, has_capability
from kvartal.core.errors import DomainError
from kvartal.inventory.services import unit_lock

from .. import owing, signals
from ..models import (
    Deal,
    DealEvent,
    DealEventKind,
    LineKind,
    Payer,
    Payment,
    PaymentLine,
    PaymentMethod,
)
from ..selectors import money_text, payment_states

KOPECK = Decimal("0.01")
DEFAULT_DOWN_PAYMENT_PERCENT = Decimal(20)
MAX_MONTHS = 360


class ScheduleLocked(DomainError):
    """The contract is signed (or the deal is closed): the schedule is fixed."""


class PaymentRefused(DomainError):
    field = "amount"


class LinePaidInFull(PaymentRefused):
    """The planned payment a payment was to be tied to has nothing left to pay."""

    field = "line"


class MoreThanLeftOnLine(PaymentRefused):
    """The payment is larger than what is left to pay on the planned payment it is tied to."""


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the 31st becomes the month's last day. Raises
    ``ValidationError`` past the calendar's end (year 9999)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    if not 1 <= year <= date.max.year:
        raise ValidationError(
            {"first_due": _("The schedule would run past the end of the calendar.")}
        )
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _locked_deal(deal: Deal, **annotations) -> Deal:
    """The deal re-read after the unit row lock, with what the checks need (and
    ``annotations``, read in the same query). A deal moved to another unit meanwhile (a
    swap committed between our read and the lock) is re-read under its current unit's lock,
    as ``deals._locked_deal`` does."""
    unit_id = deal.unit_id
    for _attempt in range(3):
        unit_lock(unit_id=unit_id)
        deal = Deal.objects.select_related("stage", "unit").annotate(**annotations).get(pk=deal.pk)
        if deal.unit_id == unit_id:
            return deal
        unit_id = deal.unit_id
    raise ScheduleLocked(_("The deal is being changed by someone else; try again."))


def schedule_is_editable(deal: Deal) -> bool:
    """The predicate the pages use: an active deal still at its flow's first stage."""
    return deal.is_active and deal.stage.is_initial


def _check_editable(deal: Deal) -> None:
    if not deal.is_active:
        raise ScheduleLocked(_("The deal is closed: its payment schedule cannot be changed."))
    if not deal.stage.is_initial:
        raise ScheduleLocked(
            _(
                "The deal is at the stage “%(stage)s”: the payment schedule can be changed "
                "only before the contract is signed."
            )
            % {"stage": deal.stage.name}
        )


def _check_due(deal: Deal, due_date: date, field: str) -> None:
    """A planned payment cannot fall due before the deal's date: the day it was opened, in
    the project's time zone (the date the deal's page and list show)."""
    opened_on = timezone.localdate(deal.created_at)
    if due_date < opened_on:
        raise ValidationError(
            {
                field: _("A planned payment cannot fall due before the deal's date (%(date)s).")
                % {"date": date_format(opened_on, "SHORT_DATE_FORMAT")}
            }
        )


def _money(value) -> Decimal:
    try:
        amount = Decimal(str(value).replace(" ", "").replace("\xa0", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationError(
            {"amount": _("Enter an amount in roubles, e.g. 150000.50.")}
        ) from None
    if not amount.is_finite():
        raise ValidationError({"amount": _("Enter an amount in roubles, e.g. 150000.50.")})
    if amount != amount.quantize(KOPECK):
        raise ValidationError({"amount": _("An amount has at most two decimals (kopecks).")})
    return amount


def _down_payment(value, total: Decimal) -> Decimal:
    """``value``: an amount, a string such as ``"20%"``, or ``None`` for the default 20 %."""
    if value is None or value == "":
        return (total * DEFAULT_DOWN_PAYMENT_PERCENT / 100).quantize(KOPECK)
    text = str(value).strip()
    if text.endswith("%"):
        try:
            percent = Decimal(text[:-1].strip().replace(",", "."))
        except InvalidOperation:
            raise ValidationError(
                {"down_payment": _("Enter an amount or a percent, e.g. 20%.")}
            ) from None
        if not percent.is_finite() or not 0 <= percent < 100:
            raise ValidationError(
                {"down_payment": _("A down payment percent is from 0 to below 100.")}
            )
        return (total * percent / 100).quantize(KOPECK)
    try:
        amount = _money(text)
    except ValidationError:
        raise ValidationError(
            {"down_payment": _("Enter an amount or a percent, e.g. 20%.")}
        ) from None
    if amount < 0:
        raise ValidationError({"down_payment": _("The down payment cannot be negative.")})
    if amount >= total:
        raise ValidationError(
            {"down_payment": _("The down payment must be less than the total due.")}
        )
    return amount


def _event(deal: Deal, by, kind: str, data: dict, reason: str = "", at=None) -> DealEvent:
    return DealEvent.objects.create(
        deal=deal,
        actor=by,
        kind=kind,
        unit_id=deal.unit_id,
        data=data,
        reason=reason,
        at=at or timezone.now(),
    )


def _line_data(line: PaymentLine) -> dict:
    return {
        "due_date": line.due_date.isoformat(),
        "amount": str(line.amount),
        "kind": line.kind,
        "payer": line.payer,
    }


def plan_lines(
    *,
    method: str,
    total: Decimal,
    first_due: date,
    down_payment=None,
    months: int = 12,
    mortgage_after_months: int = 1,
) -> list[PaymentLine]:
    """The lines of a schedule (unsaved), summing exactly to ``total``.

    Full payment: one lump sum on ``first_due``. Mortgage and subsidised programmes: the
    buyer's down payment on ``first_due`` and the bank's tranche ``mortgage_after_months``
    later. Instalments: the down payment, then ``months`` monthly payments starting a month
    later, equal to the kopeck with the last one absorbing the rounding. A zero down payment
    is left out.
    """
    if total <= 0:
        raise ValidationError(_("The deal has nothing to pay."))
    if method == PaymentMethod.FULL:
        return [PaymentLine(due_date=first_due, amount=total, kind=LineKind.LUMP_SUM)]
    down = _down_payment(down_payment, total)
    lines = []
    if down > 0:
        lines.append(PaymentLine(due_date=first_due, amount=down, kind=LineKind.DOWN_PAYMENT))
    rest = total - down
    if method in (PaymentMethod.MORTGAGE, PaymentMethod.SUBSIDISED):
        lines.append(
            PaymentLine(
                due_date=add_months(first_due, mortgage_after_months),
                amount=rest,
                kind=LineKind.MORTGAGE,
                payer=Payer.BANK,
            )
        )
        return lines
    if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise ValidationError(
            {"months": _("Instalments run from 1 to %(max)s months.") % {"max": MAX_MONTHS}}
        )
    each = (rest / months).quantize(KOPECK, rounding=ROUND_DOWN)
    if each <= 0:
        raise ValidationError({"months": _("Too many months for the amount left to pay.")})
    for n in range(1, months + 1):
        amount = each if n < months else rest - each * (months - 1)
        lines.append(
            PaymentLine(due_date=add_months(first_due, n), amount=amount, kind=LineKind.INSTALMENT)
        )
    return lines


@transaction.atomic
@audit.service
def schedule_generate(
    *,
    deal: Deal,
    by,
    first_due: date | None = None,
    down_payment=None,
    months: int = 12,
    payment_method: str | None = None,
    at=None,
) -> list[PaymentLine]:
    """Replace the deal's schedule with one laid out from its payment method (see
    ``plan_lines``); the lines sum exactly to ``deal.total_due``. ``down_payment`` is an
    amount or a percent (``"20%"``; default 20 %). ``payment_method`` changes the deal's
    method first when given. Raises ``ScheduleLocked`` once the deal is past its first stage,
    ``ValidationError`` for impossible figures or a ``first_due`` before the deal's date.
    """
    deal = _locked_deal(deal)
    _check_editable(deal)
    _generate(
        deal=deal,
        by=by,
        first_due=first_due,
        down_payment=down_payment,
        months=months,
        payment_method=payment_method,
        at=at,
    )
    return list(deal.schedule.all())


def _generate(
    *,
    deal: Deal,
    by,
    first_due: date | None = None,
    down_payment=None,
    months: int = 12,
    payment_method: str | None = None,
    at=None,
    fresh: bool = False,
) -> list[PaymentLine]:
    """``schedule_generate`` for a caller that holds the unit's lock in its transaction and
    has checked the deal may be planned (``deal_open`` on the deal it has just made)."""
    if payment_method and payment_method != deal.payment_method:
        if payment_method not in PaymentMethod.values:
            raise ValidationError({"payment_method": _("Unknown payment method.")})
        deal.payment_method = payment_method
        deal.save(update_fields=["payment_method"])
        # A promotion for full payment comes or goes with the method: price the deal again
        # before the schedule is laid out for what it owes.
        from .deals import deal_reprice

        deal_reprice(deal, by=by, when=at or timezone.now())
    lines = plan_lines(
        method=deal.payment_method,
        total=deal.total_due,
        first_due=first_due or timezone.localdate(),
        down_payment=down_payment,
        months=months,
    )
    if lines:
        _check_due(deal, min(line.due_date for line in lines), "first_due")
    old = [] if fresh else [_line_data(line) for line in deal.schedule.all()]
    with owing.deferred():  # the old lines go one by one, the new ones in bulk: kept once
        if old:
            deal.schedule.all().delete()
        for line in lines:
            line.deal = deal
        PaymentLine.objects.bulk_create(lines)
        owing.keep([deal.pk])
    _event(
        deal,
        by,
        DealEventKind.SCHEDULE,
        {
            "action": "generated",
            "method": deal.payment_method,
            "old": old,
            "new": [_line_data(line) for line in lines],
        },
        at=at,
    )
    return lines


@transaction.atomic
@audit.service
def schedule_line_save(
    *,
    deal: Deal,
    by,
    due_date: date,
    amount,
    kind: str,
    payer: str = Payer.BUYER,
    line: PaymentLine | None = None,
) -> PaymentLine:
    """Add a planned payment (``line`` None) or change one, before the contract is signed.
    Raises ``ScheduleLocked`` after signing, ``ValidationError`` for a zero amount, an
    unknown kind or payer, a due date before the deal's date, or a line of another deal."""
    deal = _locked_deal(deal)
    _check_editable(deal)
    amount = _money(amount)
    if amount <= 0:
        raise ValidationError({"amount": _("A planned payment must be greater than zero.")})
    if kind not in LineKind.values:
        raise ValidationError({"kind": _("Unknown kind of payment.")})
    if payer not in Payer.values:
        raise ValidationError({"payer": _("Unknown payer.")})
    _check_due(deal, due_date, "due_date")
    if line is None:
        old = None
        line = PaymentLine(deal=deal)
    else:
        line = PaymentLine.objects.filter(pk=line.pk, deal=deal).first()
        if line is None:
            raise ValidationError(_("This planned payment belongs to another deal."))
        old = _line_data(line)
    line.due_date, line.amount, line.kind, line.payer = due_date, amount, kind, payer
    line.save()
    _event(
        deal,
        by,
        DealEventKind.SCHEDULE,
        {"action": "changed" if old else "added", "old": old, "new": _line_data(line)},
    )
    return line


@transaction.atomic
@audit.service
def schedule_line_delete(*, deal: Deal, line: PaymentLine, by) -> None:
    """Remove a planned payment before the contract is signed (payments recorded against it
    stay and count towards the earliest lines). Raises ``ScheduleLocked`` after signing."""
    deal = _locked_deal(deal)
    _check_editable(deal)
    line = PaymentLine.objects.filter(pk=line.pk, deal=deal).first()
    if line is None:
        raise ValidationError(_("This planned payment belongs to another deal."))
    old = _line_data(line)
    line.delete()
    _event(deal, by, DealEventKind.SCHEDULE, {"action": "deleted", "old": old, "new": None})


@transaction.atomic
@audit.service
def payment_record(
    *,
    deal: Deal,
    amount,
    received_on: date,
    by,
    line: PaymentLine | None = None,
    document: str = "",
    channel: str = "",
    at=None,
) -> Payment:
    """Record money received against a deal (the cashier's desk, ``sales.pay``), recorded
    ``at`` (default: now).

    Refused (``PaymentRefused``) for a closed deal, a zero or negative amount, or one above
    what is outstanding (the total due less what was received); ``LinePaidInFull`` for a
    ``line`` that what was received already covers (as ``selectors.allocate`` shares it out),
    ``MoreThanLeftOnLine`` for an amount above what is left on ``line`` (the cashier ties the
    rest to another line or to none; the receipt never names a line the money did not go to);
    ``ValidationError`` for a non-number, more than two decimals, a date in the future or a
    line of another deal. ``line`` ties the payment to a planned payment; without it, the
    payment covers the earliest lines.
    """
    if not has_capability(by, SALES_PAY):
        raise PaymentRefused(_("Only the cashier records received payments."))
    amount = _money(amount)
    received_sum = (
        Payment.objects.filter(deal_id=OuterRef("pk"))
        .order_by()
        .values("deal_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    deal = _locked_deal(deal, received=Subquery(received_sum))
    if not deal.is_active:
        raise PaymentRefused(_("The deal is closed: no payment can be recorded against it."))
    if amount <= 0:
        raise PaymentRefused(_("A payment must be greater than zero."))
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": _("The date of receipt cannot be in the future.")})
    received = Decimal(deal.received or 0)
    outstanding = deal.total_due - received
    if amount > outstanding:
        raise PaymentRefused(
            _("%(amount)s ₽ is more than the outstanding %(outstanding)s ₽: nothing was recorded.")
            % {"amount": money_text(amount), "outstanding": money_text(outstanding)}
        )
    if line is not None and line.deal_id != deal.pk:
        raise ValidationError({"line": _("This planned payment belongs to another deal.")})
    if line is not None:
        state = payment_states({deal.pk: deal.total_due})[deal.pk]
        planned = next((s for s in state.lines if s.line.pk == line.pk), None)
        if planned is not None and planned.remaining <= 0:
            raise LinePaidInFull(
                _(
                    "The planned payment due %(date)s (%(amount)s ₽) is already paid in full: "
                    "record the payment against another one, or against none (the earliest "
                    "unpaid ones)."
                )
                % {
                    "date": date_format(planned.line.due_date, "SHORT_DATE_FORMAT"),
                    "amount": money_text(planned.line.amount),
                }
            )
        if planned is not None and amount > planned.remaining:
            raise MoreThanLeftOnLine(
                _(
                    "%(amount)s ₽ is more than the %(left)s ₽ left to pay on the planned "
                    "payment due %(date)s: nothing was recorded. Record at most %(left)s ₽ "
                    "against it and the rest against another one, or against none (the "
                    "earliest unpaid ones)."
                )
                % {
                    "amount": money_text(amount),
                    "left": money_text(planned.remaining),
                    "date": date_format(planned.line.due_date, "SHORT_DATE_FORMAT"),
                }
            )
    payment = Payment.objects.create(
        deal=deal,
        line=line,
        received_on=received_on,
        amount=amount,
        document=document,
        channel=channel,
        recorded_by=by,
        recorded_at=at or timezone.now(),
    )
    _event(
        deal,
        by,
        DealEventKind.PAYMENT,
        {
            "payment": payment.pk,
            "amount": str(amount),
            "received_on": received_on.isoformat(),
            "line": line.pk if line else None,
            "document": document,
            "channel": channel,
            "outstanding": str(outstanding - amount),
        },
        at=at,
    )
    signals.payment_recorded.send(sender=Payment, deal=deal, payment=payment, by=by)
    return payment
