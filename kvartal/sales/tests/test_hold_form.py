"""The hold form's choice of manager: whom the signed-in user may hold for."""

import pytest

from kvartal.accounts.models import Role, Team
from kvartal.sales.forms.holds import HoldForm, manager_choices
from kvartal.testing import make_user

pytestmark = pytest.mark.django_db


def _choices(user) -> set:
    return set(HoldForm(user=user).fields["manager"].queryset)


def test_one_who_sees_only_their_own_rows_holds_for_themselves_alone():
    """A manager, and a sales head without a team, choose nobody: the field is hidden and its
    one choice — themselves — is what ``manager_choices`` gives them."""
    manager = make_user(Role.SALES_MANAGER)
    lone_head = make_user(Role.SALES_HEAD)
    make_user(Role.SALES_MANAGER)  # someone else, whom neither may hold for
    for user in (manager, lone_head):
        form = HoldForm(user=user)
        assert form.fields["manager"].widget.is_hidden
        assert _choices(user) == set(manager_choices(user)) == {user}


def test_a_head_holds_for_their_team_and_a_director_for_every_seller():
    head = make_user(Role.SALES_HEAD)
    team = Team.objects.create(name="Север", head=head)
    member = make_user(Role.SALES_MANAGER, team=team)
    stranger = make_user(Role.SALES_MANAGER)
    director = make_user(Role.DIRECTOR)
    assert not HoldForm(user=head).fields["manager"].widget.is_hidden
    assert _choices(head) == set(manager_choices(head)) == {head, member}
    assert _choices(director) == {director, head, member, stranger}
