"""The main menu is built from the entries the apps register, filtered by capability."""

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.core import nav
from kvartal.testing import make_user


def _menu(client, user):
    client.force_login(user)
    return client.get(reverse("inventory:home")).context["menu"]


@pytest.mark.django_db
def test_each_role_sees_the_entries_of_its_capabilities(client):
    keys = lambda role: [item.key for item in _menu(client, make_user(role))]  # noqa: E731
    core = ["projects", "catalogue", "prices", "clients", "leads", "tasks", "holds", "deals"]
    # other apps add their own entries; the core ones come in this order
    assert [k for k in keys(Role.SALES_MANAGER) if k in core] == [
        "projects", "catalogue", "clients", "leads", "tasks", "holds", "deals"
    ]  # fmt: skip
    assert [k for k in keys(Role.INVENTORY_KEEPER) if k in core] == [
        "projects", "catalogue", "prices"
    ]  # fmt: skip
    assert "promotions" in keys(Role.SALES_MANAGER)
    assert "cashier" in keys(Role.CASHIER) and "clients" not in keys(Role.CASHIER)
    assert "admin" in keys(Role.ADMIN) and "admin" not in keys(Role.DIRECTOR)


@pytest.mark.django_db
def test_a_marketer_sees_the_promotions_and_lands_on_their_list_after_saving(client):
    marketer = make_user(Role.MARKETER)
    assert "promotions" in [item.key for item in _menu(client, marketer)]
    assert client.get(reverse("sales:promotion-list")).status_code == 200


@pytest.mark.django_db
def test_an_app_adds_an_entry_without_touching_the_base_template(client, monkeypatch):
    monkeypatch.setattr(nav, "MENU", dict(nav.MENU))
    nav.register(nav.NavEntry("extra", "Extra page", "sales:deal-list", "sales.view", order=85))
    menu = _menu(client, make_user(Role.SALES_MANAGER))
    keys = [item.key for item in menu]
    assert keys.index("deals") + 1 == keys.index("extra")
    html = client.get(reverse("inventory:home")).content.decode()
    assert f'href="{reverse("sales:deal-list")}">Extra page</a>' in html
    assert "extra" not in [item.key for item in _menu(client, make_user(Role.INVENTORY_KEEPER))]
