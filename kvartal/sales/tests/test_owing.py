"""``Deal.owes_from`` (``sales.owing``): the date from which a deal may be overdue, computed
from its rows and kept by every write of them, so the chessboard finds the deals that may owe
with a plain condition. (Every test on the database also checks it: ``conftest``.)"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.sales import owing
from kvartal.sales.models import Deal, LineKind, Payment, PaymentLine
from kvartal.sales.services.payments import payment_record, schedule_generate
from kvartal.testing import make_user

from .factories import make_deal, opened

D = Decimal
DAY = date(2026, 3, 10)


def test_the_first_date_whose_lines_exceed_what_was_received():
    lines = [(DAY, D("100")), (DAY + timedelta(30), D("100")), (DAY + timedelta(60), D("100"))]
    assert owing.owes_from(lines, D("0"), D("300")) == DAY
    assert owing.owes_from(lines, D("100"), D("300")) == DAY + timedelta(30)
    assert owing.owes_from(lines, D("199.99"), D("300")) == DAY + timedelta(30)
    assert owing.owes_from(lines, D("300"), D("300")) is None
    assert owing.owes_from([], D("0"), D("300")) is None


def test_a_days_lines_count_together_and_the_total_caps_them():
    # two lines on one day: what counts is the day's sum, not the first line alone
    lines = [(DAY, D("50")), (DAY, D("50")), (DAY + timedelta(1), D("10"))]
    assert owing.owes_from(lines, D("60"), D("110")) == DAY
    assert owing.owes_from(lines, D("100"), D("110")) == DAY + timedelta(1)
    # planned above the total (a schedule not yet laid out again): capped at the total
    assert owing.owes_from(lines, D("100"), D("100")) is None


def test_a_negative_line_leaves_the_first_date_a_bound():
    # 100 due, then 60 taken off: by the second date nothing is owed, but the first date
    # stays the bound (the board then allocates and finds no debt)
    lines = [(DAY, D("100")), (DAY + timedelta(5), D("-60"))]
    assert owing.owes_from(lines, D("40"), D("40")) is None  # capped at the total
    assert owing.owes_from(lines, D("40"), D("100")) == DAY


pytestmark = pytest.mark.django_db


def stored(deal) -> date | None:
    return Deal.objects.values_list("owes_from", flat=True).get(pk=deal.pk)


def test_payments_and_lines_written_anywhere_move_it(manager):
    today = timezone.localdate()
    deal = make_deal(manager=manager)  # one line of everything, due today
    assert stored(deal) == today
    cashier = make_user(Role.CASHIER)
    payment_record(deal=deal, amount=deal.total_due, received_on=today, by=cashier)
    assert stored(deal) is None  # paid in full
    # a line added and a payment taken back, as a migration or the admin shell would
    line = PaymentLine.objects.create(
        deal=deal, due_date=today - timedelta(3), amount=D("1000"), kind=LineKind.RECALCULATION
    )
    assert stored(deal) is None  # the total caps what is planned
    Deal.objects.filter(pk=deal.pk).update(bti_adjustment=D("1000"))
    deal.refresh_from_db()
    deal.save()  # a full save of the deal keeps it too
    # the money received pays the earliest line first: the 1 000 more is owed from today
    assert stored(deal) == today
    line.delete()
    assert stored(deal) is None
    Payment.objects.filter(deal=deal).delete()
    assert stored(deal) == today


def test_a_schedule_laid_out_again_is_kept_once(manager, django_assert_num_queries):
    first = timezone.localdate() - timedelta(days=40)
    deal = make_deal(manager=manager, payment_method="instalments", at=opened(first))
    schedule_generate(deal=deal, by=manager, first_due=first, down_payment="10%", months=6)
    assert stored(deal) == first
    # keeping a deal inside ``deferred`` waits for the block's end: one read, one write
    Deal.objects.filter(pk=deal.pk).update(owes_from=None)
    lines = list(deal.schedule.all())
    with django_assert_num_queries(2), owing.deferred():
        for line in lines:
            owing.keep([line.deal_id])
    assert stored(deal) == first


def test_the_migration_fills_every_deal(manager):
    deal = make_deal(manager=manager)
    Deal.objects.filter(pk=deal.pk).update(owes_from=None)
    models = (Deal, PaymentLine, Payment)
    assert owing.keep(Deal.objects.values_list("pk", flat=True), models) == {
        deal.pk: timezone.localdate()
    }
    assert stored(deal) == timezone.localdate()
