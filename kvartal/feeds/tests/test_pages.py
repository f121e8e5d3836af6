"""The feed pages: the marketer (and the administrator) manage feeds, nobody else."""

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.clients.models import Channel, Lead
from kvartal.core.testing import make_user
from kvartal.feeds.models import BuildState, Feed, FeedBuilding, FeedProject, Portal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "role",
    [
        Role.SALES_MANAGER,
        Role.SALES_HEAD,
        Role.DIRECTOR,
        Role.CASHIER,
        Role.INVENTORY_KEEPER,
        Role.OPERATOR,
        Role.ACCOUNTANT,
        Role.AGENCY_PARTNER,
    ],
)
def test_other_roles_cannot_see_or_change_feeds(client, role, estate):
    client.force_login(make_user(role))
    assert client.get(reverse("feeds:list")).status_code == 403
    assert client.get(reverse("feeds:detail", args=["yandex"])).status_code == 403
    before = list(Feed.objects.values_list("portal", "token", "is_published"))
    for name in ("settings", "build", "renew", "buildings"):
        response = client.post(reverse(f"feeds:{name}", args=["yandex"]), {"is_published": "on"})
        assert response.status_code == 403
    assert list(Feed.objects.values_list("portal", "token", "is_published")) == before


def test_the_marketer_sets_up_publishes_and_builds_a_feed(client, marketer, estate):
    project, building, units = estate
    client.force_login(marketer)
    page = client.get(reverse("feeds:list"))
    assert page.status_code == 200 and "Yandex Realty" in page.content.decode()
    detail = reverse("feeds:detail", args=["yandex"])
    assert client.get(detail).status_code == 200
    response = client.post(
        reverse("feeds:settings", args=["yandex"]),
        {"is_published": "on", "contact_phone": "8 (843) 123-45-67", "max_error_share": "5"},
    )
    assert response.status_code == 302
    feed = Feed.objects.get(portal="yandex")
    assert feed.is_published and feed.contact_phone == "+78431234567"
    response = client.post(
        reverse("feeds:project", args=["yandex", project.pk]),
        {
            "is_published": "on",
            "price_mode": "list",
            "complex_id": "123456",
            "kinds": ["apartment"],
            "excluded_codes": units[3].code,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    fp = FeedProject.objects.get(feed=feed, project=project)
    assert list(fp.excluded_units.all()) == [units[3]]
    prefix = f"b{building.pk}"
    response = client.post(
        reverse("feeds:buildings", args=["yandex"]),
        {f"{prefix}-external_id": "654321", f"{prefix}-material": "brick"},
    )
    assert response.status_code == 302
    assert FeedBuilding.objects.get(feed=feed, building=building).external_id == "654321"
    client.post(reverse("feeds:build", args=["yandex"]))
    build = feed.builds.get()
    assert build.state == BuildState.PUBLISHED and build.written == 3
    page = client.get(detail).content.decode()
    assert "Published" in page and "No problems" in page


def test_bad_settings_are_refused_with_a_message_and_change_nothing(client, marketer, estate):
    project = estate[0]
    client.force_login(marketer)
    response = client.post(
        reverse("feeds:settings", args=["avito"]),
        {"is_published": "on", "contact_phone": "+1 202 555 0123", "max_error_share": "150"},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "+7 and ten digits" in text and "between 0 and 100" in text
    assert not Feed.objects.get(portal="avito").is_published
    response = client.post(
        reverse("feeds:project", args=["avito", project.pk]),
        {
            "price_mode": "list",
            "description_template": "{rooms_text} {colour}",
            "excluded_codes": "9.9.9",
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Unknown field in the template: colour" in text and "No unit 9.9.9" in text
    assert not FeedProject.objects.exists()
    response = client.post(
        reverse("feeds:buildings", args=["avito"]),
        {
            f"b{estate[1].pk}-external_id": "1",
            f"b{estate[1].pk}-material": "brick",
            f"b{estate[1].pk}-latitude": "95",
        },
    )
    assert response.status_code == 400 and not FeedBuilding.objects.exists()


def test_the_feed_page_counts_the_leads_from_its_portal(client, marketer, estate, admin_user):
    from kvartal.clients.services import lead_create

    channel = Channel.objects.create(code="cian-test", name="ЦИАН")
    Feed.objects.create(portal=Portal.CIAN, channel=channel)
    lead_create(by=admin_user, channel=channel, name="Иван", phone="+79001234567")
    client.force_login(marketer)
    page = client.get(reverse("feeds:detail", args=["cian"]))
    assert page.context["lead_count"] == 1 == Lead.objects.count()
    assert page.context["lead_rows"] is None  # the marketer reads no clients
    client.force_login(admin_user)
    assert len(client.get(reverse("feeds:detail", args=["cian"])).context["lead_rows"]) == 1


def test_the_health_summary_shows_the_figures_not_placeholders(
    client, marketer, feed_for, settings
):
    from kvartal.feeds import services

    settings.KVARTAL_PUBLIC_URL = "http://127.0.0.1:8000"
    services.feed_build(feed=feed_for(Portal.YANDEX))
    client.force_login(marketer)
    page = client.get(reverse("feeds:detail", args=["yandex"])).content.decode()
    assert "http://127.0.0.1:8000" in page and "%(" not in page
