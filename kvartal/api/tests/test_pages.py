"""The integration pages are the administrator's; tokens are shown once and kept as hashes."""

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.api.models import ApiToken, Webhook, hash_key
from kvartal.core.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "role", [Role.SALES_MANAGER, Role.SALES_HEAD, Role.DIRECTOR, Role.MARKETER, Role.CASHIER]
)
def test_only_the_administrator_manages_integrations(client, role):
    client.force_login(make_user(role))
    assert client.get(reverse("integrations:index")).status_code == 403
    response = client.post(reverse("integrations:token-create"), {"name": "x"})
    assert response.status_code == 403 and not ApiToken.objects.exists()


def test_a_token_is_shown_once_works_and_is_revoked(client, admin_user, manager):
    client.force_login(admin_user)
    assert client.get(reverse("integrations:index")).status_code == 200
    response = client.post(
        reverse("integrations:token-create"),
        {
            "name": "Сайт",
            "user": manager.pk,
            "scopes": ["inventory:read"],
            "addresses": "",
            "rate": 600,
        },
    )
    assert response.status_code == 200
    key = response.context["key"]
    token = ApiToken.objects.get()
    assert token.key_hash == hash_key(key) and key not in token.key_hash
    client.logout()
    assert client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    client.force_login(admin_user)
    client.post(reverse("integrations:token-revoke", args=[token.pk]))
    client.logout()
    assert client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_bad_token_and_webhook_settings_are_refused(client, admin_user, manager):
    client.force_login(admin_user)
    response = client.post(
        reverse("integrations:token-create"),
        {
            "name": "x",
            "user": manager.pk,
            "scopes": ["inventory:read"],
            "addresses": "not-an-ip",
            "rate": 0,
        },
    )
    assert response.status_code == 400 and not ApiToken.objects.exists()
    response = client.post(
        reverse("integrations:webhook-create"),
        {"name": "внутренний", "url": "http://10.0.0.5/hook", "events": ["lead.created"]},
    )
    assert response.status_code == 400 and "private address" in response.content.decode()
    assert not Webhook.objects.exists()
    response = client.post(
        reverse("integrations:webhook-create"),
        {
            "name": "внутренний",
            "url": "http://10.0.0.5/hook",
            "events": ["lead.created"],
            "allow_private": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    hook = Webhook.objects.get()
    assert len(hook.secret) == 64
    assert client.get(reverse("integrations:webhook-detail", args=[hook.pk])).status_code == 200
