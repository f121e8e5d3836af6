"""Row scoping, once for every scoped model: ``Model.objects.for_user(user)`` for every model
whose queryset is a ``ScopedQuerySet`` (found from the app registry, so a new one is covered
at once — its app gives ``build_scoped_rows(owner, units)`` in its tests/access.py; a model
without one is reported as skipped).

A manager sees their own rows; a sales head their own, their team's and the rows nobody is
responsible for yet; a director every row; an anonymous or blocked user none."""

import importlib

import pytest
from django.apps import apps

from kvartal.accounts.models import Role, Team
from kvartal.accounts.scoping import ScopedQuerySet
from kvartal.testing import make_building, make_section, make_user

SCOPED = sorted(
    (m for m in apps.get_models() if isinstance(m._default_manager.all(), ScopedQuerySet)),
    key=lambda m: m._meta.label,
)
BUILDERS = []
for _config in apps.get_app_configs():
    if _config.name.startswith("kvartal."):
        try:
            _module = importlib.import_module(f"{_config.name}.tests.access")
        except ModuleNotFoundError:
            continue
        if hasattr(_module, "build_scoped_rows"):
            BUILDERS.append(_module.build_scoped_rows)


def _owner_ids(model) -> dict[int, int | None]:
    """Each row's responsible user, read along the queryset's ``owner_field`` (or the
    expression its ``owner()`` combines from several paths)."""
    rows = model._default_manager.all()
    return dict(rows.annotate(scope_owner=rows.owner()).values_list("pk", "scope_owner"))


@pytest.fixture
def world(db):
    """Three sellers with one row of every scoped model each: ``member`` in the head's
    team, ``stranger`` in another; and rows with nobody responsible."""
    head = make_user(Role.SALES_HEAD)
    member = make_user(Role.SALES_MANAGER, team=Team.objects.create(name="Свой", head=head))
    stranger = make_user(Role.SALES_MANAGER, team=Team.objects.create(name="Чужой"))
    section = make_section(make_building(), floors=3, per_floor=4)
    units = list(section.units.order_by("pk"))
    for i, owner in enumerate((head, member, stranger)):
        for build in BUILDERS:
            build(owner=owner, units=units[2 * i : 2 * i + 2])
    # A visitor and a lead from the site nobody was given yet.
    from kvartal.clients import services
    from kvartal.clients.models import Channel, Client, Lead

    visitor = services.client_create(by=stranger, last_name="Ничей", first_name="Гость")
    lead = services.lead_create(
        by=stranger, channel=Channel.objects.get(code="call"), phone="+7 902 000-00-00"
    )
    Client.objects.filter(pk=visitor.pk).update(manager=None)
    Lead.objects.filter(pk=lead.pk).update(manager=None)
    return {"head": head, "member": member, "stranger": stranger}


def test_the_scoped_models_are_found():
    labels = {m._meta.label for m in SCOPED}
    assert {"clients.Client", "clients.Lead", "sales.Deal", "sales.Payment"} <= labels


@pytest.mark.parametrize("model", SCOPED, ids=lambda m: m._meta.label)
def test_each_user_sees_the_rows_of_their_scope(world, model):
    head, member, stranger = world["head"], world["member"], world["stranger"]
    owners = _owner_ids(model)
    if not owners:  # shown in the test report, never a silent pass
        pytest.skip(f"no rows of {model._meta.label}: its app's tests/access.py needs a builder")
    assert {head.pk, member.pk, stranger.pk} <= set(owners.values())

    def visible(user):
        return set(model.objects.for_user(user).values_list("pk", flat=True))

    def rows_of(*ids):
        return {pk for pk, owner in owners.items() if owner in ids}

    assert visible(member) == rows_of(member.pk)
    assert visible(stranger) == rows_of(stranger.pk)
    assert visible(head) == rows_of(head.pk, member.pk, None)
    assert visible(make_user(Role.DIRECTOR)) == set(owners)
    assert visible(None) == set()
    blocked = make_user(Role.SALES_MANAGER)
    assert visible(blocked) == set()
    member.is_active = False
    member.save()
    assert visible(member) == set()
