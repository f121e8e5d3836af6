"""Search: units by buyer, sale date and status-change date; the header's box over units,
clients and deals; and row scoping (a manager never finds another manager's rows)."""

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.sales.selectors import global_search, unit_search
from kvartal.testing import make_user

from .factories import deal_reach, make_client, make_deal


def aware(*args):
    return timezone.make_aware(datetime(*args))


@pytest.fixture
def other_manager(db):
    return make_user(Role.SALES_MANAGER, username="other")


@pytest.fixture
def deals(manager, other_manager):
    """Manager's deal for Смирнова (sold on 10 March 2026) and the other manager's deal for
    Смирнов (still in preparation, opened on 1 February 2026)."""
    mine = make_deal(
        manager=manager,
        buyer=make_client(
            manager=manager,
            last_name="Смирнова",
            phone="+7 (912) 345-67-89",
            email="smirnova@example.ru",
        ),
        at=aware(2026, 3, 1, 12),
        number="Д-2026-00001",
    )
    deal_reach(mine, "signed", at=aware(2026, 3, 5, 12))
    deal_reach(mine, "registered", at=aware(2026, 3, 10, 12))
    theirs = make_deal(
        manager=other_manager,
        buyer=make_client(manager=other_manager, last_name="Смирнов", phone="89120000000"),
        at=aware(2026, 2, 1, 12),
        number="Д-2026-00002",
    )
    return mine, theirs


def units_of(hits):
    return [h.unit.pk for h in hits]


def test_by_buyer_surname_a_manager_finds_only_their_own_deals(deals, manager, director):
    mine, theirs = deals
    hits, more = unit_search(manager, buyer="смирнов")
    assert units_of(hits) == [mine.unit_id] and not more
    assert [c.last_name for c in hits[0].buyers] == ["Смирнова"]
    assert set(units_of(unit_search(director, buyer="Смирнов")[0])) == {
        mine.unit_id,
        theirs.unit_id,
    }


@pytest.mark.parametrize("typed", ["9123456789", "8 912 345-67-89", "+79123456789"])
def test_by_buyer_phone_in_any_format(deals, manager, typed):
    mine, _theirs = deals
    assert units_of(unit_search(manager, buyer=typed)[0]) == [mine.unit_id]


def test_by_sale_date_the_day_the_deal_first_reached_a_sold_stage(deals, director):
    mine, _theirs = deals
    deal_reach(mine, "paid", at=aware(2026, 4, 2, 12))  # a later sold stage: not a new sale
    hits, _ = unit_search(director, sold_from=date(2026, 3, 10), sold_to=date(2026, 3, 10))
    assert units_of(hits) == [mine.unit_id]
    assert hits[0].at == aware(2026, 3, 10, 12)
    assert unit_search(director, sold_from=date(2026, 3, 11), sold_to=date(2026, 4, 30))[0] == []
    assert unit_search(director, sold_to=date(2026, 3, 9))[0] == []


def test_by_status_change_date_and_status(deals, manager, director):
    mine, theirs = deals
    feb = {"changed_from": date(2026, 2, 1), "changed_to": date(2026, 2, 1)}
    hits, _ = unit_search(director, **feb, status="in_deal")
    assert units_of(hits) == [theirs.unit_id]
    assert hits[0].deal == theirs
    # The unit shows for the manager too (units are everyone's), but not the other's deal.
    (hit,) = unit_search(manager, **feb)[0]
    assert (hit.unit.pk, hit.deal, hit.buyers) == (theirs.unit_id, None, [])
    march_sold = unit_search(
        director, changed_from=date(2026, 3, 1), changed_to=date(2026, 3, 31), status="sold"
    )[0]
    assert units_of(march_sold) == [mine.unit_id]


def test_filters_combine(deals, director):
    mine, _theirs = deals
    assert units_of(unit_search(director, buyer="Смирнова", sold_from=date(2026, 3, 1))[0]) == [
        mine.unit_id
    ]
    assert unit_search(director, buyer="Смирнов", sold_from=date(2026, 5, 1))[0] == []


