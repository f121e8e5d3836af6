"""Form help and errors are tied to their inputs (aria-describedby); pages have a skip link."""

import pytest
from django.urls import reverse

from kvartal.testing import make_building

pytestmark = pytest.mark.django_db


def test_help_and_errors_have_ids_the_inputs_point_to_and_a_skip_link(client, keeper):
    building = make_building()
    client.force_login(keeper)
    url = reverse("inventory:section-generate", args=[building.pk])
    html = client.get(url).content.decode()
    assert '<a class="skip-link" href="#main">' in html and 'id="main"' in html
    assert 'id="id_typical_to_helptext"' in html
    assert 'aria-describedby="id_typical_to_helptext"' in html

    html = client.post(url, {"number": "0"}).content.decode()
    assert 'id="id_number_error"' in html
