"""Every URL × every role, GET and POST: who may open what, and a refused POST changes nothing.

The URLs are found from the URL resolver, so a new app's pages are covered as soon as they
exist. Each app lists its own in ``kvartal/<app>/tests/access.py`` — ``PAGES`` (url name →
(roles that may open it, key of its kwargs in the objects, and optionally ``"post"`` for an
action that accepts POST only or ``"redirect"`` for an area's bare address, which sends those
roles on to a page they may open, or ``"start"`` for a page that sends the other roles on to
their start page instead of refusing them), with ``PUBLIC`` instead of roles for a page open to
anyone)
and ``build_objects(persona, unit)``; this module collects every app's table. A URL in no
table is still walked: its roles come from the capability its view requires (``@require``)
and its arguments name a row that does not exist, so every refusal is checked (403 for GET
and POST, nothing changed) and an allowed user gets no server error. A URL whose view
declares no capability must be in a table (or, with a reason, in ``EXEMPT_URLS``).
"""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.urls import URLResolver, get_resolver, reverse

from kvartal.accounts.models import Role
from kvartal.accounts.permissions import CAPABILITIES
from kvartal.testing import make_building, make_section

ROLES = [r.value for r in Role]
EVERYONE = frozenset(ROLES)
PUBLIC = "public"  # an access table's "who" for pages open without signing in
POST_ONLY = "post"
REDIRECT = "redirect"  # an area's bare address: on to a page of the area the user may open
START = "start"  # the back office's bare address: the roles it refuses go to their start page
EDITORS = frozenset({Role.ADMIN, Role.INVENTORY_KEEPER})
# Readers of the inventory: everyone signed in but agency partners (they have their cabinet).
READ, EDIT = EVERYONE - {Role.AGENCY_PARTNER}, EDITORS

# URL namespaces with their own access tests: Django's admin (below), signing in, the signed
# public report links (analytics/tests/test_pages.py), the token-authenticated API, the
# listing portals' feed files and the public showcase (open to anyone by design).
EXEMPT_NAMESPACES = {"admin", "accounts", "shared", "api-v1", "feeds-public", "showcase"}
# Single URLs with their own access tests, and why.
EXEMPT_URLS = {
    "callcentre:live": "a server-sent event stream for readers of units or the call panel",
    "callcentre:live-poll": "the same feed polled; callcentre/tests",
    "callcentre:telephony": "the phone system's webhook, authenticated by its token",
    "callcentre:telephony-mango": "the same webhook for Mango Office",
}

