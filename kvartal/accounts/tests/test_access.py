"""Every URL × every role: who may open what. A new URL must be added to the table below."""

import pytest
from django.urls import get_resolver, reverse

from kvartal.accounts.models import Role
from kvartal.core.testing import make_building, make_section

READ = "read"  # every signed-in role
EDIT = "edit"  # inventory keeper and administrator
ROLES = [r.value for r in Role]
EDITORS = {Role.ADMIN, Role.INVENTORY_KEEPER}

# url name → (who may open it, kwargs key in the fixture below)
PAGES = {
    "inventory:home": (READ, None),
    "inventory:project-create": (EDIT, None),
    "inventory:project-detail": (READ, "project"),
    "inventory:project-update": (EDIT, "project"),
    "inventory:project-sheet": (READ, "project"),
    "inventory:project-sheet-pdf": (READ, "project"),
    "inventory:building-create": (EDIT, "project_pk"),
    "inventory:building-chessboard": (READ, "building"),
    "inventory:building-update": (EDIT, "building"),
    "inventory:building-sheet": (READ, "building"),
    "inventory:building-sheet-pdf": (READ, "building"),
    "inventory:section-generate": (EDIT, "building"),
    "inventory:floor-update": (EDIT, "floor"),
    "inventory:unit-create": (EDIT, "floor"),
    "inventory:unit-list": (READ, None),
    "inventory:unit-detail": (READ, "unit"),
    "inventory:unit-update": (EDIT, "unit"),
    "inventory:unit-price": (EDIT, "unit"),
    "inventory:unit-status": (EDIT, "unit"),
    "inventory:price-bulk": (EDIT, None),
}


@pytest.fixture
def objects(db):
    building = make_building()
    section = make_section(building, floors=2, per_floor=2)
    unit = section.units.first()
    return {
        "project": {"pk": building.project_id},
        "project_pk": {"project_pk": building.project_id},
        "building": {"pk": building.pk},
        "floor": {"pk": unit.floor_id},
        "unit": {"pk": unit.pk},
    }


def test_every_app_url_is_in_the_table():
    resolver = get_resolver()
    inventory = resolver.namespace_dict["inventory"][1]
    names = {f"inventory:{p.name}" for p in inventory.url_patterns}
    assert names == set(PAGES)


@pytest.mark.parametrize("persona", ["anonymous", *ROLES], indirect=True)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_who_may_open_what(client, objects, persona, name):
    who, key = PAGES[name]
    url = reverse(name, kwargs=objects[key] if key else None)
    if persona is not None:
        client.force_login(persona)
    response = client.get(url)
    if persona is None:
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    elif who == READ or persona.role in EDITORS:
        assert response.status_code == 200, response.content[:500]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("persona", ["anonymous", *ROLES], indirect=True)
def test_admin_site_is_for_administrators_only(client, persona):
    if persona is not None:
        client.force_login(persona)
    response = client.get(reverse("admin:index"))
    if persona is not None and persona.role == Role.ADMIN:
        assert response.status_code == 200
    else:
        assert response.status_code == 302


def test_a_blocked_user_cannot_sign_in(client, manager):
    manager.is_active = False
    manager.save()
    response = client.post(
        reverse("accounts:login"),
        {"username": manager.username, "password": "kvartal-test-password"},
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.SALES_HEAD, Role.SALES_MANAGER])
@pytest.mark.parametrize("name", sorted(n for n, (who, _) in PAGES.items() if who == EDIT))
def test_a_reader_posting_to_an_editing_page_is_refused_and_nothing_changes(
    client, objects, role, name
):
    from kvartal.core.testing import make_user
    from kvartal.inventory.models import Building, Project, Section
    from kvartal.inventory.tests.test_services import snapshot

    _who, key = PAGES[name]
    url = reverse(name, kwargs=objects[key] if key else None)
    client.force_login(make_user(role))
    counts = lambda: (Project.objects.count(), Building.objects.count(), Section.objects.count())  # noqa: E731
    before = (snapshot(), counts())
    data = {
        "name": "Новое",
        "price": "1",
        "reason": "x",
        "status": "not_for_sale",
        "number": "9",
        "floors": "3",
        "typical_from": "1",
        "construction_address": "ул. Новая, 1",
        "kind": "residential",
        "mode": "percent",
        "value": "10",
        "round_to": "1",
        "apply": "1",
    }
    response = client.post(url, data)
    assert response.status_code == 403
    assert (snapshot(), counts()) == before
