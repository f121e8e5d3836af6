"""Simplified Chinese (zh-hans) beside Russian and English: the switcher offers it as 中文 in the
back office and on the showcase, and the choice sticks for the pages that follow. The catalogue
has every message of the Russian one, each in Chinese with its placeholders."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import translation

from kvartal.core.tests.test_i18n import MESSAGES, read_po


@pytest.fixture(autouse=True)
def _default_russian(_english, settings):
    """Undo conftest's English: the reader chooses Chinese from the product's default."""
    settings.LANGUAGE_CODE = "ru"
    with translation.override("ru"):
        yield


def body(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["accounts:login", "showcase:catalogue"])
def test_the_switcher_offers_chinese(client, url):
    page = body(client.get(reverse(url)))
    assert 'value="zh-hans"' in page
    assert ">中文</button>" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "chinese"),
    [("accounts:login", "登录"), ("showcase:catalogue", "选择您的房源")],
)
def test_chinese_is_chosen_once_and_kept(client, url, chinese):
    target = reverse(url)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": target})
    assert response.status_code == 302
    page = body(client.get(target))
    assert '<html lang="zh-hans">' in page
    assert chinese in page


@pytest.mark.django_db
def test_a_browser_set_to_chinese_gets_chinese(client):
    page = body(client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"))
    assert '<html lang="zh-hans">' in page and "登录 Kvartal" in page


# --- the catalogue -------------------------------------------------------------------------

ZH = Path(django_settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%|\{\w*\}")


@pytest.fixture(scope="module")
def zh_entries():
    entries = read_po(ZH / "django.po")
    header, messages = entries[0], entries[1:]
    fields = dict(line.split(": ", 1) for line in header["msgstr[0]"].splitlines() if ": " in line)
    assert fields["Language"] == "zh_Hans"
    assert fields["Plural-Forms"].startswith("nplurals=1;")
    assert "fuzzy" not in header.get("flags", set())
    return messages


def test_every_message_has_chinese_and_keeps_its_placeholders(zh_entries):
    russian = {(m.get("msgctxt"), m["msgid"]) for m in read_po(MESSAGES / "django.po")[1:]}
    assert {(m.get("msgctxt"), m["msgid"]) for m in zh_entries} == russian
    problems = []
    for m in zh_entries:
        forms = [v for k, v in m.items() if k.startswith("msgstr[")]
        if "fuzzy" in m.get("flags", set()) or len(forms) != 1 or not forms[0]:
            problems.append(("untranslated", m["msgid"]))
            continue
        wanted = set(PLACEHOLDER.findall(m.get("msgid_plural", m["msgid"])))
        if set(PLACEHOLDER.findall(forms[0])) != wanted:
            problems.append(("placeholders", m["msgid"], forms[0]))
    assert problems == []


def test_chinese_mo_is_compiled_from_po(zh_entries):
    with (ZH / "django.mo").open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    stale = []
    for m in zh_entries:
        key = f"{m['msgctxt']}\x04{m['msgid']}" if "msgctxt" in m else m["msgid"]
        key = (key, 0) if "msgid_plural" in m else key
        if catalog.get(key) != m["msgstr[0]"]:
            stale.append(m["msgid"])
    assert stale == [], "run make messages"


def test_chinese_has_one_plural_form():
    with translation.override("zh-hans"):
        for n in (1, 2, 5, 21):
            assert (
                translation.ngettext("%(counter)s unit found", "%(counter)s units found", n)
                % {"counter": n}
                == f"找到 {n} 个房源"
            )
