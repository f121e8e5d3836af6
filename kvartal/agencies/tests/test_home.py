"""The bare addresses of the agencies' and the operations' areas send each user on to the
page of the area they work in, or refuse them (they were a "page not found")."""

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.testing import make_user

from .factories import make_agency, make_agent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "page"),
    [
        (Role.AGENCY_PARTNER, "agencies:cabinet"),
        (Role.SALES_HEAD, "agencies:desk"),
        (Role.ACCOUNTANT, "agencies:statement-list"),
        (Role.ADMIN, "agencies:cabinet"),
    ],
)
def test_the_agencies_address_leads_to_the_users_own_page(client, role, page):
    user = make_agent(make_agency()) if role == Role.AGENCY_PARTNER else make_user(role)
    client.force_login(user)
    response = client.get("/app/agencies/")
    assert response.status_code == 302 and response.url == reverse(page)
    assert client.get(response.url).status_code == 200


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.OPERATOR, Role.INVENTORY_KEEPER])
def test_the_agencies_address_refuses_who_has_no_page_there(client, role):
    client.force_login(make_user(role))
    assert client.get("/app/agencies/").status_code == 403
    assert client.post("/app/agencies/").status_code == 403


def test_the_areas_addresses_ask_a_visitor_to_sign_in(client):
    for address in ("/app/agencies/", "/app/ops/"):
        response = client.get(address)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    ("role", "page"),
    [(Role.ADMIN, "ops:jobs"), (Role.SALES_MANAGER, "ops:notification-settings")],
)
def test_the_operations_address_leads_to_the_jobs_or_the_notification_channels(client, role, page):
    client.force_login(make_user(role))
    response = client.get("/app/ops/")
    assert response.status_code == 302 and response.url == reverse(page)
    assert client.get(response.url).status_code == 200
