"""The client list and card: per-client sales figures against a hand-built history,
sorting and filtering by them, the card's timeline."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.clients import services
from kvartal.clients.tests.factories import make_deal, make_hold, units
from kvartal.core.templatetags.kvartal import money
from kvartal.sales.models import Payment, Stage, StageScheme
from kvartal.sales.selectors.clients import figures_of
from kvartal.testing import make_user

pytestmark = pytest.mark.django_db

M = Decimal(1_000_000)


@pytest.fixture
def history(manager):
    """A: bought 5 M and 7 M, in work 4 M, refused 3 M, a swapped-away 9 M (not counted).
    B and C bought one 10 M flat together (½ each). D nothing. E (a company) bought 20 M."""
    u = units(8)
    mk = lambda **kw: services.client_create(by=manager, **kw)  # noqa: E731
    a = mk(last_name="Алексеева", first_name="А")
    b = mk(last_name="Борисов", first_name="Б")
    c = mk(last_name="Васильева", first_name="В")
    d = mk(last_name="Григорьев", first_name="Г")
    e = mk(kind="company", company_name="ООО Дельта")
    make_deal(unit=u[0], buyers=[a], manager=manager, stage="registered", price=5 * M)
    make_deal(unit=u[1], buyers=[a], manager=manager, stage="paid", price=7 * M)
    make_deal(unit=u[2], buyers=[a], manager=manager, stage="signed", price=4 * M)
    make_deal(unit=u[3], buyers=[a], manager=manager, stage="terminated", price=3 * M, active=False)
    make_deal(
        unit=u[4], buyers=[a], manager=manager, stage="preparation", price=9 * M, active=False
    )
    make_deal(
        unit=u[5],
        buyers=[b, c],
        manager=manager,
        stage="handed_over",
        price=10 * M,
        shares=[(1, 2), (1, 2)],
    )
    make_deal(unit=u[6], buyers=[e], manager=manager, stage="registered", price=20 * M)
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "units": u}


def test_figures_by_hand(history):
    a = figures_of(history["a"])
    assert (a["bought_count"], a["bought_sum"]) == (2, 12 * M)
    assert a["avg_check"] == 6 * M
    assert (a["in_work_count"], a["in_work_sum"]) == (1, 4 * M)
    assert (a["refused_count"], a["refused_sum"]) == (1, 3 * M)
    assert a["as_of"] is not None
    for key in ("b", "c"):  # a co-bought deal counts whole for each buyer
        f = figures_of(history[key])
        assert (f["bought_count"], f["bought_sum"], f["avg_check"]) == (1, 10 * M, 10 * M)
    d = figures_of(history["d"])
    assert (d["bought_count"], d["bought_sum"], d["avg_check"], d["in_work_count"]) == (
        0,
        0,
        None,
        0,
    )
    assert figures_of(history["e"])["avg_check"] == 20 * M


def test_the_administrator_decides_which_stages_count_and_figures_follow_at_once(history):
    signed = Stage.objects.get(scheme=StageScheme.default(), code="signed")
    signed.outcome = "bought"
    signed.save()
    a = figures_of(history["a"])
    assert (a["bought_count"], a["bought_sum"], a["in_work_count"]) == (3, 16 * M, 0)
    assert a["avg_check"] == Decimal("5333333.33")


def rows(response):
    return [c.display_name for c in response.context["page"].object_list]


def test_the_list_sorts_by_average_check_and_purchases(client, manager, history):
    client.force_login(manager)
    url = reverse("sales:client-list")
    by_avg = rows(client.get(url, {"sort": "-avg_check"}))
    assert by_avg == ["ООО Дельта", "Васильева В", "Борисов Б", "Алексеева А", "Григорьев Г"]
    assert rows(client.get(url, {"sort": "avg_check"}))[0] == "Алексеева А"
    assert rows(client.get(url, {"sort": "avg_check"}))[-1] == "Григорьев Г"  # empty last
    assert rows(client.get(url, {"sort": "-bought_count"}))[0] == "Алексеева А"
    assert rows(client.get(url, {"sort": "bought_count"}))[0] == "Григорьев Г"  # fewest
    assert rows(client.get(url, {"sort": "-bought_sum"}))[0] == "ООО Дельта"
    assert rows(client.get(url, {"sort": "nonsense"}))[0] == "Алексеева А"  # by name


def test_the_list_filters_by_the_figures(client, manager, history):
    client.force_login(manager)
    url = reverse("sales:client-list")
    assert rows(client.get(url, {"bought_min": 2})) == ["Алексеева А"]
    assert set(rows(client.get(url, {"avg_min": 8_000_000}))) == {
        "ООО Дельта",
        "Васильева В",
        "Борисов Б",
    }
    assert rows(client.get(url, {"bought_max": 0})) == ["Григорьев Г"]
    assert rows(client.get(url, {"in_work": "on"})) == ["Алексеева А"]
    assert rows(client.get(url, {"refused": "on"})) == ["Алексеева А"]
    assert rows(client.get(url, {"kind": "company"})) == ["ООО Дельта"]
    assert rows(client.get(url, {"q": "борис"})) == ["Борисов Б"]


def test_the_list_shows_only_the_managers_own_clients(client, manager, history):
    other = make_user(Role.SALES_MANAGER)
    services.client_create(by=other, last_name="Чужой", first_name="Ч")
    client.force_login(manager)
    assert "Чужой Ч" not in rows(client.get(reverse("sales:client-list")))
    client.force_login(make_user(Role.DIRECTOR))
    assert "Чужой Ч" in rows(client.get(reverse("sales:client-list")))


def test_the_list_costs_the_same_few_queries_for_many_clients(
    client, manager, history, django_assert_max_num_queries
):
    for i in range(30):
        services.client_create(by=manager, last_name=f"Массовый{i}", first_name="М")
    client.force_login(manager)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("sales:client-list"), {"sort": "-avg_check"})
    assert len(response.context["page"].object_list) == 35


def test_the_card_shows_figures_and_one_timeline(client, manager, history):
    a = history["a"]
    u = history["units"]
    make_hold(unit=u[7], client=a, manager=manager)
    deal = a.deal_parts.select_related("deal").first().deal
    Payment.objects.create(
        deal=deal, received_on="2026-03-01", amount=Decimal("100000"), recorded_by=manager
    )
    services.interaction_add(client=a, by=manager, kind="call", text="обсудили ипотеку")
    services.visit_register(by=manager, client=a, received_by=manager, asked_about="паркинг")
    client.force_login(manager)
    response = client.get(reverse("sales:client-detail", args=[a.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["figures"]["avg_check"] == 6 * M
    assert f'data-figure="avg">{money(6 * M)} ₽' in html
    css = {row["css"] for row in response.context["timeline"]}
    assert {"ev-visit", "ev-call", "ev-hold", "ev-deal", "ev-payment"} <= css


def test_a_merged_duplicate_opens_the_kept_client(client, manager):
    kept = services.client_create(by=manager, first_name="Анна", phone="+79001112233")
    dup = services.client_create(by=manager, first_name="Аня", phone="+79001112244")
    services.client_merge(source=dup, target=kept, by=manager)
    client.force_login(manager)
    response = client.get(reverse("sales:client-detail", args=[dup.pk]))
    assert response.status_code == 302
    assert response.url == reverse("sales:client-detail", args=[kept.pk])
