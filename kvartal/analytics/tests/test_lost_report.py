"""The lost deals and leads report against a hand-built history; figures by hand.

The period is 1 January – 31 March 2026, Moscow time. Reasons typed with other spaces or
case group together and show their most common spelling.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.analytics.base import REPORTS, Params
from kvartal.analytics.reports.lost import group_reasons, reason_key
from kvartal.clients.models import Channel, Lead, LeadEvent, LeadEventKind, LeadStatus
from kvartal.sales.services.holds import hold_cancel, hold_create
from kvartal.sales.tests.factories import deal_reach, make_client, make_deal
from kvartal.testing import make_building, make_project, make_user

from .factories import make_floor_units, msk

pytestmark = pytest.mark.django_db

D = Decimal
START, END = date(2026, 1, 1), date(2026, 3, 31)
MORTGAGE = "Ипотека не одобрена"


def terminate(unit, at: datetime, reason: str, *, price=None, manager=None):
    """A deal opened on the first of ``at``'s month, terminated at ``at`` with ``reason``."""
    deal = make_deal(unit=unit, price=price, manager=manager, at=at.replace(day=1), schedule=False)
    deal_reach(deal, "terminated", at=at)
    deal.termination_reason = reason
    deal.save(update_fields=["termination_reason"])
    return deal


def lose_lead(channel: str, reason: str, *, created: datetime, lost=(), unit=None, status=None):
    """A lead received at ``created`` and moved to lost at each moment of ``lost`` (the
    last one counts); ``status`` other than lost: it was reopened since."""
    lead = Lead.objects.create(
        created_at=created,
        channel=Channel.objects.get(code=channel),
        unit=unit,
        status=status or LeadStatus.LOST,
        lost_reason=reason if status is None else "",
    )
    for at in lost:
        LeadEvent.objects.create(
            lead=lead, at=at, kind=LeadEventKind.STATUS, old="in_work", new="lost", reason=reason
        )
    return lead


def cancel_hold(unit, held: datetime, cancelled: datetime, reason: str, manager=None):
    manager = manager or make_user(Role.SALES_MANAGER)
    hold = hold_create(
        unit=unit, client=make_client(manager=manager), manager=manager, by=manager, days=5, at=held
    )
    return hold_cancel(hold=hold, by=manager, reason=reason, at=cancelled)


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project()
    units = make_floor_units(make_building(project), floors=3)
    far = make_floor_units(make_building(make_project()))
    # terminated deals of the project, in the period
    terminate(units[0], msk(2026, 1, 20, 12, 0), MORTGAGE, price=D("4000000"))
    terminate(units[1], msk(2026, 2, 3, 12, 0), "  ипотека   НЕ одобрена ", price=D("5000000"))
    terminate(units[2], msk(2026, 3, 31, 23, 30), "Передумал", price=D("6000000"))
    terminate(units[3], msk(2026, 2, 15, 12, 0), "ипотека не одобрена", price=D("2000000"))
    terminate(units[4], msk(2026, 3, 1, 0, 10), MORTGAGE, price=D("3000000"))
    # outside the period or the project, or not terminated
    terminate(units[5], msk(2026, 4, 1, 0, 0), "Передумал", price=D("9000000"))
    terminate(units[6], msk(2025, 12, 31, 23, 59), "Передумал", price=D("9000000"))
    terminate(far[0], msk(2026, 2, 10, 12, 0), "Нашёл дешевле", price=D("3000000"))
    make_deal(unit=units[7], at=msk(2026, 2, 1, 12, 0))
    # leads; the unit of interest places them in a project
    here = units[0]
    lose_lead("call", "Дорого", created=msk(2025, 12, 10, 12), lost=[msk(2026, 1, 5, 12)],
              unit=here)  # fmt: skip
    lose_lead("call", "Срок сдачи", created=msk(2026, 1, 10, 12), lost=[msk(2026, 4, 1, 0, 0)],
              unit=here)  # fmt: skip  # received in the period, lost after it
    lose_lead("site", "дорого ", created=msk(2026, 2, 2, 12), unit=here)  # no history: received
    lose_lead("call", "Не отвечает", created=msk(2025, 12, 1, 12),
              lost=[msk(2025, 12, 31, 23, 0), msk(2026, 3, 31, 23, 59)], unit=here)  # fmt: skip
    lose_lead("avito", "Дорого", created=msk(2026, 2, 1, 12), lost=[msk(2026, 2, 5, 12)],
              unit=far[0])  # fmt: skip
    lose_lead("site", "Купил у конкурента", created=msk(2026, 2, 1, 12),
              lost=[msk(2026, 2, 6, 12)])  # fmt: skip  # no unit: only without a place filter
    lose_lead("call", "Дорого", created=msk(2025, 12, 1, 12), lost=[msk(2025, 12, 31, 20, 59)],
              unit=here)  # fmt: skip  # 23:59 Moscow on 31 December
    lose_lead("call", "Дорого", created=msk(2026, 1, 1, 12), lost=[msk(2026, 2, 1, 12)],
              unit=here, status=LeadStatus.IN_WORK)  # fmt: skip  # reopened
    # holds
    cancel_hold(units[8], msk(2026, 1, 10, 12), msk(2026, 1, 12, 12), "Клиент передумал")
    cancel_hold(units[9], msk(2026, 2, 1, 12), msk(2026, 2, 2, 12), "клиент  передумал")
    cancel_hold(units[10], msk(2026, 3, 30, 12), msk(2026, 4, 1, 0, 0), "Клиент передумал")
    cancel_hold(units[11], msk(2026, 3, 1, 12), msk(2026, 3, 2, 12), "Нашёл другую квартиру")
    cancel_hold(units[8], msk(2026, 3, 1, 12), msk(2026, 3, 3, 12), "Клиент передумал")
    hold_create(unit=units[9], client=make_client(), manager=make_user(), by=make_user(), days=3,
                at=msk(2026, 2, 10, 12))  # fmt: skip  # not cancelled
    cancel_hold(far[1], msk(2026, 2, 1, 12), msk(2026, 2, 2, 12), "Клиент передумал")
    return project


