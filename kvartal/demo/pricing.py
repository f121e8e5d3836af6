"""The demo's pricing: a sales plan per project for the history's months and the next six,
one dynamic pricing rule, and today's recommendations (so the backtest and the queue show
something on the demo data)."""

from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.analytics.periods import next_step
from kvartal.inventory.models import Project, StatusChange, Unit, UnitStatus
from kvartal.pricing import services
from kvartal.pricing.models import Rule


def setup_pricing(say) -> None:
    say("Pricing: the sales plan, a rule and today's recommendations …")
    head = (
        User.objects.filter(role=Role.SALES_HEAD).first()
        or User.objects.filter(is_superuser=True).first()
    )
    if head is None:
        say("  no sales head or administrator: skipped")
        return
    sold: dict = defaultdict(lambda: defaultdict(int))
    for project_id, at in StatusChange.objects.filter(new_status=UnitStatus.SOLD).values_list(
        "unit__building__project_id", "at"
    ):
        sold[project_id][timezone.localtime(at).date().replace(day=1)] += 1
    today = timezone.localdate().replace(day=1)
    for project in Project.objects.all():
        months = sold.get(project.pk, {})
        if not months:
            continue
        average = sum(months.values()) / len(months)
        price = Unit.objects.filter(building__project=project, status=UnitStatus.AVAILABLE)
        units = price.count() or 1
        area = sum((u.total_area for u in price[:200]), Decimal(0)) / min(units, 200)
        per_unit = sum((u.price for u in price[:200]), Decimal(0)) / min(units, 200)
        plan = []
        month = min(months)
        end = today
        for _ in range(7):  # this month and the next six
            end = next_step(end, "month")
        while month < end:
            target = max(1, round(average * 1.1))  # the plan asks a little more than the pace
            plan.append(
                services.PlanMonth(
                    month=month,
                    units=target,
                    area=(area * target).quantize(Decimal("0.01")),
                    revenue=(per_unit * target).quantize(Decimal(1)),
                )
            )
            month = next_step(month, "month")
        services.plan_save(project=project, months=plan, by=head)
    Rule.objects.get_or_create(
        name="Квартиры: темп против плана",
        defaults={"weeks": 8, "unit_type": "", "min_per_m2": None},
    )
    count = services.recommendations_compute()
    say(f"  plans for {len(sold)} projects, {count} recommendations")
