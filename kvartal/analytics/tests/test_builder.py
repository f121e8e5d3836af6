"""The report builder: the engine against a hand-built history (expected rows written out by
hand), the broken templates, and the pages (save, open, share, export, who sees what)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role, Team, User
from kvartal.analytics.builder import TemplateBroken, build, run_template
from kvartal.analytics.models import ReportTemplate, SharedLink
from kvartal.analytics.sharing import sign
from kvartal.clients.models import Channel, Lead, LeadStatus
from kvartal.inventory.models import UnitStatus
from kvartal.inventory.services import unit_set_sales_state
from kvartal.sales.tests.factories import make_deal
from kvartal.testing import make_building, make_project, make_user

from .factories import make_floor_units, msk, sell

pytestmark = pytest.mark.django_db

Q1 = {"date_from": "2026-01-01", "date_to": "2026-03-31"}


@pytest.fixture(autouse=True)
def moscow(settings):
    settings.TIME_ZONE = "Europe/Moscow"


@pytest.fixture
def managers():
    return (
        make_user(Role.SALES_MANAGER, last_name="Иванова", first_name="Анна"),
        make_user(Role.SALES_MANAGER, last_name="Петров", first_name="Борис"),
    )


@pytest.fixture
def history(managers):
    """Four units at 150 000 ₽/m²: studio 27.50 m², 1-room 38.40, 2-room 56.20, 3-room 78.90."""
    ivanova, petrov = managers
    project = make_project(name="ЖК Северный")
    building = make_building(project, name="Корпус 1")
    studio, one, two, three = make_floor_units(building)
    deals = {
        # Jan (20:30 UTC): 4 000 000 against the list price 27.50 × 150 000 = 4 125 000
        "studio": sell(studio, msk(2026, 1, 31, 23, 30), price=Decimal("4000000"), manager=ivanova),
        # Feb (21:10 UTC on 31 Jan): 56.20 × 150 000 = 8 430 000
        "two": sell(two, msk(2026, 2, 1, 0, 10), manager=ivanova),
        # Feb: 38.40 × 150 000 = 5 760 000
        "one": sell(one, msk(2026, 2, 15, 12, 0), manager=petrov),
        # the first moment after the quarter
        "three": sell(three, msk(2026, 4, 1, 0, 0), manager=petrov),
    }
    return project, building, deals


# --- sales ----------------------------------------------------------------------------------


def test_sales_by_manager_and_month(history):
    result = build(
        source="sales",
        dimensions=["manager", "month"],
        measures=["count", "area", "amount"],
        filters=Q1,
        title="По менеджерам",
    )
    table = result.tables[0]
    assert [c.key for c in table.columns] == ["manager", "month", "count", "area", "amount"]
    assert [(r["manager"], r["month"], r["count"], r["area"], r["amount"]) for r in table.rows] == [
        ("Иванова А.", "January 2026", 1, Decimal("27.50"), Decimal("4000000")),
        ("Иванова А.", "February 2026", 1, Decimal("56.20"), Decimal("8430000")),
        ("Петров Б.", "February 2026", 1, Decimal("38.40"), Decimal("5760000")),
    ]
    # 4 000 000 + 8 430 000 + 5 760 000 = 18 190 000; 27.50 + 56.20 + 38.40 = 122.10
    assert table.total == {
        "manager": "Total",
        "count": 3,
        "area": Decimal("122.10"),
        "amount": Decimal("18190000"),
    }
    assert result.title == "По менеджерам"


def test_the_order_of_the_dimensions_is_the_order_of_the_columns_and_rows(history):
    result = build(
        source="sales", dimensions=["month", "manager"], measures=["amount", "count"], filters=Q1
    )
    table = result.tables[0]
    assert [c.key for c in table.columns] == ["month", "manager", "amount", "count"]
    assert [(r["month"], r["manager"], r["amount"]) for r in table.rows] == [
        ("January 2026", "Иванова А.", Decimal("4000000")),
        ("February 2026", "Иванова А.", Decimal("8430000")),
        ("February 2026", "Петров Б.", Decimal("5760000")),
    ]
    # the chart: months along the axis, one series per manager, from the same rows
    chart = result.charts[0]
    assert chart.labels == ["January 2026", "February 2026"]
    assert [(s.name, s.values) for s in chart.series] == [
        ("Иванова А.", [Decimal("4000000"), Decimal("8430000")]),
        ("Петров Б.", [None, Decimal("5760000")]),
    ]


def test_prices_discounts_and_types(history):
    result = build(
        source="sales",
        dimensions=["unit_type"],
        measures=["count", "avg_price_m2", "list_amount", "discount", "avg_price"],
        filters=Q1,
    )
    table = result.tables[0]
    assert [
        (str(r["unit_type"]), r["avg_price_m2"], r["list_amount"], r["discount"], r["avg_price"])
        for r in table.rows
    ] == [
        # 4 000 000 ÷ 27.50 = 145 454.545… → 145 454.55; list 4 125 000, 125 000 off
        ("Studio", Decimal("145454.55"), Decimal("4125000"), Decimal("125000"), Decimal("4000000")),
        ("1-room", Decimal("150000"), Decimal("5760000"), Decimal("0"), Decimal("5760000")),
        ("2-room", Decimal("150000"), Decimal("8430000"), Decimal("0"), Decimal("8430000")),
    ]
    # 18 190 000 ÷ 122.10 = 148 976.25; 18 190 000 ÷ 3 = 6 063 333.33
    assert table.total["avg_price_m2"] == Decimal("148976.25")
    assert table.total["discount"] == Decimal("125000")
    assert table.total["avg_price"] == Decimal("6063333.33")
    chart = result.charts[0]
    assert chart.labels == ["Studio", "1-room", "2-room"]
    assert chart.series[0].values == [1, 1, 1]


def test_a_lone_month_dimension_shows_every_month_of_the_period(history):
    result = build(
        source="sales",
        dimensions=["month"],
        measures=["count"],
        filters={"date_from": "2025-12-01", "date_to": "2026-04-30"},
    )
    assert [(r["month"], r["count"]) for r in result.tables[0].rows] == [
        ("December 2025", 0),
        ("January 2026", 1),
        ("February 2026", 2),
        ("March 2026", 0),
        ("April 2026", 1),  # 1 April 00:00 Moscow is April
    ]


def test_sales_by_channel_of_the_buyers_first_lead(history):
    _project, _building, deals = history
    site, call = Channel.objects.get(code="site"), Channel.objects.get(code="call")
    studio_buyer = deals["studio"].buyers.get().client
    Lead.objects.create(client=studio_buyer, channel=call, created_at=msk(2026, 1, 10, 12, 0))
    Lead.objects.create(client=studio_buyer, channel=site, created_at=msk(2025, 12, 1, 12, 0))
    two_buyer = deals["two"].buyers.get().client
    Lead.objects.create(client=two_buyer, channel=call, created_at=msk(2026, 1, 20, 12, 0))
    # the 1-room's buyer came without a lead
    result = build(source="sales", dimensions=["channel"], measures=["count", "amount"], filters=Q1)
    assert [(r["channel"], r["count"], r["amount"]) for r in result.tables[0].rows] == [
        ("Website", 1, Decimal("4000000")),  # the studio buyer's first lead was from the site
        ("Call", 1, Decimal("8430000")),
        ("Not known", 1, Decimal("5760000")),
    ]


def test_place_dimensions_and_the_filters(history, managers):
    project, building, _deals = history
    other = make_floor_units(make_building(make_project(name="ЖК Южный"), name="Корпус 7"))
    sell(other[0], msk(2026, 3, 1, 12, 0), manager=managers[1])  # 27.50 × 150 000 = 4 125 000
    result = build(
        source="sales", dimensions=["project", "building"], measures=["count"], filters=Q1
    )
    assert [(r["project"], r["building"], r["count"]) for r in result.tables[0].rows] == [
        ("ЖК Северный", "Корпус 1", 3),
        ("ЖК Южный", "Корпус 7", 1),
    ]
    # without the project dimension the building names its project
    alone = build(source="sales", dimensions=["building"], measures=["count"], filters=Q1)
    assert [r["building"] for r in alone.tables[0].rows] == [
        "ЖК Северный · Корпус 1",
        "ЖК Южный · Корпус 7",
    ]
    petrov = managers[1]
    filtered = build(
        source="sales",
        dimensions=["project"],
        measures=["count", "amount"],
        filters={**Q1, "manager": petrov.pk, "unit_type": ["studio", "1"]},
    )
    # Петров: the 1-room of Северный (5 760 000) and the studio of Южный (4 125 000)
    assert [(r["project"], r["count"], r["amount"]) for r in filtered.tables[0].rows] == [
        ("ЖК Северный", 1, Decimal("5760000")),
        ("ЖК Южный", 1, Decimal("4125000")),
    ]
    only = build(
        source="sales", dimensions=[], measures=["count"], filters={**Q1, "project": project.pk}
    )
    assert only.tables[0].rows == [{"count": 3}]


def test_the_query_count_does_not_grow_with_the_sales(managers):
    units = make_floor_units(floors=2)
    deal = sell(units[0], msk(2026, 1, 10, 12, 0), manager=managers[0])
    call = Channel.objects.get(code="call")
    Lead.objects.create(client=deal.buyers.get().client, channel=call, created_at=msk(2026, 1, 5))
    spec = {
        "source": "sales",
        "dimensions": ["manager", "channel", "rooms", "month"],
        "measures": ["count", "amount"],
        "filters": Q1,
    }
    with CaptureQueriesContext(connection) as one_sale:
        build(**spec)
    for i, unit in enumerate(units[1:6]):
        sell(unit, msk(2026, 2, 1 + i, 12, 0), manager=managers[i % 2])
    with CaptureQueriesContext(connection) as six_sales:
        result = build(**spec)
    assert result.tables[0].total["count"] == 6
    # the sales and their deals, the rooms, the channels, the managers' and channels' names
    assert len(one_sale.captured_queries) == len(six_sales.captured_queries) == 5


# --- stock ----------------------------------------------------------------------------------


def test_stock_by_type_and_current_status(managers):
    # two floors: per floor a studio 27.50, 1-room 38.40, 2-room 56.20, 3-room 78.90
    units = make_floor_units(floors=2)
    studio1, one1, _two1, _three1, studio2, one2, _two2, _three2 = units
    sell(studio1, msk(2026, 1, 10, 12, 0), manager=managers[0])
    make_deal(unit=one1, manager=managers[0])  # in a deal
    # a hold that has run out reads as available; one still running is reserved
    unit_set_sales_state(
        unit=one2, status=UnitStatus.RESERVED, by=None, hold_until=timezone.now() - timedelta(1)
    )
    unit_set_sales_state(
        unit=studio2, status=UnitStatus.RESERVED, by=None, hold_until=timezone.now() + timedelta(1)
    )
    result = build(
        source="stock",
        dimensions=["unit_type", "status"],
        measures=["count", "area", "amount"],
        filters={},
    )
    rows = [
        (str(r["unit_type"]), str(r["status"]), r["count"], r["area"])
        for r in result.tables[0].rows
    ]
    assert rows == [
        ("Studio", "Reserved", 1, Decimal("27.50")),
        ("Studio", "Sold", 1, Decimal("27.50")),
        ("1-room", "Available", 1, Decimal("38.40")),  # the hold ran out
        ("1-room", "In deal", 1, Decimal("38.40")),
        ("2-room", "Available", 2, Decimal("112.40")),
        ("3-room", "Available", 2, Decimal("157.80")),
    ]
    # 2 × (27.50 + 38.40 + 56.20 + 78.90) = 402.00 m² at 150 000 = 60 300 000 ₽
    total = result.tables[0].total
    assert (total["count"], total["area"], total["amount"]) == (
        8,
        Decimal("402.00"),
        Decimal("60300000"),
    )


def test_stock_by_floor_with_the_type_filter():
    make_floor_units(floors=3)
    result = build(
        source="stock",
        dimensions=["floor"],
        measures=["count", "avg_price_m2"],
        filters={"unit_type": ["2", "3"]},
    )
    assert [(r["floor"], r["count"], r["avg_price_m2"]) for r in result.tables[0].rows] == [
        ("1", 2, Decimal("150000")),
        ("2", 2, Decimal("150000")),
        ("3", 2, Decimal("150000")),
    ]


# --- leads ----------------------------------------------------------------------------------


def _lead(channel, at, status=LeadStatus.NEW, manager=None):
    reason = "дорого" if status == LeadStatus.LOST else ""
    return Lead.objects.create(
        channel=channel, created_at=at, status=status, lost_reason=reason, manager=manager
    )


def test_leads_by_channel():
    site, call = Channel.objects.get(code="site"), Channel.objects.get(code="call")
    _lead(site, msk(2026, 1, 1, 0, 0), LeadStatus.CONVERTED)  # the first moment of January
    _lead(site, msk(2026, 1, 15, 12, 0), LeadStatus.LOST)
    _lead(site, msk(2026, 1, 31, 23, 59))
    _lead(site, msk(2026, 2, 1, 0, 0), LeadStatus.CONVERTED)  # February
    _lead(site, msk(2025, 12, 31, 23, 59))  # December
    _lead(call, msk(2026, 1, 20, 10, 0), LeadStatus.CONVERTED)
    result = build(
        source="leads",
        dimensions=["channel"],
        measures=["count", "converted", "lost", "conversion"],
        filters={"date_from": "2026-01-01", "date_to": "2026-01-31"},
    )
    assert [
        (r["channel"], r["count"], r["converted"], r["lost"], r["conversion"])
        for r in result.tables[0].rows
    ] == [
        ("Website", 3, 1, 1, Decimal("33.3")),  # 1 ÷ 3
        ("Call", 1, 1, 0, Decimal("100.0")),
    ]
    total = result.tables[0].total
    assert (total["count"], total["converted"], total["conversion"]) == (4, 2, Decimal("50.0"))


def test_leads_by_month_in_local_time(managers):
    site = Channel.objects.get(code="site")
    ivanova, petrov = managers
    _lead(site, msk(2026, 1, 31, 23, 30), manager=ivanova)  # 20:30 UTC: January
    _lead(site, msk(2026, 2, 1, 0, 30), manager=ivanova)  # 21:30 UTC on 31 Jan: February
    _lead(site, msk(2026, 2, 10, 12, 0), manager=petrov)
    result = build(
        source="leads",
        dimensions=["month", "manager"],
        measures=["count"],
        filters={"date_from": "2026-01-01", "date_to": "2026-02-28"},
    )
    assert [(r["month"], r["manager"], r["count"]) for r in result.tables[0].rows] == [
        ("January 2026", "Иванова А.", 1),
        ("February 2026", "Иванова А.", 1),
        ("February 2026", "Петров Б.", 1),
    ]
    mine = build(
        source="leads",
        dimensions=["month"],
        measures=["count"],
        filters={"date_from": "2026-01-01", "date_to": "2026-02-28", "manager": petrov.pk},
    )
    assert [(r["month"], r["count"]) for r in mine.tables[0].rows] == [
        ("January 2026", 0),
        ("February 2026", 1),
    ]


# --- broken templates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"dimensions": ["channel2"]},
            "The dimension “channel2” no longer exists: edit the template and choose another.",
        ),
        (
            {"measures": ["profit"]},
            "The measure “profit” no longer exists: edit the template and choose another.",
        ),
        (
            {"source": "payments"},
            "The data “payments” no longer exists: edit the template and choose another.",
        ),
        (
            {"dimensions": ["status"]},  # a stock dimension, not a sales one
            "The dimension “status” no longer exists: edit the template and choose another.",
        ),
        ({"measures": []}, "Choose at least one measure."),
        (
            {"dimensions": ["project", "building", "section", "manager", "month"]},
            "At most 4 dimensions: remove 1.",
        ),
        ({"dimensions": ["month", "month"]}, "The dimension “Month” is chosen twice."),
        (
            {"filters": {"date_from": "2026-03-01", "date_to": "2026-01-01"}},
            "The period starts after it ends: 2026-03-01 is later than 2026-01-01.",
        ),
        ({"filters": {"period": "next_century"}}, "The period “next_century” no longer exists"),
        ({"filters": {"colour": "red"}}, "The filter “colour” no longer exists"),
        ({"filters": {"project": 999999}}, "Project: Select a valid choice."),
    ],
)
def test_a_broken_template_says_what_is_wrong(spec, message):
    spec = {"source": "sales", "dimensions": ["month"], "measures": ["count"], "filters": {}} | spec
    with pytest.raises(TemplateBroken) as broken:
        build(**spec)
    assert message in str(broken.value)


def test_a_moving_period_follows_the_calendar(history):
    today = timezone.localdate()
    result = build(
        source="sales", dimensions=["month"], measures=["count"], filters={"period": "this_year"}
    )
    assert len(result.tables[0].rows) == today.month  # January … this month


# --- pages ----------------------------------------------------------------------------------


@pytest.fixture
def head(history):
    """The sales head of every manager of the history (a head's reports cover their team)."""
    head = make_user(Role.SALES_HEAD)
    team = Team.objects.create(name="Отдел продаж", head=head)
    User.objects.filter(role=Role.SALES_MANAGER).update(team=team)
    return head


def _template(owner, **fields):
    fields = {
        "name": "Продажи по менеджерам",
        "source": "sales",
        "dimensions": ["manager", "month"],
        "measures": ["count", "area", "amount"],
        "filters": Q1,
    } | fields
    return ReportTemplate.objects.create(owner=owner, **fields)


def test_the_builder_previews_and_saves_a_template(client, head, history):
    client.force_login(head)
    assert client.get(reverse("analytics:builder")).status_code == 200
    assert client.get(reverse("analytics:builder"), {"source": "stock"}).status_code == 200
    data = {
        "source": "sales",
        "name": "Продажи по менеджерам",
        "dimension_1": "manager",
        "dimension_2": "month",
        "measure_1": "count",
        "measure_2": "amount",
        "date_from": "2026-01-01",
        "date_to": "2026-03-31",
        "shared_roles": ["sales_head"],
        "action": "preview",
    }
    preview = client.post(reverse("analytics:builder"), data)
    assert preview.status_code == 200
    assert "Петров Б." in preview.content.decode()
    assert not ReportTemplate.objects.exists()
    saved = client.post(reverse("analytics:builder"), data | {"action": "save"})
    template = ReportTemplate.objects.get()
    assert saved.status_code == 302
    assert saved.url == reverse("analytics:template", args=[template.pk])
    assert (template.owner, template.source) == (head, "sales")
    assert template.dimensions == ["manager", "month"]
    assert template.measures == ["count", "amount"]
    assert template.filters == Q1
    assert template.shared_roles == ["sales_head"]
    page = client.get(saved.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Иванова А." in html and "Петров Б." in html
    assert "8,430,000" in html or "8 430 000" in html


def test_the_builder_refuses_what_cannot_be_built(client, head):
    client.force_login(head)
    data = {"source": "sales", "name": "Без мер", "dimension_1": "month", "action": "save"}
    response = client.post(reverse("analytics:builder"), data)
    assert response.status_code == 400
    assert "Choose at least one measure." in response.content.decode()
    no_name = data | {"name": "", "measure_1": "count"}
    response = client.post(reverse("analytics:builder"), no_name)
    assert response.status_code == 400
    assert "Give the report a name to save it." in response.content.decode()
    backwards = no_name | {"name": "Наоборот", "date_from": "2026-03-01", "date_to": "2026-01-01"}
    response = client.post(reverse("analytics:builder"), backwards)
    assert response.status_code == 400
    assert "The period starts after it ends" in response.content.decode()
    unknown = no_name | {"name": "Платежи", "source": "payments"}
    response = client.post(reverse("analytics:builder"), unknown)
    assert response.status_code == 400
    assert "Select a valid choice. payments is not one of the available choices." in (
        response.content.decode()
    )
    assert not ReportTemplate.objects.exists()


def test_a_template_with_a_removed_dimension_opens_with_a_clear_message(client, head):
    template = _template(head, dimensions=["channel2"])
    client.force_login(head)
    response = client.get(reverse("analytics:template", args=[template.pk]))
    assert response.status_code == 409
    html = response.content.decode()
    assert "The dimension “channel2” no longer exists" in html
    assert reverse("analytics:template-edit", args=[template.pk]) in html
    assert client.get(reverse("analytics:template-edit", args=[template.pk])).status_code == 200
    export = client.get(reverse("analytics:template-export", args=[template.pk, "xlsx"]))
    assert export.status_code == 409


def test_who_sees_a_template(client, head, history):
    template = _template(head, shared_roles=[Role.SALES_HEAD])
    url = reverse("analytics:template", args=[template.pk])
    client.force_login(make_user(Role.DIRECTOR))  # a director: not shared with directors
    assert client.get(url).status_code == 404
    head = make_user(Role.SALES_HEAD)
    client.force_login(head)
    assert client.get(url).status_code == 200
    # shared is not owned: no changing, no deleting
    assert client.get(reverse("analytics:template-edit", args=[template.pk])).status_code == 403
    assert client.post(reverse("analytics:template-delete", args=[template.pk])).status_code == 403
    assert ReportTemplate.objects.filter(pk=template.pk).exists()
    client.force_login(make_user(Role.SALES_MANAGER))
    assert client.get(url).status_code == 403  # managers have no saved reports at all
    client.force_login(make_user(Role.ADMIN))
    assert client.get(url).status_code == 200


def test_the_owner_changes_and_deletes_a_template(client, head, history):
    template = _template(head)
    client.force_login(head)
    edit = reverse("analytics:template-edit", args=[template.pk])
    data = {
        "source": "sales",
        "name": "По месяцам",
        "dimension_1": "month",
        "measure_1": "amount",
        "period": "",
        "date_from": "2026-01-01",
        "date_to": "2026-03-31",
        "action": "save",
    }
    assert client.post(edit, data).status_code == 302
    template.refresh_from_db()
    assert (template.name, template.dimensions, template.measures) == (
        "По месяцам",
        ["month"],
        ["amount"],
    )
    assert template.owner == head
    delete = reverse("analytics:template-delete", args=[template.pk])
    assert client.get(delete).status_code == 200
    assert client.post(delete).status_code == 302
    assert not ReportTemplate.objects.exists()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("pdf", "application/pdf"),
    ],
)
def test_a_template_exports(client, head, history, fmt, content_type):
    template = _template(head)
    client.force_login(head)
    response = client.get(reverse("analytics:template-export", args=[template.pk, fmt]))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert (
        client.get(reverse("analytics:template-export", args=[template.pk, "csv"])).status_code
        == 404
    )


def test_sharing_a_template_makes_a_link_to_its_live_data(client, head, history):
    template = _template(head)
    client.force_login(head)
    share = reverse("analytics:template-share", args=[template.pk])
    assert client.get(share).status_code == 200  # the page without the pop-up
    assert client.post(share, {"days": "0"}).status_code == 302
    assert not SharedLink.objects.exists()
    assert client.post(share, {"days": "7"}).status_code == 302
    link = SharedLink.objects.get()
    assert (link.template, link.report) == (template, "builder")
    client.logout()
    public = client.get(reverse("shared:report", args=[sign(link)]))
    assert public.status_code == 200
    html = public.content.decode()
    assert "Продажи по менеджерам" in html and "Петров Б." in html


def test_run_template_reads_the_current_data(head, history, managers):
    template = _template(head, dimensions=[], measures=["count"])
    assert run_template(template).tables[0].rows == [{"count": 3}]
    sell(make_floor_units()[0], msk(2026, 3, 30, 12, 0), manager=managers[0])
    assert run_template(template).tables[0].rows == [{"count": 4}]
