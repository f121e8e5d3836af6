"""Error pages: a clear message in the product's layout, never a traceback."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from kvartal.core.views import error_500

pytestmark = pytest.mark.django_db


def test_unknown_unit_is_a_friendly_404(client, manager):
    client.force_login(manager)
    response = client.get(reverse("inventory:unit-detail", args=[999999]))
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_server_error_page_shows_no_traceback():
    response = error_500(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert "Traceback" not in body


def test_forbidden_page_explains_the_role(client, manager):
    client.force_login(manager)
    response = client.get(reverse("inventory:project-create"))
    assert response.status_code == 403
    assert "Your role does not allow this page" in response.content.decode()


def test_an_id_beyond_the_integer_range_is_a_404(client, manager):
    client.force_login(manager)
    response = client.get("/app/units/99999999999999999999999/")
    assert response.status_code == 404


def test_uploaded_files_are_for_signed_in_readers_only(client, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "floor.svg").write_text("<svg/>")
    assert client.get("/media/plans/floor.svg").status_code == 302  # to the login page
    client.force_login(manager)
    response = client.get("/media/plans/floor.svg")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<svg/>"
    assert client.get("/media/../settings.py").status_code in (400, 404)  # never served
    assert client.get("/media/plans/missing.png").status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("language", "title"), [("ru", "Что-то пошло не так"), ("en", "Something went wrong")]
)
def test_the_error_page_renders_while_the_database_is_down(client, manager, language, title):
    """With the database gone, the 500 handler itself failed (the context processors read
    the user from the database) and users got the server's bare English page. It renders
    without the database, in the reader's language."""
    from django.conf import settings
    from django.db import connection

    client.force_login(manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.raise_request_exception = False
    name = connection.settings_dict["NAME"]
    connection.close()
    # a database that is not there: the server is down for this process
    connection.settings_dict["NAME"] = (
        "/nonexistent/kvartal.sqlite3" if connection.vendor == "sqlite" else "kvartal_gone"
    )
    try:
        response = client.get("/app/")
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
    assert response.status_code == 500
    body = response.content.decode()
    assert title in body
    assert f'lang="{language}"' in body


def test_a_null_character_is_refused_with_a_400_page_everywhere(client, manager):
    """The search box, a list's filter, a sent form: a NUL reached PostgreSQL raw and came back
    as a server error. Refused at the door instead, the same way for every page."""
    from kvartal.clients.models import Client

    client.force_login(manager)
    for url in ("/app/search/", "/app/leads/", "/app/clients/"):
        response = client.get(url, {"q": "ab\x00c"})
        assert response.status_code == 400, url
        assert "The request could not be read" in response.text
        assert "Traceback" not in response.text
    before = Client.objects.count()
    response = client.post(
        reverse("clients:client-create"), {"last_name": "Нуль\x00", "first_name": "Тест"}
    )
    assert response.status_code == 400 and Client.objects.count() == before
    assert client.get("/app/search/", {"q": "abc"}).status_code == 200


def test_a_null_character_in_an_api_query_is_a_problem_400(client):
    response = client.get("/api/v1/units", {"status": "a\x00"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()  # the API's one error shape (api.problems)
    assert body["code"] == "bad_request" and body["type"].endswith("/problems/bad_request")
