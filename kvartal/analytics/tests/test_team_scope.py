"""Whose work the reports cover: a sales head's reports their team's, a director's the whole
company's (the row scope of accounts.scoping, without the unassigned rows)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role, Team
from kvartal.analytics.base import Params
from kvartal.analytics.facts import sales
from kvartal.testing import make_building, make_section, make_user

from .factories import sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    head = make_user(Role.SALES_HEAD, last_name="Главный")
    mine = make_user(Role.SALES_MANAGER, last_name="Свойский", team=Team.objects.create(name="A"))
    mine.team.head = head
    mine.team.save()
    theirs = make_user(Role.SALES_MANAGER, last_name="Чужаков", team=Team.objects.create(name="B"))
    units = list(make_section(make_building(), floors=1, per_floor=2).units.order_by("pk"))
    yesterday = timezone.now() - timedelta(days=1)
    sell(units[0], yesterday, manager=mine)
    sell(units[1], yesterday, manager=theirs)
    return {"head": head, "mine": mine, "theirs": theirs}


def _month():
    today = timezone.localdate()
    return Params.of(today - timedelta(days=30), today)


def test_a_heads_sales_are_their_teams_and_a_directors_the_companys(office):
    by_head = sales(_month().for_viewer(office["head"]))
    assert [s.manager_id for s in by_head] == [office["mine"].pk]
    by_director = sales(_month().for_viewer(make_user(Role.DIRECTOR)))
    assert sorted(s.manager_id for s in by_director) == sorted(
        [office["mine"].pk, office["theirs"].pk]
    )


def test_the_managers_report_of_a_head_lists_their_team_only(client, office):
    url = reverse("analytics:report", args=["managers"])
    client.force_login(office["head"])
    html = client.get(url).content.decode()
    assert "Свойский" in html and "Чужаков" not in html
    client.force_login(make_user(Role.DIRECTOR))
    html = client.get(url).content.decode()
    assert "Свойский" in html and "Чужаков" in html
