"""A field's error is tied to its input: the input says it is invalid (``aria-invalid``) and
points (``aria-describedby``) to the element holding the message; every id an input points
to exists on the page."""

import lxml.html
import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.testing import make_building, make_section, make_user

pytestmark = pytest.mark.django_db


def unlinked(html: str) -> list[str]:
    """What breaks the rule on a page, one line each (empty when it holds)."""
    doc = lxml.html.fromstring(html)
    ids = {el.get("id") for el in doc.iter() if isinstance(el.tag, str) and el.get("id")}
    problems = []
    for el in doc.xpath("//*[@aria-describedby]"):
        for ref in el.get("aria-describedby").split():
            if ref not in ids:
                problems.append(f"<{el.tag} name={el.get('name')}> points to a missing #{ref}")
    invalid = doc.xpath("//*[@aria-invalid='true']")
    for el in invalid:
        # A group of boxes (a fieldset) carries the description for all of them.
        holder = el if el.get("aria-describedby") else None
        if holder is None:
            holder = next((a for a in el.iterancestors("fieldset")), None)
        refs = (holder.get("aria-describedby") or "").split() if holder is not None else []
        if not any(r.endswith("_error") and r in ids for r in refs):
            problems.append(f"<{el.tag} name={el.get('name')}> is invalid with no message tied")
    for el in doc.xpath("//*[contains(concat(' ', @class, ' '), ' error ')]"):
        if el.get("id") and not doc.xpath(f"//*[contains(@aria-describedby, '{el.get('id')}')]"):
            problems.append(f"the message #{el.get('id')} is tied to no input")
    assert invalid or problems, "the page shows no invalid field: the check would not fail"
    return problems


@pytest.mark.parametrize(
    "url",
    [
        "/app/units/?price_min=abc&rooms=9",
        "/app/clients/?bought_min=abc",
        "/app/search/units/?sold_from=abc",
        "/app/reports/sales/?date_from=abc&unit_type=nothing",
        "/app/audit/?date_from=abc",
        "/?price_max=abc",
    ],
)
def test_a_wrong_filter_value_is_tied_to_its_message(client, url):
    client.force_login(make_user(Role.ADMIN))
    response = client.get(url)
    assert response.status_code in (200, 400)  # a refused filter may answer 400
    assert unlinked(response.content.decode()) == []


def test_a_wrong_board_date_is_tied_to_its_message(client, keeper):
    building = make_building()
    make_section(building, floors=1, per_floor=2)
    client.force_login(keeper)
    html = client.get(f"/app/buildings/{building.pk}/?as_of=abc").content.decode()
    assert unlinked(html) == []


def test_a_wrong_spec_row_is_tied_to_its_message(client, keeper):
    building = make_building()
    client.force_login(keeper)
    url = reverse("inventory:section-generate", args=[building.pk])
    html = client.post(
        url,
        {
            "number": "1",
            "floors": "2",
            "risers-TOTAL_FORMS": "1",
            "risers-INITIAL_FORMS": "0",
            "risers-0-position": "x",
            "risers-0-total_area": "x",
        },
    ).content.decode()
    assert unlinked(html) == []
