"""Commissions with hand-computed figures, to the kopeck."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.core.testing import make_user
from kvartal.sales.services.deals import deal_move, deal_terminate
from kvartal.sales.services.payments import payment_record
from kvartal.sales.tests.factories import make_deal, stage

from ..commissions import (
    CommissionError,
    Tier,
    TiersOverlap,
    balance,
    commission_rule_save,
    statement_create,
    statement_pay,
)
from ..models import CommissionEntry, CommissionRule, CommissionTier, ManagerCommissionRule
from .factories import make_agency

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def cashier():
    return make_user(Role.CASHIER)


@pytest.fixture
def accountant():
    return make_user(Role.ACCOUNTANT)


@pytest.fixture
def agency():
    return make_agency()


def agency_deal(agency, price=None):
    deal = make_deal(price=price or D("10000000.00"))
    deal.agency = agency
    deal.save(update_fields=["agency"])
    return deal


def pay(deal, amount, cashier):
    return payment_record(deal=deal, amount=amount, received_on=timezone.localdate(), by=cashier)


def test_accrual_follows_payments_with_a_holdback_released_at_registration(
    agency, cashier, accountant, sales_head
):
    commission_rule_save(
        by=accountant,
        agency=agency,
        kind="percent",
        value=D("3"),
        holdback_percent=D("20"),
        release_at="registration",
    )
    deal = agency_deal(agency)  # 3 % of 10 000 000.00 = 300 000.00
    pay(deal, D("2500000.00"), cashier)  # 25 % → 75 000.00: 60 000.00 payable, 15 000.00 held
    figures = balance(agency_id=agency.pk)
    assert (figures.accrued, figures.payable, figures.held_back) == (
        D("75000.00"),
        D("60000.00"),
        D("15000.00"),
    )
    deal = deal_move(deal=deal, stage=stage("signed"), by=sales_head)
    deal = deal_move(
        deal=deal,
        stage=stage("registered"),
        by=sales_head,
        registration_number="77-1",
        registration_date=timezone.localdate(),
    )
    figures = balance(agency_id=agency.pk)
    assert (figures.payable, figures.held_back) == (D("75000.00"), D("0.00"))
    pay(deal, D("7500000.00"), cashier)  # the rest, no hold-back any more
    figures = balance(agency_id=agency.pk)
    assert (figures.accrued, figures.payable, figures.held_back) == (
        D("300000.00"),
        D("300000.00"),
        D("0.00"),
    )


def test_termination_after_partial_payment_reverses_unpaid_and_claws_back_paid(
    agency, cashier, accountant, sales_head
):
    commission_rule_save(
        by=accountant, agency=agency, kind="percent", value=D("3"), holdback_percent=D("20")
    )
    deal = agency_deal(agency)
    pay(deal, D("2500000.00"), cashier)  # 60 000.00 payable + 15 000.00 held
    today = timezone.localdate()
    first = statement_create(by=accountant, agency=agency, date_from=today, date_to=today)
    assert first.payable == D("60000.00") and first.held_back == D("15000.00")
    statement_pay(statement=first, by=accountant, paid_on=today, document="п/п 12")
    # received 3 734 567.89 → accrued round(300 000 × 0.373456789) = 112 037.04;
    # held round(112 037.04 × 0.2) = 22 407.41; this payment: 29 629.63 payable, 7 407.41 held
    pay(deal, D("1234567.89"), cashier)
    figures = balance(agency_id=agency.pk)
    assert (figures.payable, figures.held_back) == (D("29629.63"), D("22407.41"))
    deal_terminate(deal=deal, by=sales_head, reason="Отказ покупателя")
    figures = balance(agency_id=agency.pk)
    # unpaid 29 629.63 and held 22 407.41 reversed; the paid 60 000.00 clawed back
    assert (figures.payable, figures.held_back) == (D("-60000.00"), D("0.00"))
    kinds = sorted(
        (e.kind, e.bucket, e.amount)
        for e in CommissionEntry.objects.filter(kind__in=["reversal", "clawback"])
    )
    assert kinds == [
        ("clawback", "payable", D("-60000.00")),
        ("reversal", "held", D("-22407.41")),
        ("reversal", "payable", D("-29629.63")),
    ]
    second = statement_create(by=accountant, agency=agency, date_from=today, date_to=today)
    assert second.payable == D("-60000.00")


def test_fixed_per_m2_and_the_most_specific_rule(agency, cashier, accountant):
    deal = agency_deal(agency, price=D("9000000.00"))
    commission_rule_save(by=accountant, agency=agency, kind="fixed", value=D("50000"))
    commission_rule_save(
        by=accountant,
        agency=agency,
        project=deal.unit.building.project,
        kind="per_m2",
        value=D("1000.50"),
    )
    pay(deal, deal.total_due, cashier)
    expected = (deal.area * D("1000.50")).quantize(D("0.01"))
    assert balance(agency_id=agency.pk).payable == expected


def test_tiers_by_the_quarters_volume(agency, cashier, accountant):
    commission_rule_save(
        by=accountant,
        agency=agency,
        kind="percent",
        value=D("2"),
        tiers=[Tier(1, 1, D("2")), Tier(2, None, D("4"))],
    )
    first = agency_deal(agency, price=D("1000000.00"))
    second = agency_deal(agency, price=D("1000000.00"))
    pay(first, first.total_due, cashier)  # opened first in the quarter, but counted at payment:
    pay(second, second.total_due, cashier)  # two deals open → 4 % on both
    assert balance(agency_id=agency.pk).payable == D("80000.00")


def test_overlapping_tiers_are_refused_and_nothing_is_saved(agency, accountant):
    with pytest.raises(TiersOverlap) as refused:
        commission_rule_save(
            by=accountant,
            agency=agency,
            kind="percent",
            value=D("2"),
            tiers=[Tier(1, 5, D("2")), Tier(5, 10, D("3"))],
        )
    assert "1–5" in str(refused.value) and "5–10" in str(refused.value)
    with pytest.raises(TiersOverlap):
        commission_rule_save(
            by=accountant,
            agency=agency,
            kind="percent",
            value=D("2"),
            tiers=[Tier(1, None, D("2")), Tier(11, None, D("3"))],
        )
    assert not CommissionRule.objects.exists() and not CommissionTier.objects.exists()


def test_a_manager_earns_a_percent_and_more_beyond_the_plan(cashier, accountant, manager):
    ManagerCommissionRule.objects.create(
        manager=manager, percent=D("1"), plan=D("3000000.00"), percent_over_plan=D("1.5")
    )
    first = make_deal(manager=manager, price=D("2000000.00"))
    second = make_deal(manager=manager, price=D("2000000.00"))
    pay(first, D("2000000.00"), cashier)  # 1 % of 2 000 000 = 20 000.00
    pay(second, D("2000000.00"), cashier)  # 1 000 000 × 1 % + 1 000 000 × 1.5 % = 25 000.00
    assert balance(manager_id=manager.pk).payable == D("45000.00")
    today = timezone.localdate()
    statement = statement_create(by=accountant, manager=manager, date_from=today, date_to=today)
    assert statement.payable == D("45000.00")


def test_statement_refusals_change_nothing(agency, accountant, manager):
    today = timezone.localdate()
    with pytest.raises(CommissionError):
        statement_create(by=accountant, agency=agency, date_from=today, date_to=today)
    with pytest.raises(CommissionError):
        statement_create(by=manager, agency=agency, date_from=today, date_to=today)
    with pytest.raises(CommissionError):
        statement_create(by=accountant, agency=agency, date_from=today, date_to=date(2000, 1, 1))
    assert not CommissionEntry.objects.exists()


def test_the_commissions_report_comes_from_the_same_rows(agency, cashier, accountant):
    from kvartal.analytics.base import REPORTS, Params
    from kvartal.analytics.periods import Period

    commission_rule_save(
        by=accountant, agency=agency, kind="percent", value=D("3"), holdback_percent=D("20")
    )
    deal = agency_deal(agency)
    pay(deal, D("2500000.00"), cashier)
    today = timezone.localdate()
    result = REPORTS["commissions"].run(Params(period=Period(today, today)))
    row = result.tables[0].rows[0]
    assert row["name"] == agency.name
    assert (row["accrued"], row["held"], row["payable"], row["paid"]) == (
        D("75000.00"),
        D("15000.00"),
        D("60000.00"),
        D("0"),
    )


def test_the_statement_exports_to_excel_and_its_payment_is_recorded(
    client, agency, cashier, accountant
):
    from io import BytesIO

    from django.urls import reverse
    from openpyxl import load_workbook

    from ..models import Statement

    commission_rule_save(by=accountant, agency=agency, kind="fixed", value=D("12345.67"))
    deal = agency_deal(agency)
    pay(deal, deal.total_due, cashier)
    today = timezone.localdate()
    client.force_login(accountant)
    response = client.post(
        reverse("agencies:statement-create"),
        {"agency": agency.pk, "date_from": today.isoformat(), "date_to": today.isoformat()},
    )
    statement = Statement.objects.get()
    assert response.status_code == 302 and statement.payable == D("12345.67")
    book = load_workbook(
        BytesIO(client.get(reverse("agencies:statement-xlsx", args=[statement.pk])).content)
    )
    values = list(book.active.iter_rows(values_only=True))
    assert ["Payable, ₽", D("12345.67")] == [values[4][0], D(str(values[4][1]))]
    url = reverse("agencies:statement-detail", args=[statement.pk])
    response = client.post(url, {"paid_on": today.isoformat(), "document": "  "})
    assert response.status_code == 400
    statement.refresh_from_db()
    assert statement.paid_on is None
    client.post(url, {"paid_on": today.isoformat(), "document": "п/п 7"})
    statement.refresh_from_db()
    assert statement.paid_on == today and statement.paid_document == "п/п 7"


def test_a_deal_of_an_apartment_and_a_parking_space_pays_each_units_rule_on_its_price(
    agency, accountant, cashier
):
    """3 % on the apartment's own price, a fixed 20 000.00 for parking; the storage room has
    no rule: nothing on its price."""
    from kvartal.sales.services.deals import BuyerShare, deal_open
    from kvartal.sales.tests.factories import default_scheme, make_client, make_unit_set

    from ..models import DealCommission

    default_scheme()
    commission_rule_save(
        by=accountant, agency=agency, kind="percent", value=D("3"), unit_kind="apartment"
    )
    commission_rule_save(
        by=accountant, agency=agency, kind="fixed", value=D("20000"), unit_kind="parking"
    )
    units = make_unit_set()
    flat, parking, storage = units["apartments"][0], units["parkings"][0], units["storages"][0]
    manager = make_user(Role.SALES_MANAGER)
    deal = deal_open(
        by=manager,
        units=[flat, parking, storage],
        agency=agency,
        buyers=[BuyerShare(make_client(manager=manager))],
    )
    pay(deal, deal.price, cashier)
    commission = DealCommission.objects.get(deal=deal)
    expected = (flat.price * D("0.03")).quantize(D("0.01")) + D("20000.00")
    assert commission.total == expected
    assert commission.rule.unit_kind == "apartment"