def run(**kwargs):
    return REPORTS["lost"].result(Params.of(START, END, **kwargs))


def rows_of(result, key, *fields):
    return [tuple(r[f] for f in fields) for r in result.table(key).rows]


def test_terminated_deals_by_reason(history):
    result = run(project=history)
    # the mortgage: 4 + 5 + 2 + 3 M over 4 deals, spelt "Ипотека не одобрена" twice;
    # changed minds: 6 M (23:30 on 31 March is March); 4 of 5 = 80 %
    assert rows_of(result, "terminations", "reason", "count", "amount", "share") == [
        (MORTGAGE, 4, D("14000000"), D("80.0")),
        ("Передумал", 1, D("6000000"), D("20.0")),
    ]
    total = result.table("terminations").total
    assert (total["count"], total["amount"]) == (5, D("20000000"))
    chart = result.charts[0]
    assert chart.kind == "bar"
    assert (chart.labels, chart.series[0].values) == ([MORTGAGE, "Передумал"], [4, 1])


def test_lost_leads_by_reason_and_by_channel(history):
    result = run(project=history)
    # lost on 5 Jan; lost without history, received 2 Feb; lost again at 23:59 on 31 March
    assert rows_of(result, "lost_leads", "reason", "count", "share") == [
        ("Дорого", 2, D("66.7")),
        ("Не отвечает", 1, D("33.3")),
    ]
    assert rows_of(result, "lost_leads_by_channel", "channel", "count", "share") == [
        ("Call", 2, D("66.7")),
        ("Website", 1, D("33.3")),
    ]
    assert result.table("lost_leads").total["count"] == 3
    assert result.charts[1].labels == ["Дорого", "Не отвечает"]


def test_cancelled_holds_by_reason(history):
    result = run(project=history)
    # 12 Jan, 2 Feb and 3 March; 2 March; the one cancelled at 00:00 on 1 April is April's
    assert rows_of(result, "cancelled_holds", "reason", "count", "share") == [
        ("Клиент передумал", 3, D("75.0")),
        ("Нашёл другую квартиру", 1, D("25.0")),
    ]
    figures = [(str(f.label), f.value) for f in result.figures]
    assert figures == [
        ("Deals terminated", 5),
        ("Sum of terminated deals", D("20000000")),
        ("Leads lost", 3),
        ("Holds cancelled", 4),
    ]


