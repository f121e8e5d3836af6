"""Sales office: the managers — what each one did in the period, from leads to money.

Per person with any activity in the period: leads received (the lead's manager), visits
registered (who received the visitor), holds made, deals opened, sales (the units that became
sold, credited to the manager of the deal — ``facts.sales``' definition, summed by
``sales_by_manager``) with their m², sum and average discount off the list price, deals
terminated, the share of the holds made that turned into deals, and the payments received
on their deals (by the date of receipt). Sorted by the sum sold.

The unit filters (project, building, section, type) apply to what has a unit — holds, deals,
sales, terminations, payments; leads and visits count whatever they were about. Eight small
grouped queries whatever the data size: one per kind of activity (leads, visits, holds, deals,
terminations, payments), one for the sales, one for the names.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.models import User
from kvartal.clients.models import Lead, Visit
from kvartal.sales.models import Deal, DealEvent, Hold, HoldState, Payment

from ..base import Params, Report, register
from ..facts import Totals, percent, sales
from ..results import Chart, Column, Figure, Result, Series, Table

COUNTS = ("leads", "visits", "holds", "converted", "deals", "terminated")


def _in_period(params: Params, field: str) -> Q:
    period = params.period
    return Q(**{f"{field}__gte": period.since, f"{field}__lt": period.until})


def _grouped(queryset, by: str, **aggregates) -> dict:
    """``{value of by: {name: aggregate}}`` in one GROUP BY."""
    return {
        row.pop(by): row
        for row in queryset.values(by).annotate(**aggregates).order_by()
        if row[by] is not None
    }


def sales_by_manager(params: Params) -> dict:
    """``{manager id (None without a deal): Totals}`` of the period's sales (``facts.sales``)."""
    result: dict = defaultdict(Totals)
    for sale in sales(params, by_manager=False):
        result[sale.manager_id].add(sale.area, sale.price, sale.list_price)
    return dict(result)


@register
class Managers(Report):
    key = "managers"
    title = _("Managers")
    description = _(
        "Each manager's work in the period: leads, visits, holds, deals opened, units sold "
        "with their m², sum and average discount, terminations, hold-to-deal conversion and "
        "the payments collected on their deals."
    )
    group = "office"
    fields = ("period", "project", "building", "section", "unit_type")
    landscape = True

    def run(self, params: Params) -> Result:
        period = params.period
        activity: dict = defaultdict(lambda: dict.fromkeys(COUNTS, 0))

        def put(name: str, rows: dict, key: str = "n") -> None:
            for manager_id, values in rows.items():
                activity[manager_id][name] = values[key]

        put(
            "leads",
            _grouped(
                Lead.objects.filter(_in_period(params, "created_at")), "manager", n=Count("pk")
            ),
        )
        put(
            "visits",
            _grouped(Visit.objects.filter(_in_period(params, "at")), "received_by", n=Count("pk")),
        )
        holds = _grouped(
            Hold.objects.filter(_in_period(params, "starts_at"), params.unit_q()),
            "manager",
            n=Count("pk"),
            converted=Count("pk", filter=Q(state=HoldState.CONVERTED)),
        )
        put("holds", holds)
        put("converted", holds, "converted")
        put(
            "deals",
            _grouped(
                Deal.objects.filter(_in_period(params, "created_at"), params.unit_q()),
                "manager",
                n=Count("pk"),
            ),
        )
        put(
            "terminated",
            _grouped(
                DealEvent.objects.filter(
                    _in_period(params, "at"),
                    params.unit_q("deal__unit__"),
                    to_stage__is_termination=True,
                ),
                "deal__manager",
                n=Count("deal", distinct=True),
            ),
        )
        payments = _grouped(
            Payment.objects.filter(
                params.unit_q("deal__unit__"),
                received_on__gte=period.start,
                received_on__lte=period.end,
            ),
            "deal__manager",
            amount=Sum("amount"),
        )
        sold = sales_by_manager(params)
        people = {p for p in set(activity) | set(payments) | set(sold) if params.covers(p)}
        users = User.objects.filter(pk__in=[p for p in people if p is not None])
        names = {
            user.pk: user.get_full_name() or user.username
            for user in users.only("first_name", "last_name", "username")
        }
        rows = []
        total = Totals()
        sums = dict.fromkeys(COUNTS, 0) | {"payments": Decimal(0)}
        for person in people:
            counts = activity.get(person, dict.fromkeys(COUNTS, 0))
            totals = sold.get(person, Totals())
            paid = payments.get(person, {}).get("amount") or Decimal(0)
            rows.append(self._row(names.get(person, _("No deal")), counts, totals, paid))
            for key in COUNTS:
                sums[key] += counts[key]
            sums["payments"] += paid
            total.count += totals.count
            total.area += totals.area
            total.amount += totals.amount
            total.list_amount += totals.list_amount
        rows.sort(key=lambda r: (-r["amount"], str(r["manager"])))
        table = Table(
            "managers",
            _("Managers"),
            [
                Column("manager", _("Manager")),
                Column("leads", _("Leads"), "int"),
                Column("visits", _("Visits"), "int"),
                Column("holds", _("Holds"), "int"),
                Column("deals", _("Deals opened"), "int"),
                Column("count", _("Units sold"), "int"),
                Column("area", _("m² sold"), "area"),
                Column("amount", _("Sum sold, ₽"), "money"),
                Column("discount", _("Average discount"), "percent"),
                Column("terminated", _("Deals terminated"), "int"),
                Column("conversion", _("Hold → deal"), "percent"),
                Column("payments", _("Payments collected, ₽"), "money"),
            ],
            rows,
            total=self._row(_("Total"), sums, total, sums["payments"]),
            empty=_("Nobody received a lead, held a unit, opened a deal or sold in this period."),
        )
        chart = Chart(
            "amount",
            _("Sum sold by manager"),
            [str(r["manager"]) for r in rows],
            [Series(str(_("Sum sold, ₽")), [r["amount"] for r in rows])],
            kind="bar",
            value_kind="money",
        )
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Units sold"), total.count),
                Figure(_("Sales, ₽"), total.amount, "money"),
                Figure(_("Average discount"), table.total["discount"], "percent"),
                Figure(_("Payments collected, ₽"), sums["payments"], "money"),
            ],
            tables=[table],
            charts=[chart] if rows else [],
            notes=[
                _(
                    "Sales are the units that became sold in the period, credited to the "
                    "manager of the deal; the discount is Σ (list price − deal price) ÷ Σ list "
                    "price over them. Hold → deal: the holds made in the period that have "
                    "turned into a deal. Payments: received in the period on the manager's "
                    "deals."
                ),
                _(
                    "The unit filters apply to holds, deals, sales, terminations and payments; "
                    "leads and visits are counted whatever unit they were about."
                ),
            ],
            landscape=True,
        )

    @staticmethod
    def _row(label, counts: dict, totals: Totals, payments: Decimal) -> dict:
        return {
            "manager": label,
            "leads": counts["leads"],
            "visits": counts["visits"],
            "holds": counts["holds"],
            "deals": counts["deals"],
            "count": totals.count,
            "area": totals.area,
            "amount": totals.amount,
            "discount": percent(totals.list_amount - totals.amount, totals.list_amount),
            "terminated": counts["terminated"],
            "conversion": percent(counts["converted"], counts["holds"]),
            "payments": payments,
        }