def test_the_search_page_shows_units_with_buyer_and_deal(client, deals, manager):
    mine, theirs = deals
    client.force_login(manager)
    page = client.get(reverse("sales:unit-search"), {"buyer": "Смирнов"}).content.decode()
    assert "Смирнова" in page and mine.number in page
    assert theirs.number not in page and "Смирнов<" not in page


def test_an_inverted_period_is_a_clear_error(client, manager):
    client.force_login(manager)
    response = client.get(
        reverse("sales:unit-search"), {"sold_from": "2026-03-10", "sold_to": "2026-03-01"}
    )
    assert response.status_code == 400
    assert "ends before it starts" in response.content.decode()


# --- the global box ------------------------------------------------------------------------


def test_global_search_finds_units_clients_and_deals(deals, director):
    mine, theirs = deals
    unit = mine.unit
    # Numbers and codes repeat from building to building: each building's unit is found.
    both = {mine.unit_id, theirs.unit_id}
    assert {u.pk for u in global_search(director, unit.code).units} == both
    assert {u.pk for u in global_search(director, unit.number).units} == both
    assert [c.last_name for c in global_search(director, "smirnova@").clients] == ["Смирнова"]
    assert [c.last_name for c in global_search(director, "912 000 00").clients] == ["Смирнов"]
    assert [d.number for d in global_search(director, "2026-0000").deals] == [
        mine.number,
        theirs.number,
    ]


def test_global_search_does_not_reveal_another_managers_clients_or_deals(client, deals, manager):
    mine, theirs = deals
    found = global_search(manager, "Смирнов")
    assert [c.last_name for c in found.clients] == ["Смирнова"]
    assert global_search(manager, theirs.number).deals == []
    client.force_login(manager)
    page = client.get(reverse("sales:search"), {"q": "Д-2026"}).content.decode()
    assert mine.number in page and theirs.number not in page


def test_the_cashier_finds_deals_but_no_clients(client, deals):
    cashier = make_user(Role.CASHIER)
    client.force_login(cashier)
    response = client.get(reverse("sales:search"), {"q": "Смирнов"})
    assert response.status_code == 200
    assert response.context["results"].clients == []
    assert "found-clients" not in response.content.decode()


def test_global_search_costs_the_same_queries_for_more_rows(
    client, director, django_assert_max_num_queries
):
    for n in range(6):
        make_deal(number=f"Д-2027-{n:05d}", at=timezone.now() - timedelta(days=n))
    client.force_login(director)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("sales:search"), {"q": "Д-2027"})
    assert response.content.decode().count("Д-2027-") == 6


@pytest.mark.parametrize(
    "query",
    ["changed_to=9999-12-31", "changed_from=0001-01-01", "sold_to=9999-12-31&sold_from=2020-01-01"],
)
def test_the_unit_search_refuses_days_off_the_calendar(client, manager, query):
    client.force_login(manager)
    response = client.get(reverse("sales:unit-search") + "?" + query)
    assert response.status_code == 400
    assert "Choose a day from 1900 to 2999." in response.content.decode()


def test_the_header_and_the_cashier_read_a_code_as_the_catalogue_does(deals, director):
    """One rule for "number or code" (``inventory.search.number_or_code_q``): a partial code
    (section and floor) finds the units under it, in the header's search and the cashier's."""
    from kvartal.sales.selectors.payments import deals_with_money_due

    mine, _theirs = deals
    stem = mine.unit.code.rsplit(".", 1)[0] + "."
    assert mine.unit_id in {u.pk for u in global_search(director, stem).units}
    assert all(u.code.startswith(stem) for u in global_search(director, stem).units)
    cashier_found = {d.pk for d in deals_with_money_due(director, query=mine.unit.code)}
    assert mine.pk in cashier_found
