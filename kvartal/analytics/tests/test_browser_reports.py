"""The reports in a real browser: filters, the chart, a shared link opened by a stranger,
and a report built and saved with the builder."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kvartal.accounts.models import Role, Team, User
from kvartal.analytics.models import ReportTemplate, SharedLinkOpen
from kvartal.testing import make_user

from .factories import make_floor_units, sell

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def director():
    return make_user(Role.DIRECTOR)


@pytest.fixture
def sold():
    units = make_floor_units()
    now = timezone.now()
    sell(units[0], now - timedelta(days=3), price=Decimal("4000000"))
    sell(units[2], now - timedelta(days=2))  # 56.20 m² × 150 000 = 8 430 000
    return units


def test_a_director_builds_a_report_and_shares_it(page, sign_in, director, sold, browser):
    sign_in(director)
    page.goto("/app/reports/")
    page.get_by_role("link", name="Sales statistics").click()
    expect(page.locator(".report-figures")).to_contain_text("12,430,000")
    page.select_option("select[name=step]", "week")
    page.get_by_role("button", name="Build the report").click()
    expect(page.locator(".report-subtitle")).to_contain_text("by week")
    expect(page.locator(".report-chart svg")).to_be_visible()
    # A wrong period gets a message and no figures.
    page.fill("input[name=date_to]", "2000-01-01")
    page.get_by_role("button", name="Build the report").click()
    expect(page.locator(".form-errors")).to_contain_text("The period starts after it ends")
    expect(page.locator(".report-figures")).to_have_count(0)
    page.get_by_role("link", name="Reset").click()
    page.locator(".share-box summary").click()
    page.get_by_role("button", name="Create the link").click()
    url = page.locator("input.share-url").first.input_value()
    stranger = browser.new_context(locale="en-US")
    shared = stranger.new_page()
    shared.goto(url)
    expect(shared.locator("h1")).to_contain_text("Sales statistics")
    expect(shared.locator(".report-figures")).to_contain_text("12,430,000")
    stranger.close()
    assert SharedLinkOpen.objects.filter(outcome="shown").count() == 1


def test_save_a_template_with_the_builder(page, sign_in, sold):
    head = make_user(Role.SALES_HEAD)  # the head of the sellers: their reports cover them
    team = Team.objects.create(name="Отдел продаж", head=head)
    User.objects.filter(role=Role.SALES_MANAGER).update(team=team)
    sign_in(head)
    page.goto("/app/reports/builder/?source=sales")
    page.fill("input[name=name]", "Продажи по типам")
    page.select_option("select[name=dimension_1]", "unit_type")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".report-table").first).to_contain_text("Studio")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Продажи по типам")
    expect(page.locator(".report-table").first).to_contain_text("2-room")
    assert ReportTemplate.objects.get().dimensions == ["unit_type"]
