"""The demo's pricing: a plan from the history's pace, one rule, today's recommendations."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kvartal.core.testing import make_section
from kvartal.demo.pricing import setup_pricing
from kvartal.inventory.models import UnitStatus
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.pricing.models import Recommendation, Rule, SalesPlan

pytestmark = pytest.mark.django_db


def test_the_demo_gets_a_plan_a_rule_and_recommendations(keeper, sales_head):
    section = make_section(floors=6, per_floor=2, price_per_m2=Decimal("120000"), by=keeper)
    for unit in section.units.order_by("pk")[:4]:
        set_sales_state(
            unit=unit, status=UnitStatus.SOLD, by=keeper, at=timezone.now() - timedelta(days=3)
        )
    lines = []
    setup_pricing(lines.append)
    plans = SalesPlan.objects.filter(project=section.building.project)
    assert plans.count() == 7  # this month and the next six
    assert set(plans.values_list("units", flat=True)) == {4}  # 4 a month × 1.1, rounded
    assert Rule.objects.count() == 1
    assert Recommendation.objects.filter(project=section.building.project).exists()
    assert "recommendations" in lines[-1]
