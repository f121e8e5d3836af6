"""Russian words agree with what they name: money received is «получено», a call «завершён».
One English word may need two Russian ones; the context of the translation tells them apart."""

import lxml.html
from django.urls import reverse
from django.utils import translation

from kvartal.accounts.models import Role
from kvartal.callcentre.models import CallState
from kvartal.clients.models import LeadEventKind
from kvartal.testing import make_user


def test_money_received_and_a_lead_received_are_told_apart(client, db):
    client.force_login(make_user(Role.CASHIER))
    page = client.get(reverse("sales:cashier"), HTTP_ACCEPT_LANGUAGE="ru")
    assert page.status_code == 200
    tiles = [
        t.text_content()
        for t in lxml.html.fromstring(page.content).xpath("//div[@class='stat']/small")
    ]
    assert "Получено" in tiles, tiles  # it read «Получен»
    with translation.override("ru"):
        assert str(LeadEventKind.CREATED.label) == "Получен"  # a lead: «лид получен»


def test_a_calls_states_agree_with_the_word_call():
    with translation.override("ru"):
        labels = [str(label) for label in CallState.labels]
    assert labels == ["Звонит", "Принят", "Завершён", "Пропущен"]  # «Завершена» before


def test_the_deal_lists_filters_say_all_as_the_other_lists_do(client, db):
    """Stage, project and manager read "---------" (Django's) where the unit list says "Все"."""
    from kvartal.testing import make_building

    make_building(name="Корпус 1")
    client.force_login(make_user(Role.SALES_HEAD))
    page = client.get(reverse("sales:deal-list"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "---------" not in page
    tree = lxml.html.fromstring(page)
    selects = {s.get("name"): s for s in tree.xpath("//form//select")}
    assert {"stage", "project"} <= set(selects)
    for name in {"stage", "project", "manager"} & set(selects):
        first = selects[name].xpath("option")[0]
        assert (first.get("value"), first.text_content()) == ("", "Все"), name
