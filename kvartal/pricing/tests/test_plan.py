"""The sales plan: saved per month, read at the least specific level, against the sales in
the report and on the dashboard, with the pace needed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.periods import local_today, next_step
from kvartal.analytics.tests.factories import make_floor_units, sell
from kvartal.pricing import services
from kvartal.pricing.models import SalesPlan
from kvartal.pricing.plan import plan_by_month

pytestmark = pytest.mark.django_db


def _month(n: int = 0):
    month = local_today().replace(day=1)
    for _ in range(n):
        month = next_step(month, "month")
    return month


def _plan(project, by, month, units, unit_type="", building=None, revenue="0"):
    services.plan_save(
        project=project,
        building=building,
        unit_type=unit_type,
        months=[services.PlanMonth(month, units, Decimal(units * 40), Decimal(revenue))],
        by=by,
    )


def test_the_plan_is_read_at_the_least_specific_level(sales_head):
    units = make_floor_units()
    project = units[0].building.project
    _plan(project, sales_head, _month(), 4, unit_type="studio")
    _plan(project, sales_head, _month(), 3, unit_type="1")
    assert plan_by_month(start=_month(), end=_month())[_month()].units == 7  # by type, summed
    _plan(project, sales_head, _month(), 10)
    assert plan_by_month(start=_month(), end=_month())[_month()].units == 10  # the total wins
    studio = plan_by_month(start=_month(), end=_month(), unit_types=["studio"])
    assert studio[_month()].units == 4


def test_plan_against_fact_with_the_pace_needed(sales_head):
    units = make_floor_units()
    project = units[0].building.project
    _plan(project, sales_head, _month(), 4, revenue="20000000")
    _plan(project, sales_head, _month(1), 6, revenue="30000000")
    sell(units[0], timezone.now() - timedelta(minutes=5), price=Decimal("4000000"))
    end = next_step(_month(1), "month") - timedelta(days=1)
    result = REPORTS["plan-fact"].result(Params.of(_month(), end, project=project))
    figures = {str(f.label): f.value for f in result.figures}
    assert figures["Plan, units"] == 10 and figures["Sold, units"] == 1
    assert figures["Pace needed, units a month"] == Decimal("4.5")  # (10 − 1) ÷ 2 months
    assert figures["Revenue needed a month, ₽"] == Decimal("23000000")  # (50 − 4) M ÷ 2
    first = result.tables[0].rows[0]
    assert (first["plan_units"], first["fact_units"], first["fact_revenue"]) == (
        4,
        1,
        Decimal("4000000"),
    )
    assert result.tables[0].rows[1]["cum_plan"] == 10


def test_the_dashboard_shows_the_plan_block(client, director, sales_head):
    units = make_floor_units()
    _plan(units[0].building.project, sales_head, _month(), 4)
    client.force_login(director)
    page = client.get(reverse("analytics:dashboard")).text
    assert "Sales plan this year" in page


def test_a_negative_plan_is_refused_and_nothing_is_written(sales_head):
    project = make_floor_units()[0].building.project
    with pytest.raises(ValidationError):
        services.plan_save(
            project=project,
            months=[
                services.PlanMonth(_month(), 3, Decimal(0), Decimal(0)),
                services.PlanMonth(_month(1), -1, Decimal(0), Decimal(0)),
            ],
            by=sales_head,
        )
    assert not SalesPlan.objects.exists()


def test_a_manager_cannot_change_the_plan(manager):
    project = make_floor_units()[0].building.project
    with pytest.raises(services.NotAllowed):
        services.plan_save(
            project=project, months=[services.PlanMonth(_month(), 3, 0, 0)], by=manager
        )
    assert not SalesPlan.objects.exists()


def test_the_plan_page_saves_and_says_which_cell_is_wrong(client, sales_head):
    project = make_floor_units()[0].building.project
    client.force_login(sales_head)
    year = local_today().year
    url = reverse("pricing:plan") + f"?project={project.pk}&year={year}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"units-01": "5", "units-02": "два", "revenue-01": "1 000 000"})
    assert response.status_code == 400 and "is not a number" in response.text
    assert not SalesPlan.objects.exists()
    client.post(url, {"units-01": "5", "area-01": "250,5", "revenue-01": "1 000 000"})
    plan = SalesPlan.objects.get()
    assert (plan.units, plan.area, plan.revenue) == (5, Decimal("250.5"), Decimal("1000000"))


def test_the_plan_page_links_the_report_only_for_those_who_may_open_it(client, keeper, director):
    report = reverse("analytics:report", args=["plan-fact"])
    client.force_login(director)
    assert f'href="{report}"' in client.get(reverse("pricing:plan")).text
    assert client.get(report).status_code == 200

    client.force_login(keeper)  # sees the plan, not the reports
    assert client.get(report).status_code == 403
    page = client.get(reverse("pricing:plan"))
    assert page.status_code == 200 and report not in page.text
