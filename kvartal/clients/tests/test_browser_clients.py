"""The clients pages in a real browser: the reception desk, the duplicate suggestion,
"my tasks" and the client list sorted by average check."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kvartal.clients import services
from kvartal.clients.models import Client, Task, Visit

from .factories import make_deal, units

# serialized_rollback: the shipped rows of migrations (deal flows, channels) survive flushes.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_register_a_visit_at_the_reception_desk(page, sign_in, manager):
    unit = units(2)[0]
    sign_in(manager)
    page.goto("/app/reception/")
    page.fill("input[name=last_name]", "Новиков")
    page.fill("input[name=first_name]", "Олег")
    page.fill("input[name=phone]", "8 (900) 123-45-67")
    page.fill("textarea[name=asked_about]", "двушка с видом на парк")
    page.select_option("select[name=building]", str(unit.building_id))
    page.fill("input[name=units]", unit.number)
    page.get_by_role("button", name="Register the visit").click()
    expect(page.locator(".messages")).to_contain_text("Visit of Новиков Олег registered")
    expect(page.locator(".visits")).to_contain_text("двушка с видом на парк")
    visit = Visit.objects.get()
    assert visit.client.phone_normalized == "+79001234567"
    assert list(visit.units_shown.all()) == [unit]


def test_a_client_with_an_existing_phone_gets_the_duplicate_suggestion(page, sign_in, manager):
    existing = services.client_create(
        by=manager, last_name="Петрова", first_name="Анна", phone="+79123456789"
    )
    sign_in(manager)
    page.goto("/app/clients/new/")
    page.fill("input[name=last_name]", "Петрова")
    page.fill("input[name=first_name]", "Аня")
    page.fill("input[name=phone]", "8 912 345 67 89")
    page.get_by_role("button", name="Save").click()
    suggestion = page.locator(".duplicate-suggestion")
    expect(suggestion).to_contain_text("already exists")
    suggestion.get_by_role("link", name="Use this client").click()
    page.wait_for_url(f"**/app/clients/{existing.pk}/")
    expect(page.locator("h1")).to_contain_text("Петрова Анна")
    assert Client.objects.count() == 1


def test_create_a_task_and_find_it_on_my_tasks(page, sign_in, manager):
    client = services.client_create(by=manager, last_name="Сидоров", first_name="Пётр")
    sign_in(manager)
    page.goto(f"/app/clients/{client.pk}/")
    page.get_by_role("link", name="Task", exact=True).click()
    page.fill("input[name=title]", "Отправить планировки")
    due = timezone.localtime() + timedelta(hours=2)
    page.fill("input[name=due_at]", due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/app/clients/{client.pk}/")
    page.goto("/app/tasks/")
    expect(page.locator("table.tasks")).to_contain_text("Отправить планировки")
    expect(page.locator("table.tasks")).to_contain_text("Сидоров Пётр")
    assert Task.objects.get().assignee == manager


def test_sort_the_client_list_by_average_check(page, sign_in, manager):
    u = units(3)
    for unit, (name, price) in zip(
        u, [("Малов", "3000000"), ("Большаков", "9000000"), ("Средний", "6000000")], strict=True
    ):
        buyer = services.client_create(by=manager, last_name=name, first_name="И")
        make_deal(
            unit=unit, buyers=[buyer], manager=manager, stage="registered", price=Decimal(price)
        )
    sign_in(manager)
    page.goto("/app/clients/")
    page.locator("th a[data-sort=avg_check]").click()
    page.wait_for_url("**sort=-avg_check**")
    names = page.locator("table.clients tbody tr td:first-child a")
    expect(names).to_have_text(["Большаков И", "Средний И", "Малов И"])
    page.locator("th a[data-sort=avg_check]").click()
    page.wait_for_url("**sort=avg_check**")
    expect(names).to_have_text(["Малов И", "Средний И", "Большаков И"])
