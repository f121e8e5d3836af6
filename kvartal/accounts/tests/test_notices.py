from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_noop

from kvartal.accounts.models import Notice
from kvartal.accounts.notices import arg_datetime, arg_money
from kvartal.accounts.services import notice_send

pytestmark = pytest.mark.django_db

# a message of the catalogue with a Russian translation
MESSAGE = gettext_noop("Client handed to you: %(name)s")


def test_a_notice_is_stored_as_a_key_and_read_in_each_readers_language(manager, settings):
    settings.LANGUAGE_CODE = "ru"
    notice = notice_send(user=manager, message=MESSAGE, args={"name": "Петрова Анна"}, url="/x")
    notice.refresh_from_db()
    assert (notice.message, notice.args) == (MESSAGE, {"name": "Петрова Анна"})
    assert notice.text == "Вам передан клиент: Петрова Анна"  # the site's language
    with translation.override("en"):
        assert notice.render() == "Client handed to you: Петрова Анна"
    with translation.override("ru"):
        assert notice.render() == "Вам передан клиент: Петрова Анна"


def test_dates_and_money_are_formatted_in_the_readers_language(manager, settings):
    settings.TIME_ZONE = "UTC"
    notice = notice_send(
        user=manager,
        message="%(when)s %(amount)s",
        args={
            "when": arg_datetime(datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
            "amount": arg_money(Decimal("1234567.50")),
        },
    )
    with translation.override("en"):
        english = notice.render()
    with translation.override("ru"):
        russian = notice.render()
    assert "1,234,567.50" in english and "03/01/2026" in english
    assert "1\xa0234\xa0567,50" in russian and "01.03.2026" in russian


def test_the_notices_page_shows_them_in_the_readers_language(client, manager, settings):
    settings.LANGUAGE_CODE = "ru"
    notice_send(user=manager, message=MESSAGE, args={"name": "Петрова Анна"})
    client.force_login(manager)
    page = client.get(reverse("sales:notices"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Client handed to you: Петрова Анна" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    page = client.get(reverse("sales:notices")).content.decode()
    assert "Вам передан клиент: Петрова Анна" in page


def test_old_notices_keep_their_text(manager):
    Notice.objects.create(user=manager, text="Старое уведомление")
    with translation.override("en"):
        assert Notice.objects.get().render() == "Старое уведомление"


def test_no_service_stores_a_notice_already_rendered():
    """Every ``notice_send`` in the running code passes a message key and its arguments
    (``text=`` would be read in the server's language by everyone)."""
    import ast
    from pathlib import Path

    import kvartal

    root = Path(kvartal.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "notice_send"
                and any(k.arg == "text" for k in node.keywords)
            ):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
