"""The commissions report, registered with the analytics suite (analytics imports nothing
from here): accrued, held back, payable and paid per agency and per manager in the period,
from the same ledger rows as the statements."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from kvartal.analytics.base import Params, Report, register
from kvartal.analytics.results import Column, Figure, Result, Table

from .models import Bucket, CommissionEntry, EntryKind, Statement

ZERO = Decimal(0)


def _rows(owner: str, params: Params) -> list[dict]:
    period = params.period
    since, until = period.start, period.end + timedelta(days=1)
    entries = CommissionEntry.objects.filter(**{f"{owner}__isnull": False})
    accrued = Q(
        kind__in=[EntryKind.ACCRUAL, EntryKind.HOLDBACK], booked_on__gte=since, booked_on__lt=until
    )
    figures = entries.values(owner).annotate(
        accrued=Sum("amount", filter=accrued),
        held=Sum("amount", filter=Q(bucket=Bucket.HELD, booked_on__lt=until)),
        payable=Sum(
            "amount",
            filter=Q(bucket=Bucket.PAYABLE, booked_on__lt=until)
            & (Q(statement__isnull=True) | Q(statement__paid_on__isnull=True)),
        ),
    )
    paid = dict(
        Statement.objects.filter(
            paid_on__gte=since, paid_on__lt=until, **{f"{owner}__isnull": False}
        )
        .values_list(owner)
        .annotate(s=Sum("payable"))
        .order_by()
    )
    names = {}
    model = CommissionEntry._meta.get_field(owner).related_model
    for obj in model.objects.filter(pk__in=[f[owner] for f in figures] + list(paid)):
        names[obj.pk] = str(obj)
    rows = []
    for f in figures:
        rows.append(
            {
                "name": names.get(f[owner], ""),
                "accrued": f["accrued"] or ZERO,
                "held": f["held"] or ZERO,
                "payable": f["payable"] or ZERO,
                "paid": paid.pop(f[owner], ZERO),
            }
        )
    for pk, amount in paid.items():
        rows.append(
            {
                "name": names.get(pk, ""),
                "accrued": ZERO,
                "held": ZERO,
                "payable": ZERO,
                "paid": amount,
            }
        )
    return sorted(rows, key=lambda r: r["name"])


def _table(key, title, rows, who) -> Table:
    money = [
        ("accrued", _("Accrued, ₽")),
        ("held", _("Held back, ₽")),
        ("payable", _("Payable, ₽")),
        ("paid", _("Paid, ₽")),
    ]
    total = {"name": _("Total")} | {k: sum((r[k] for r in rows), ZERO) for k, _l in money}
    return Table(
        key,
        title,
        [Column("name", who), *(Column(k, label, "money") for k, label in money)],
        rows,
        total=total,
        empty=_("No commissions in this period."),
    )


@register
class Commissions(Report):
    key = "commissions"
    title = _("Commissions")
    description = _(
        "Agencies' and managers' commissions: accrued in the period from the money received, "
        "held back and payable at its end, paid by statements in it."
    )
    group = "office"
    fields = ("period",)

    def run(self, params: Params) -> Result:
        agencies = _rows("agency", params)
        managers = _rows("manager", params)
        return Result(
            title=str(self.title),
            figures=[
                Figure(
                    _("Accrued"), sum((r["accrued"] for r in agencies + managers), ZERO), "money"
                ),
                Figure(_("Paid"), sum((r["paid"] for r in agencies + managers), ZERO), "money"),
            ],
            tables=[
                _table("agencies", _("Agencies"), agencies, _("Agency")),
                _table("managers", _("Managers"), managers, _("Manager")),
            ],
        )
