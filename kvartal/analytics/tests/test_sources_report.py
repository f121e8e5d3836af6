"""Lead sources by channel and UTM tag against a hand-built history; figures by hand."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.analytics.base import REPORTS, Params
from kvartal.clients.models import Channel, LeadStatus
from kvartal.clients.services import lead_set_status
from kvartal.sales.tests.factories import deal_reach
from kvartal.testing import make_building, make_user

from .factories import make_floor_units, msk
from .test_funnel_report import deal, new_lead, visit

pytestmark = pytest.mark.django_db

KEYS = (
    "leads",
    "qualified",
    "converted",
    "lost",
    "visits",
    "deals",
    "sold",
    "conversion",
    "amount",
)


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    first, second = make_user(Role.SALES_MANAGER), make_user(Role.SALES_MANAGER)
    studio, one, *_rest = make_floor_units()  # 4 125 000 and 5 760 000 ₽
    Channel.objects.create(code="old-portal", name="Old portal", order=200, is_active=False)
    Channel.objects.create(code="closed", name="Closed", order=210, is_active=False)
    # Call: S0 converted; S1 the same client calling again (attached, still "new"); the
    # client came on 12 January and bought the studio (registered = sold).
    s0 = new_lead(msk(2026, 1, 8, 10, 0), first)
    s1 = new_lead(msk(2026, 1, 10, 10, 0), first, convert=False, phone=s0.phone)
    assert s1.client_id == s0.client_id and s1.status == LeadStatus.NEW
    visit(s0, msk(2026, 1, 12, 12, 0))
    d0 = deal(s0, studio, msk(2026, 1, 15, 12, 0))
    deal_reach(d0, "signed", at=msk(2026, 1, 16, 12, 0))
    deal_reach(d0, "registered", at=msk(2026, 1, 25, 12, 0))
    # S2, 23:30 on 31 January in Moscow: converted, came, no deal.
    s2 = new_lead(msk(2026, 1, 31, 23, 30), first)
    visit(s2, msk(2026, 2, 2, 12, 0))
    # Website with UTM tags: S3 converted with an open deal; S4 qualified; S5 lost.
    spring = {"utm_source": "yandex", "utm_campaign": "spring"}
    s3 = new_lead(msk(2026, 2, 1, 0, 10), second, channel="site", **spring)
    # S9: S3's client calls the next day, before the deal: the deal counts for both channels
    s9 = new_lead(msk(2026, 2, 2, 9, 0), first, channel="call", convert=False, phone=s3.phone)
    assert s9.client_id == s3.client_id
    deal(s3, one, msk(2026, 2, 5, 12, 0))
    s4 = new_lead(msk(2026, 2, 3, 9, 0), second, channel="site", convert=False, **spring)
    lead_set_status(lead=s4, status=LeadStatus.QUALIFIED, by=second)
    s5 = new_lead(
        msk(2026, 2, 4, 9, 0),
        second,
        channel="site",
        convert=False,
        utm_source="yandex",
        utm_campaign="winter",
    )
    lead_set_status(lead=s5, status=LeadStatus.LOST, by=second, reason="Too expensive")
    # S6: the call client again after buying, through a referral: its deal came before.
    new_lead(msk(2026, 2, 20, 9, 0), second, channel="referral", convert=False, phone=s0.phone)
    # An inactive channel that still brought a lead; an agency lead before the period.
    new_lead(msk(2026, 2, 10, 9, 0), second, channel="old-portal", convert=False)
    new_lead(msk(2025, 12, 31, 23, 59), first, channel="agency")
    return {"first": first, "second": second}


def run(**kwargs):
    return REPORTS["sources"].result(Params.of(date(2026, 1, 1), date(2026, 2, 28), **kwargs))


def figures(table, channel):
    row = next(r for r in table.rows if r["channel"] == channel)
    return tuple(row[k] for k in KEYS)


def test_channels_with_their_leads_deals_and_money(history):
    table = run().table("by_channel")
    # the ten shipped channels (all active) and the inactive one with a lead, in order
    assert [r["channel"] for r in table.rows] == [
        "Website",
        "Call",
        "Walk-in",
        "Agency",
        "Yandex",
        "Avito",
        "CIAN",
        "DomClick",
        "Referral",
        "Other",
        "Old portal",
    ]
    # Website: S3 (converted, deal 5 760 000), S4 (qualified), S5 (lost); 1 ÷ 3 = 33.3 %
    assert figures(table, "Website") == (3, 2, 1, 1, 0, 1, 0, Decimal("33.3"), Decimal("5760000"))
    # Call: S0 (converted), S1 (new, attached), S2 (converted), S9 (new, attached); S0's and
    # S1's client came and bought, S2 came, S9's opened a deal: visits 3, deals 3, sold 2,
    # 3 ÷ 4 = 75 %; the studio's 4 125 000 counts once although two leads led to it, plus
    # S9's 5 760 000.
    assert figures(table, "Call") == (4, 2, 2, 0, 3, 3, 2, Decimal("75.0"), Decimal("9885000"))
    assert figures(table, "Agency") == (0, 0, 0, 0, 0, 0, 0, None, Decimal(0))  # December's
    assert figures(table, "Old portal") == (1, 0, 0, 0, 0, 0, 0, Decimal("0.0"), Decimal(0))
    # S6 came after its client's deal: neither the deal nor its money count for it
    assert figures(table, "Referral") == (1, 0, 0, 0, 0, 0, 0, Decimal("0.0"), Decimal(0))
    # 9 leads; qualified 2 + 2; deals 4 ÷ 9 = 44.4 %; the two deals once each:
    # 5 760 000 + 4 125 000 (not the 15 645 000 of the channels' column)
    total = table.total
    assert tuple(total[k] for k in KEYS) == (
        9, 4, 3, 1, 3, 4, 2, Decimal("44.4"), Decimal("9885000"),
    )  # fmt: skip


def test_the_chart_is_drawn_from_the_table(history):
    result = run()
    chart = result.charts[0]
    rows = result.table("by_channel").rows
    assert chart.labels == [r["channel"] for r in rows]
    assert chart.series[0].values[:3] == [3, 4, 0]  # leads: website, call, walk-in
    assert chart.series[1].values[:3] == [1, 3, 0]  # opened a deal


def test_utm_tags_ranked_by_leads(history):
    rows = run().table("utm").rows
    assert [(r["utm_source"], r["utm_campaign"], r["leads"], r["deals"]) for r in rows] == [
        ("yandex", "spring", 2, 1),  # S3 with a deal, S4
        ("yandex", "winter", 1, 0),  # S5
    ]
    assert [r["conversion"] for r in rows] == [Decimal("50.0"), Decimal("0.0")]


def test_the_manager_filter(history):
    table = run(manager=history["first"]).table("by_channel")
    assert figures(table, "Call")[:7] == (3, 2, 2, 0, 3, 2, 2)
    assert figures(table, "Website")[0] == 0
    assert figures(table, "Referral")[0] == 1  # S6 went to the client's manager
    assert table.total["leads"] == 4
    assert run(manager=history["first"]).table("utm").rows == []


def test_a_constant_number_of_queries(history):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            run()
        return len(captured.captured_queries)

    before = queries()
    manager = history["first"]
    for i, unit in enumerate(make_floor_units(make_building(), floors=2)):
        lead = new_lead(msk(2026, 1, 3 + i, 10, 0), manager, channel="avito", utm_source=f"s{i}")
        visit(lead, msk(2026, 1, 3 + i, 12, 0))
        deal(lead, unit, msk(2026, 1, 4 + i, 10, 0))
    assert queries() == before == 4
    assert figures(run().table("by_channel"), "Avito")[:7] == (8, 8, 8, 0, 8, 8, 0)


def test_the_page_and_the_exports(history, client):
    client.force_login(make_user(Role.DIRECTOR))
    query = "?date_from=2026-01-01&date_to=2026-02-28"
    page = client.get(reverse("analytics:report", args=["sources"]) + query)
    assert page.status_code == 200
    assert "Lead sources" in page.content.decode() and "Old portal" in page.content.decode()
    for kind, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        export = client.get(reverse("analytics:export", args=["sources", kind]) + query)
        assert export.status_code == 200 and export.content.startswith(magic)