def test_without_the_project_filter(history):
    result = run()
    # equal counts: the larger sum first (6 M, then the other project's 3 M)
    assert rows_of(result, "terminations", "reason", "count", "amount") == [
        (MORTGAGE, 4, D("14000000")),
        ("Передумал", 1, D("6000000")),
        ("Нашёл дешевле", 1, D("3000000")),
    ]
    # the lead on another project's unit and the lead with no unit count now
    assert rows_of(result, "lost_leads", "reason", "count") == [
        ("Дорого", 3),
        ("Купил у конкурента", 1),
        ("Не отвечает", 1),
    ]
    assert rows_of(result, "lost_leads_by_channel", "channel", "count") == [
        ("Call", 2),
        ("Website", 2),
        ("Avito", 1),
    ]
    assert rows_of(result, "cancelled_holds", "reason", "count")[0] == ("Клиент передумал", 4)
    assert result.notes == []
    assert run(project=history).notes  # leads without a unit are left out: it says so


def test_the_manager_filter(history, settings):
    manager = make_user(Role.SALES_MANAGER)
    units = make_floor_units(make_building(history))
    terminate(units[0], msk(2026, 2, 1, 12), "Передумал", price=D("1000000"), manager=manager)
    cancel_hold(units[1], msk(2026, 2, 1, 12), msk(2026, 2, 2, 12), "Дорого", manager=manager)
    result = run(manager=manager)
    assert rows_of(result, "terminations", "reason", "count", "amount") == [
        ("Передумал", 1, D("1000000"))
    ]
    assert rows_of(result, "cancelled_holds", "reason", "count") == [("Дорого", 1)]
    assert result.table("lost_leads").rows == []


def test_reasons_group_by_spaces_and_case():
    assert reason_key("  Ипотека\tНЕ  одобрена ") == reason_key("ипотека не одобрена")
    rows = group_reasons(
        [("б", 1, None), ("Б ", 2, None), ("а", 3, None), ("", 1, None), ("  ", 1, None)]
    )
    assert [(r["reason"], r["count"]) for r in rows] == [
        ("Б", 3),  # "Б " typed twice, "б" once
        ("а", 3),
        ("No reason given", 2),
    ]


def test_the_page_and_the_exports_render(client, director, history):
    client.force_login(director)
    query = "?date_from=2026-01-01&date_to=2026-03-31"
    page = client.get(reverse("analytics:report", args=["lost"]) + query)
    assert page.status_code == 200
    assert "Ипотека не одобрена" in page.content.decode()
    xlsx = client.get(reverse("analytics:export", args=["lost", "xlsx"]) + query)
    assert (xlsx.status_code, xlsx.content[:2]) == (200, b"PK")
    pdf = client.get(reverse("analytics:export", args=["lost", "pdf"]) + query)
    assert (pdf.status_code, pdf.content[:4]) == (200, b"%PDF")


def _queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as captured:
        run(**kwargs)
    return len(captured)


def test_the_query_count_does_not_grow(settings, django_assert_max_num_queries):
    settings.TIME_ZONE = "Europe/Moscow"
    project = make_project()
    units = make_floor_units(make_building(project), floors=3)

    def one_of_each(n):
        terminate(units[n], msk(2026, 2, 1 + n, 12), f"Причина {n}")
        lose_lead("call", f"Причина {n}", created=msk(2026, 2, 1 + n, 12), unit=units[n])
        cancel_hold(units[6 + n], msk(2026, 2, 1, 12), msk(2026, 2, 2, 12), f"Причина {n}")

    one_of_each(0)
    one = _queries(project=project)
    for n in range(1, 6):
        one_of_each(n)
    assert _queries(project=project) == one
    # terminations, lost leads (by reason and channel at once), cancelled holds
    with django_assert_max_num_queries(3):
        run(project=project)
