"""The administrator's sales settings: flows, terms and rules editable; history read-only."""

import pytest
from django.urls import reverse

from kvartal.sales.models import Deal, Hold, SalesSettings, StageScheme

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "admin:sales_salessettings_changelist",
        "admin:sales_holdterm_changelist",
        "admin:sales_stagescheme_changelist",
        "admin:sales_hold_changelist",
        "admin:sales_deal_changelist",
    ],
)
def test_the_administrator_opens_the_sales_settings(client, admin_user, name):
    client.force_login(admin_user)
    assert client.get(reverse(name)).status_code == 200


def test_a_flow_opens_with_its_stages_and_moves(client, admin_user):
    client.force_login(admin_user)
    scheme = StageScheme.objects.get(code="cn")
    response = client.get(reverse("admin:sales_stagescheme_change", args=[scheme.pk]))
    assert response.status_code == 200
    assert "认购" in response.content.decode()


def test_holds_and_deals_cannot_be_written_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:sales_deal_add")).status_code == 403
    assert client.get(reverse("admin:sales_hold_add")).status_code == 403
    assert Deal.objects.count() == Hold.objects.count() == 0


def test_the_sales_rules_are_one_row(client, admin_user):
    SalesSettings.current()
    client.force_login(admin_user)
    assert client.get(reverse("admin:sales_salessettings_add")).status_code == 403