PAGES = {
    "inventory:home": (READ, None, START),
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
INVENTORY_EDIT_PAGES = sorted(n for n, (who, *_rest) in PAGES.items() if who == EDIT)
APP_TABLES = []
for _config in apps.get_app_configs():
    if not _config.name.startswith("kvartal.") or _config.name == "kvartal.inventory":
        continue
    try:
        _module = importlib.import_module(f"{_config.name}.tests.access")
    except ModuleNotFoundError as missing:
        if missing.name not in (f"{_config.name}.tests", f"{_config.name}.tests.access"):
            raise
        continue
    PAGES.update(_module.PAGES)
    APP_TABLES.append(_module)


def _url_names(resolver=None, namespace=()) -> set[str]:
    """Every named URL under a namespace, from the resolver itself."""
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + ((pattern.namespace,) if pattern.namespace else ())
            names |= _url_names(pattern, inner)
        elif pattern.name and namespace and namespace[0] not in EXEMPT_NAMESPACES:
            names.add(":".join((*namespace, pattern.name)))
    return names - set(EXEMPT_URLS)


def _pattern(name):
    """The URL pattern named ``name`` (``app:name``)."""
    namespace, short = name.split(":")
    resolver = get_resolver().namespace_dict[namespace][1]
    return next(p for p in _patterns(resolver) if p.name == short)


def _patterns(resolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver) and not pattern.namespace:
            yield from _patterns(pattern)
        elif not isinstance(pattern, URLResolver):
            yield pattern


MISSING_ROW = {"int": 999999, "id": 999999, "slug": "missing", "str": "missing", "path": "x"}
AUTO = "auto"  # the key of an entry made from the view's capability


def _auto_entry(name):
    """For a URL in no table: the roles holding its view's capability, and arguments naming
    a row that does not exist."""
    pattern = _pattern(name)
    capability = getattr(pattern.callback, "capability", None)
    if capability is None:
        return None
    who = frozenset(r for r in ROLES if r == Role.ADMIN or capability in CAPABILITIES.get(r, ()))
    kwargs = {}
    for arg, converter in pattern.pattern.converters.items():
        kind = type(converter).__name__.replace("Converter", "").lower()
        kwargs[arg] = MISSING_ROW.get(kind, MISSING_ROW["str"])
    return who, kwargs


def _entry(name):
    if name not in PAGES:
        who, kwargs = _auto_entry(name)
        return who, (AUTO, kwargs), False, False, False
    who, key, *flags = PAGES[name]
    return who, key, POST_ONLY in flags, REDIRECT in flags, START in flags


def _kwargs(objects, key):
    if key is None:
        return None
    if isinstance(key, tuple) and key[0] == AUTO:
        return key[1]
    return objects[key]


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


def row_counts() -> tuple:
    """The number of rows of every table (sessions aside), in one query."""
    tables = sorted(
        {m._meta.db_table for m in apps.get_models() if m._meta.managed} - {"django_session"}
    )
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables, cursor.fetchone(), strict=True))


ALL_URLS = sorted(_url_names() | set(PAGES))


def test_every_url_is_walked():
    undeclared = [n for n in _url_names() - set(PAGES) if _auto_entry(n) is None]
    assert not undeclared, "no capability on the view: add to kvartal/<app>/tests/access.py"
    assert not set(PAGES) - _url_names(), "these are in an access table but have no URL"


@pytest.mark.parametrize("persona", ["anonymous", *ROLES], indirect=True)
@pytest.mark.parametrize("name", ALL_URLS)
def test_who_may_open_what_and_a_refused_post_changes_nothing(client, objects, persona, name):
    who, key, post_only, redirects, to_start = _entry(name)
    url = reverse(name, kwargs=_kwargs(objects, key))
    if persona is not None:
        client.force_login(persona)
    response = client.get(url)
    if who == PUBLIC:
        assert response.status_code == 200
        return
    allowed = persona is not None and persona.role in who
    if isinstance(key, tuple) and response.status_code == 405:
        pass  # an action that takes POST only, its method checked first: the POST below
    elif persona is None:
        assert response.status_code in (302, 401), response.status_code
        if response.status_code == 302:
            assert response.url.startswith(reverse("accounts:login"))
    elif allowed and isinstance(key, tuple):  # no such row: anything but a refusal or a crash
        assert response.status_code not in (403, 500), response.status_code
    elif allowed and redirects:
        assert response.status_code == 302, response.status_code
        assert client.get(response.url).status_code == 200, response.url
    elif allowed:
        expected = 405 if post_only else 200
        assert response.status_code == expected, response.content[:500]
    elif to_start:
        from kvartal.accounts.start import start_url

        assert response.status_code == 302, response.status_code
        assert response.url == start_url(persona) != url
    else:
        assert response.status_code == 403

    if allowed:
        return  # what an allowed POST does is each app's own tests' business
    before = row_counts()
    response = client.post(url, {})
    if persona is None:
        assert response.status_code in (302, 401, 403), response.status_code
    else:
        assert response.status_code in (403, 404), response.status_code
    assert row_counts() == before


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
    from kvartal.inventory.models import Building, Project, Section
    from kvartal.inventory.tests.test_services import snapshot
    from kvartal.testing import make_user

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
