"""Every URL × every role: who may open what. A new URL must be added to the table below."""

import importlib

import pytest
from django.urls import get_resolver, reverse

from kvartal.accounts.models import Role
from kvartal.core.testing import make_building, make_section

ROLES = [r.value for r in Role]
EVERYONE = frozenset(ROLES)
EDITORS = frozenset({Role.ADMIN, Role.INVENTORY_KEEPER})
# Readers of the inventory: everyone signed in.
READ, EDIT = EVERYONE, EDITORS

# url name → (roles that may open it, key of the kwargs in ``objects`` or None).
# Each app adds its own table in ``kvartal/<app>/tests/access.py`` (``PAGES`` and
# ``build_objects(persona)``); this module collects them.
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
INVENTORY_EDIT_PAGES = sorted(n for n, (who, _) in PAGES.items() if who == EDIT)
APP_TABLES = []
for _app in ("clients", "sales", "analytics"):
    try:
        _module = importlib.import_module(f"kvartal.{_app}.tests.access")
    except ModuleNotFoundError:
        continue
    PAGES.update(_module.PAGES)
    APP_TABLES.append(_module)
NAMESPACES = {name.split(":")[0] for name in PAGES}


@pytest.fixture
def objects(db, request):
    building = make_building()
    section = make_section(building, floors=2, per_floor=2)
    unit = section.units.first()
    found = {
        "project": {"pk": building.project_id},
        "project_pk": {"project_pk": building.project_id},
        "building": {"pk": building.pk},
        "floor": {"pk": unit.floor_id},
        "unit": {"pk": unit.pk},
    }
    persona = request.getfixturevalue("persona") if "persona" in request.fixturenames else None
    for module in APP_TABLES:
        found.update(module.build_objects(persona=persona, unit=section.units.last()))
    return found


def test_every_app_url_is_in_the_table():
    resolver = get_resolver()
    names = set()
    for namespace in NAMESPACES:
        patterns = resolver.namespace_dict[namespace][1].url_patterns
        names |= {f"{namespace}:{p.name}" for p in patterns}
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
        assert response.status_code in (302, 401), response.status_code
        if response.status_code == 302:
            assert response.url.startswith(reverse("accounts:login"))
    elif persona.role in who:
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
@pytest.mark.parametrize("name", INVENTORY_EDIT_PAGES)
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
