"""The client context the panel reads (§5): tags that filter the client list."""

import pytest
from django.urls import reverse

from kvartal.clients.models import Tag
from kvartal.sales.tests.factories import make_client

pytestmark = pytest.mark.django_db


def test_the_client_list_filters_by_tag(client, manager):
    vip = Tag.objects.create(name="VIP")
    tagged = make_client(manager=manager, last_name="Тегов")
    tagged.tags.add(vip)
    make_client(manager=manager, last_name="Безтегов")
    client.force_login(manager)
    page = client.get(reverse("sales:client-list"), {"tag": vip.pk})
    assert page.status_code == 200
    names = [c.last_name for c in page.context["page"].object_list]
    assert names == ["Тегов"]
    assert "VIP" in page.content.decode()


def test_an_unknown_tag_filters_nothing_away_and_says_so(client, manager):
    make_client(manager=manager)
    client.force_login(manager)
    page = client.get(reverse("sales:client-list"), {"tag": 99999})
    assert page.status_code == 200
    assert page.context["form"].errors["tag"]


def test_needs_are_a_list_and_every_change_keeps_old_and_new(manager):
    from decimal import Decimal

    from kvartal.clients.models import Need, NeedChange
    from kvartal.clients.services import need_save

    buyer = make_client(manager=manager)
    family = need_save(client=buyer, by=manager, title="Для семьи", rooms=[2])
    need_save(client=buyer, by=manager, budget_max=Decimal(9_000_000))  # the current one
    investment = need_save(
        client=buyer, by=manager, new=True, title="Инвестиция", purpose="investment"
    )
    need_save(client=buyer, by=manager, need=family, status="postponed")
    assert Need.objects.filter(client=buyer).count() == 2
    family.refresh_from_db()
    assert family.status == "postponed" and family.budget_max == Decimal(9_000_000)
    rows = list(NeedChange.objects.filter(need=family).values_list("field", "old", "new"))
    assert ("rooms", "", "2") in rows
    assert ("budget_max", "", "9000000") in rows or ("budget_max", "", "9000000.00") in rows
    assert ("status", "Current", "Postponed") in rows
    assert NeedChange.objects.filter(need=investment, field="purpose", new="Investment").exists()
    # nothing changed: nothing written
    before = NeedChange.objects.count()
    need_save(client=buyer, by=manager, need=investment, title="Инвестиция")
    assert NeedChange.objects.count() == before


def test_a_need_of_another_client_is_refused(manager):
    from django.core.exceptions import ValidationError

    from kvartal.clients.models import NeedChange
    from kvartal.clients.services import need_save

    a, b = make_client(manager=manager), make_client(manager=manager)
    theirs = need_save(client=a, by=manager, rooms=[1])
    before = NeedChange.objects.count()
    with pytest.raises(ValidationError):
        need_save(client=b, by=manager, need=theirs, rooms=[3])
    theirs.refresh_from_db()
    assert theirs.rooms == [1] and NeedChange.objects.count() == before


def test_the_card_lists_the_needs_and_their_history(client, manager):
    from kvartal.clients.services import need_save

    buyer = make_client(manager=manager)
    need_save(client=buyer, by=manager, title="Для семьи", rooms=[2])
    need_save(client=buyer, by=manager, new=True, title="Инвестиция")
    client.force_login(manager)
    html = client.get(reverse("sales:client-detail", args=[buyer.pk])).content.decode()
    assert "Для семьи" in html and "Инвестиция" in html and "How the needs changed" in html


def test_a_contact_person_with_a_clients_phone_acts_for_the_company(client, manager):
    from kvartal.clients.services import contact_person_add

    person = make_client(manager=manager, last_name="Директоров", phone_normalized="+79120001122")
    company = make_client(manager=manager, kind="company", company_name="ООО Стройка")
    link = contact_person_add(
        company=company, by=manager, name="Директоров И.", phone="89120001122"
    )
    assert link.person == person
    client.force_login(manager)
    html = client.get(reverse("sales:client-detail", args=[person.pk])).content.decode()
    assert "Acts for" in html and "ООО Стройка" in html


def test_the_need_page_edits_one_need_or_adds_another(client, manager):
    from kvartal.clients.models import Need
    from kvartal.clients.services import need_save

    buyer = make_client(manager=manager)
    first = need_save(client=buyer, by=manager, title="Первая", rooms=[1])
    client.force_login(manager)
    url = reverse("clients:need-update", args=[buyer.pk])
    response = client.post(f"{url}?new=1", {"title": "Вторая", "status": "active", "rooms": ["2"]})
    assert response.status_code == 302
    response = client.post(
        f"{url}?need={first.pk}", {"title": "Первая", "status": "satisfied", "rooms": ["1"]}
    )
    assert response.status_code == 302
    assert dict(Need.objects.filter(client=buyer).values_list("title", "status")) == {
        "Первая": "satisfied",
        "Вторая": "active",
    }
