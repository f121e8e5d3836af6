"""Each role lands on its own start page after signing in (issue 12 §6)."""

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.core.testing import PASSWORD, make_user

pytestmark = pytest.mark.django_db

EXPECTED = {
    Role.ADMIN: "analytics:dashboard",
    Role.DIRECTOR: "analytics:dashboard",
    Role.SALES_HEAD: "sales:my-day",
    Role.SALES_MANAGER: "sales:my-day",
    Role.CASHIER: "sales:cashier",
    Role.ACCOUNTANT: "sales:cashier",
    Role.INVENTORY_KEEPER: "inventory:home",
    Role.MARKETER: "sales:promotion-list",
}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_lands_on_a_page_it_may_open(client, role):
    user = make_user(role)
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    if role in EXPECTED:
        assert response.url == reverse(EXPECTED[role])
    assert client.get(response.url).status_code == 200, (role, response.url)
    # The same place from /accounts/start/ (the "home" link of a signed-in user).
    assert client.get(reverse("accounts:start")).url == response.url


def test_the_operator_starts_at_the_client_search_or_the_call_panel(client):
    from kvartal.accounts.start import START_PAGES

    client.force_login(make_user(Role.OPERATOR))
    url = client.get(reverse("accounts:start")).url
    assert url in {reverse(n) for n in START_PAGES[Role.OPERATOR][:1]}
    assert client.get(url).status_code == 200


def test_a_page_asked_for_wins_over_the_start_page(client):
    user = make_user(Role.SALES_MANAGER)
    response = client.post(
        reverse("accounts:login"),
        {"username": user.username, "password": PASSWORD, "next": "/app/deals/"},
    )
    assert response.url == "/app/deals/"


def test_a_manager_sees_their_day_and_not_a_colleagues(client, manager, other_manager):
    from kvartal.clients.models import Channel, Lead

    channel = Channel.objects.get(code="call")
    mine = Lead.objects.create(
        name="Мой лид", phone="+79120000001", channel=channel, manager=manager
    )
    Lead.objects.create(
        name="Чужой лид", phone="+79120000002", channel=channel, manager=other_manager
    )
    client.force_login(manager)
    response = client.get(reverse("sales:my-day"))
    assert list(response.context["leads"]) == [mine]
    page = response.content.decode()
    assert "Мой лид" in page and "Чужой лид" not in page


def test_an_agent_going_to_the_back_office_or_home_reaches_their_own_start_page(client):
    from kvartal.accounts.start import start_url

    agent = make_user(Role.AGENCY_PARTNER)
    client.force_login(agent)
    response = client.get(reverse("inventory:home"))  # /app/: the projects, not theirs
    assert response.status_code == 302 and response.url == start_url(agent)
    page = client.get(start_url(agent)).content.decode()
    assert f'class="brand" href="{reverse("accounts:start")}"' in page
    refused = client.get(reverse("sales:deal-list"))
    assert refused.status_code == 403
    home = f'class="btn" href="{reverse("accounts:start")}"'
    assert home in refused.content.decode()
    assert client.post(reverse("inventory:home")).status_code == 403
