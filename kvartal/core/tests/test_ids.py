"""Ids from a query string or a form: one reading (``core.ids.parse_id``) for every door, so
that a character that is a digit to ``str.isdigit`` but not to ``int`` ("²") never gives a
500, and a refused id shows the page as without it."""

import pytest
from django.urls import reverse

from kvartal.core.ids import MAX_ID, parse_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        (12, 12),
        ("²", None),
        ("١٢", None),  # Arabic-Indic digits: int() reads them, no id is written so
        ("0", None),
        ("-3", None),
        ("3.0", None),
        ("", None),
        (None, None),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 40, None),
    ],
)
def test_an_id_is_ascii_digits_within_a_bigint(text, expected):
    assert parse_id(text) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        reverse("sales:deal-create") + "?unit=²",
        reverse("sales:deal-create") + "?hold=²",
        reverse("sales:deal-create") + "?unit=" + "9" * 30,
    ],
)
def test_a_strange_id_in_the_query_is_no_server_error(client, manager, url):
    client.force_login(manager)
    response = client.get(url)
    assert response.status_code == 200  # the page asks which unit, as with no id


@pytest.mark.django_db
def test_the_showcase_request_form_ignores_a_strange_unit(client):
    response = client.get(reverse("showcase:request") + "?unit=²")
    assert response.status_code == 200
