"""A deal stage reads in the colours of a sale's progress, by what the stage counts as: in
work, bought (a success: green), refused or terminated (grey), never in a unit status's."""

import lxml.html
import pytest
from django.urls import reverse

from kvartal.sales.models import Stage, StageOutcome
from kvartal.sales.tests.factories import deal_reach, default_scheme, make_deal

pytestmark = pytest.mark.django_db


def test_the_shipped_stages_colour_by_outcome_not_by_unit_status():
    default_scheme()
    for stage in Stage.objects.all():
        if stage.is_termination or stage.outcome == StageOutcome.REFUSED:
            expected = "outcome-lost"
        elif stage.outcome == StageOutcome.BOUGHT:
            expected = "outcome-won"
        else:
            expected = "outcome-work"
        assert stage.badge_class == expected, stage.code


def test_a_registered_deal_shows_as_won_on_its_pages_and_in_its_history(client, director):
    deal = deal_reach(deal_reach(make_deal(), "signed"), "registered")
    client.force_login(director)
    pages = [
        reverse("sales:deal-detail", args=[deal.pk]),
        reverse("sales:deal-list"),
        reverse("sales:deal-payments", args=[deal.pk]),
    ]
    for url in pages:
        page = lxml.html.fromstring(client.get(url).content.decode())
        shown = [
            span.get("class").split()
            for span in page.xpath("//span[contains(@class, 'badge')]")
            if span.text_content().strip() == deal.stage.label
        ]
        assert shown, url
        assert all("outcome-won" in css and "st-sold" not in css for css in shown), url
    page = lxml.html.fromstring(client.get(pages[0]).content.decode())
    history = page.xpath("//ol[@class='timeline']/li[contains(@class, 'ev-deal')]/@class")
    assert not any("st-" in css for css in history)
    assert any("outcome-won" in css for css in history)


def test_a_stage_has_no_colour_to_set_since_its_badge_follows_what_it_counts_as(client, admin_user):
    """A setting that changes nothing shown is a defect: a stage's colour is its outcome's."""
    assert "colour" not in {field.name for field in Stage._meta.get_fields()}
    scheme = default_scheme()
    client.force_login(admin_user)
    page = client.get(reverse("admin:sales_stagescheme_change", args=[scheme.pk]))
    assert page.status_code == 200
    names = lxml.html.fromstring(page.content.decode()).xpath("//*[@name]/@name")
    assert any(name.endswith("-outcome") for name in names)
    assert not any(name.endswith("-colour") for name in names)
