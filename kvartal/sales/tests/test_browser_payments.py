"""The cashier's desk in a real browser: find a deal with money due, record a payment and see
what is received and outstanding change."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kvartal.accounts.models import Role
from kvartal.sales.models import Payment, PaymentMethod
from kvartal.sales.services.payments import schedule_generate
from kvartal.testing import make_user

from .factories import make_client, make_deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_cashier_records_a_payment_and_sees_the_outstanding_amount_fall(page, sign_in):
    manager = make_user(Role.SALES_MANAGER)
    cashier = make_user(Role.CASHIER)
    deal = make_deal(
        manager=manager,
        buyer=make_client(manager=manager, last_name="Кассова"),
        price=Decimal("4000000"),
        payment_method=PaymentMethod.INSTALMENTS,
        number="Д-2026-00042",
    )
    schedule_generate(deal=deal, by=manager, down_payment="25%", months=3)

    sign_in(cashier)
    page.goto("/app/cashier/")
    page.fill("input[name=q]", "Кассова")
    page.locator("form[role=search] button[type=submit]").click()
    row = page.locator("table.cashier tbody tr", has_text="Д-2026-00042")
    expect(row).to_contain_text("4,000,000.00")
    row.get_by_role("link", name="Record payment").click()

    page.wait_for_url(f"**/app/deals/{deal.pk}/payments/")
    expect(page.get_by_test_id("received")).to_have_text("0.00 ₽")
    page.fill("input[name=pay-amount]", "1 000 000")
    page.fill("input[name=pay-document]", "ПКО 17")
    page.get_by_role("button", name="Record payment").click()

    expect(page.locator(".messages")).to_contain_text("Payment recorded")
    expect(page.get_by_test_id("received")).to_have_text("1,000,000.00 ₽")
    expect(page.get_by_test_id("outstanding")).to_have_text("3,000,000.00 ₽")
    expect(page.locator("table.pay-lines tr.line-paid")).to_have_count(1)  # the down payment

    # More than what is left is refused, with the reason, and nothing is recorded.
    page.fill("input[name=pay-amount]", "3000000.01")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("#record-payment")).to_contain_text("more than the outstanding")
    expect(page.get_by_test_id("outstanding")).to_have_text("3,000,000.00 ₽")
    assert list(Payment.objects.values_list("amount", flat=True)) == [Decimal("1000000.00")]
