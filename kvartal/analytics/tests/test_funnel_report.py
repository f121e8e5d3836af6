"""The lead funnel (a cohort by lead date) against a hand-built history; figures by hand."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.analytics.base import REPORTS, Params
from kvartal.clients.models import Channel, Lead
from kvartal.clients.services import lead_convert, lead_create, visit_register
from kvartal.sales.models import Payment
from kvartal.sales.services.holds import hold_create
from kvartal.sales.tests.factories import make_deal
from kvartal.testing import make_building, make_project, make_user

from .factories import make_floor_units, msk

pytestmark = pytest.mark.django_db

_phones = count(1)


def new_lead(at, manager, *, channel="call", convert=True, phone=None, **utm) -> Lead:
    """A lead received at ``at`` (converted into a new client two hours later)."""
    lead = lead_create(
        by=manager,
        channel=Channel.objects.get(code=channel),
        phone=phone or f"+7912{next(_phones):07d}",
        manager=manager,
        at=at,
        **utm,
    )
    if convert:
        lead_convert(lead=lead, by=manager, at=at + timedelta(hours=2))
        lead.refresh_from_db()
    return lead


def visit(lead, at):
    return visit_register(by=lead.manager, client=lead.client, received_by=lead.manager, at=at)


def hold(lead, unit, at):
    return hold_create(
        unit=unit, client=lead.client, manager=lead.manager, by=lead.manager, days=3, at=at
    )


def deal(lead, unit, at, **kwargs):
    return make_deal(unit=unit, buyer=lead.client, manager=lead.manager, at=at, **kwargs)


def pay(deal, amount, on):
    return Payment.objects.create(deal=deal, received_on=on, amount=Decimal(amount))


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    first, second = make_user(Role.SALES_MANAGER), make_user(Role.SALES_MANAGER)
    ours = make_project()
    u1, u2, _u, _u = make_floor_units(make_building(ours))  # 4 125 000 and 5 760 000 ₽
    u3 = make_floor_units(make_building(make_project()))[0]  # another project
    # L1 (January): visit, hold, deal, paid in two parts = the price.
    l1 = new_lead(msk(2026, 1, 10, 12, 0), first)
    visit(l1, msk(2026, 1, 12, 11, 0))
    hold(l1, u1, msk(2026, 1, 13, 10, 0))
    d1 = deal(l1, u1, msk(2026, 1, 20, 10, 0))
    pay(d1, "1000000", date(2026, 1, 20))
    pay(d1, "3125000", date(2026, 2, 1))  # 1 000 000 + 3 125 000 = 4 125 000
    # L2, 23:30 on 31 January in Moscow (20:30 UTC): visit, a deal without a hold, paid the
    # price but not the BTI recalculation: 5 760 000 < 5 760 000 + 100 000.
    l2 = new_lead(msk(2026, 1, 31, 23, 30), first)
    visit(l2, msk(2026, 2, 2, 12, 0))
    d2 = deal(l2, u2, msk(2026, 2, 5, 12, 0), bti_adjustment=Decimal("100000"))
    pay(d2, "5760000", date(2026, 2, 6))
    # L3, 00:10 on 1 February in Moscow (21:10 UTC on 31 January): visit, hold elsewhere.
    l3 = new_lead(msk(2026, 2, 1, 0, 10), second)
    visit(l3, msk(2026, 2, 3, 12, 0))
    hold(l3, u3, msk(2026, 2, 4, 12, 0))
    # L4: never converted — no client, stays a lead.
    new_lead(msk(2026, 2, 15, 9, 0), second, convert=False)
    # L7: L1's client calls again after buying: attached to that client, nothing after it.
    repeat = new_lead(msk(2026, 2, 20, 9, 0), second, convert=False, phone=l1.phone)
    assert repeat.client_id == l1.client_id and repeat.manager == first
    # Outside the period: 23:59 on 31 December, and 00:00 on 1 March.
    l5 = new_lead(msk(2025, 12, 31, 23, 59), first)
    visit(l5, msk(2026, 1, 5, 12, 0))
    new_lead(msk(2026, 3, 1, 0, 0), first)
    return {"first": first, "second": second, "ours": ours}


def run(start=date(2026, 1, 1), end=date(2026, 2, 28), **kwargs):
    return REPORTS["funnel"].result(Params.of(start, end, **kwargs))


def counts(result):
    return [(r["count"], r["from_previous"], r["from_leads"]) for r in result.table("stages").rows]


def test_the_cohort_reaches_each_stage(history):
    result = run()
    # leads L1, L2, L3, L4, L7 = 5; visits L1 L2 L3; holds L1 L3 and L2 (its deal passes
    # the hold stage); deals L1 L2; paid L1 only (L2 owes the BTI recalculation).
    assert counts(result) == [
        (5, None, Decimal("100.0")),
        (3, Decimal("60.0"), Decimal("60.0")),  # 3 ÷ 5
        (3, Decimal("100.0"), Decimal("60.0")),  # 3 ÷ 3
        (2, Decimal("66.7"), Decimal("40.0")),  # 2 ÷ 3
        (1, Decimal("50.0"), Decimal("20.0")),  # 1 ÷ 2; 1 ÷ 5
    ]
    skipped = [r["skipped"] for r in result.table("stages").rows]
    assert skipped == [None, 0, 1, 0, None]  # L2 reached the hold stage without a hold
    chart = result.charts[0]
    assert chart.labels == ["Lead", "Visit to the office", "Hold", "Deal", "Paid in full"]
    assert chart.series[0].values == [5, 3, 3, 2, 1]


def test_cohorts_by_month_of_the_lead_in_local_time(history):
    result = run()
    rows = result.table("by_step").rows
    keys = ("lead", "visit", "hold", "deal", "paid", "conversion")
    # January: L1 and L2 (23:30 on the 31st); February: L3 (00:10 on the 1st), L4, L7.
    assert [tuple(r[k] for k in keys) for r in rows] == [
        (2, 2, 2, 2, 1, Decimal("100.0")),
        (3, 1, 1, 0, 0, Decimal("0.0")),
    ]
    total = result.table("by_step").total
    assert tuple(total[k] for k in keys) == (5, 3, 3, 2, 1, Decimal("40.0"))
    assert [f.value for f in result.figures] == [5, 2, Decimal("40.0"), 1]


def test_the_project_filter_applies_to_holds_and_deals_only(history):
    result = run(project=history["ours"])
    # L3's hold is in another project: it stops at the visit; leads and visits unchanged.
    assert [r["count"] for r in result.table("stages").rows] == [5, 3, 2, 2, 1]


def test_the_manager_filter_takes_the_leads_manager(history):
    result = run(manager=history["second"])
    # L3 (visit, hold) and L4 (no client): L7 went to L1's client's manager, the first.
    assert [r["count"] for r in result.table("stages").rows] == [2, 1, 1, 0, 0]


def test_a_period_without_leads_says_so(history):
    result = run(date(2025, 6, 1), date(2025, 6, 30))
    assert result.table("stages").rows == []
    assert result.table("stages").empty
    assert [r["lead"] for r in result.table("by_step").rows] == [0]
    assert result.charts == []


def test_one_query_however_many_leads(history):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            run()
        return len(captured.captured_queries)

    before = queries()
    manager = history["first"]
    units = make_floor_units(make_building(history["ours"]), floors=2)
    for i, unit in enumerate(units):
        lead = new_lead(msk(2026, 1, 3 + i, 10, 0), manager)
        visit(lead, msk(2026, 1, 3 + i, 12, 0))
        d = deal(lead, unit, msk(2026, 1, 4 + i, 10, 0))
        pay(d, d.price, date(2026, 1, 4 + i))
    assert queries() == before == 1
    assert run().table("by_step").total["paid"] == 1 + 8


def test_the_page_and_the_exports(history, client):
    client.force_login(make_user(Role.DIRECTOR))
    query = "?date_from=2026-01-01&date_to=2026-02-28"
    page = client.get(reverse("analytics:report", args=["funnel"]) + query)
    assert page.status_code == 200
    assert "Lead funnel" in page.content.decode() and "Paid in full" in page.content.decode()
    for kind, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        export = client.get(reverse("analytics:export", args=["funnel", kind]) + query)
        assert export.status_code == 200 and export.content.startswith(magic)
