"""The client picker of the hold and deal forms: a search through the user's clients, never
a list of every client; the same with and without JavaScript."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kvartal.clients.models import Client
from kvartal.clients.services import client_create
from kvartal.sales.models import Hold

pytestmark = pytest.mark.django_db

PICK = reverse("clients:pick")
OPTION = re.compile(r'<option value="(\d*)"')


def many_clients(manager, n: int) -> None:
    Client.objects.bulk_create(
        Client(last_name=f"Клиентов{i:05d}", first_name="Пётр", manager=manager) for i in range(n)
    )


def options(html: str, select_id: str) -> list[str]:
    block = html.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return OPTION.findall(block)


def test_the_hold_and_deal_forms_do_not_list_every_client(client, manager, unit, buyer):
    many_clients(manager, 60)
    client.force_login(manager)

    hold = client.get(reverse("sales:hold-create", args=[unit.pk])).content.decode()
    assert options(hold, "id_client") == [""]  # nothing chosen, nothing searched: no list
    assert 'name="client_q"' in hold and "data-client-picker" in hold

    chosen = client.get(reverse("sales:hold-create", args=[unit.pk]) + f"?client={buyer.pk}")
    assert options(chosen.content.decode(), "id_client") == ["", str(buyer.pk)]

    deal = client.get(reverse("sales:deal-create") + f"?unit={unit.pk}").content.decode()
    assert options(deal, "id_buyers-0-client") == [""]


def test_the_hold_form_costs_the_same_queries_for_10_and_500_clients(
    client, manager, unit, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(manager)
    url = reverse("sales:hold-create", args=[unit.pk])
    many_clients(manager, 10)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    many_clients(manager, 490)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_the_search_finds_by_name_and_phone_within_the_users_clients(
    client, manager, other_manager, buyer, django_assert_num_queries
):
    many_clients(manager, 30)
    client_create(by=other_manager, last_name="Петрова", first_name="Анна", phone="+79005550000")
    client.force_login(manager)
    client.get(PICK)  # the session's first read

    with django_assert_num_queries(2):  # the session with its user, the search
        by_name = client.get(PICK, {"q": "петров"}).json()
    assert [r["id"] for r in by_name["results"]] == [buyer.pk]  # not the other manager's
    assert by_name["results"][0]["label"].endswith("+7 900 123-45-67")
    assert "1 client found" in by_name["status"]

    assert [r["id"] for r in client.get(PICK, {"q": "8 900 123"}).json()["results"]] == [buyer.pk]
    assert [r["id"] for r in client.get(PICK, {"q": "Петров Иван"}).json()["results"]] == [buyer.pk]
    assert client.get(PICK, {"q": "Петров Анна"}).json()["results"] == []
    assert client.get(PICK, {"q": "55500"}).json()["results"] == []

    many = client.get(PICK, {"q": "Клиентов"}).json()
    assert len(many["results"]) == 20 and many["more"]
    assert client.get(PICK).json()["results"] == []


def test_the_search_needs_a_seller_or_a_client_reader(client, keeper):
    client.force_login(keeper)
    assert client.get(PICK, {"q": "Петров"}).status_code == 403


def test_without_javascript_find_shows_the_clients_found_and_holds_nothing(
    client, manager, unit, buyer
):
    many_clients(manager, 30)
    client.force_login(manager)
    url = reverse("sales:hold-create", args=[unit.pk])

    response = client.post(url, {"client_q": "Петров", "client_find": "1", "kind": "oral"})
    html = response.content.decode()
    assert response.status_code == 200
    assert options(html, "id_client") == ["", str(buyer.pk)]
    assert "1 client found" in html
    assert 'class="error"' not in html
    assert not Hold.objects.exists()

    page = client.get(reverse("sales:deal-create") + f"?unit={unit.pk}")
    data = {
        k: v for k, v in page.context["buyers"].management_form.initial.items() if v is not None
    }
    data = {f"buyers-{k}": v for k, v in data.items()}
    data.update({"buyers-0-client_q": "Петров", "buyers-0-client_find": "1"})
    found = client.post(reverse("sales:deal-create") + f"?unit={unit.pk}", data)
    assert found.status_code == 200
    assert options(found.content.decode(), "id_buyers-0-client") == ["", str(buyer.pk)]


def test_the_reception_desk_and_the_merge_page_do_not_list_every_client(client, manager, buyer):
    """The other doors that pick a client: the reception desk's visit form and a client's
    merge page search like the hold form; a client chosen in the URL is the one option."""
    many_clients(manager, 60)
    client.force_login(manager)
    desk = client.get(reverse("clients:reception")).content.decode()
    assert options(desk, "id_client") == [""] and 'name="client_q"' in desk
    chosen = client.get(reverse("clients:reception") + f"?client={buyer.pk}").content.decode()
    assert options(chosen, "id_client") == ["", str(buyer.pk)]
    found = client.post(
        reverse("clients:reception"), {"client_q": "Клиентов0001", "client_find": "1"}
    )
    assert found.status_code == 200 and len(options(found.content.decode(), "id_client")) == 11
    target = client_create(by=manager, last_name="Основной", first_name="Иван")
    merge = client.get(reverse("clients:client-merge", args=[target.pk])).content.decode()
    assert len(options(merge, "id_duplicate")) <= 2 and 'name="duplicate_q"' in merge


def test_a_sent_client_is_looked_up_as_the_scoped_queryset_answers(
    manager, other_manager, sales_head, director, django_assert_num_queries
):
    """``pickable_client`` (the prebuilt look-up behind a sent hold or deal form) answers as
    ``pickable(user)`` does, for every kind of scope: every row, one person's own, a head's
    team and the unassigned, an agent of no agency; merged and erased clients never; one
    query (a head's scope costs one more: the team)."""
    from django.utils import timezone

    from kvartal.accounts.models import Role, Team
    from kvartal.clients.selectors import pickable, pickable_client
    from kvartal.testing import make_user

    team = Team.objects.create(name="Север", head=sales_head)
    other_manager.team = team
    other_manager.save()
    mine = client_create(by=manager, last_name="Мой", first_name="А")
    theirs = client_create(by=other_manager, last_name="Чужой", first_name="Б")
    nobodys = Client.objects.create(last_name="Ничей", first_name="В")
    merged = Client.objects.create(last_name="Слитый", first_name="Г", manager=manager)
    merged.merged_into = mine
    merged.save()
    erased = Client.objects.create(
        last_name="Стёртый", first_name="Д", manager=manager, erased_at=timezone.now()
    )
    agent = make_user(Role.AGENCY_PARTNER)
    people = [mine, theirs, nobodys, merged, erased]
    for user, queries, expected in (
        (manager, 1, {mine}),
        (other_manager, 1, {theirs}),
        (director, 1, {mine, theirs, nobodys}),
        (sales_head, 2, {theirs, nobodys}),
        (agent, 1, set()),
    ):
        assert set(pickable(user)) == expected, user.role
        for person in people:
            with django_assert_num_queries(queries):
                found = pickable_client(user, person.pk)
            assert found == (person if person in expected else None), (user.role, person)
        assert pickable_client(user, None) is None
    found = pickable_client(manager, mine.pk)
    assert (found.last_name, found.manager_id) == ("Мой", manager.pk)  # a whole client row
    # the field of the hold form: an id as sent, or a client as given
    from kvartal.sales.forms.holds import HoldForm

    field = HoldForm(user=manager).fields["client"]
    assert field.clean(str(mine.pk)) == field.clean(mine) == mine
    for refused in (str(theirs.pk), theirs, "12\x00", "-1", "x"):
        with pytest.raises(ValidationError):
            field.clean(refused)


def test_the_hold_form_refuses_a_client_the_manager_does_not_see(
    client, manager, other_manager, unit
):
    from datetime import timedelta

    from django.utils import timezone

    from kvartal.inventory.models import StatusChange

    theirs = client_create(by=other_manager, last_name="Чужой", first_name="Б")
    client.force_login(manager)
    status, history = unit.status, StatusChange.objects.filter(unit=unit).count()
    until = timezone.localtime() + timedelta(days=1)
    response = client.post(
        reverse("sales:hold-create", args=[unit.pk]),
        {
            "client": theirs.pk,
            "manager": manager.pk,
            "kind": "oral",
            "basis": "other",
            "term": "custom",
            "expires_at": until.strftime("%Y-%m-%dT%H:%M"),
            "comment": "",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].has_error("client", "invalid_choice")
    assert not Hold.objects.exists()
    unit.refresh_from_db()
    assert unit.status == status
    assert StatusChange.objects.filter(unit=unit).count() == history
