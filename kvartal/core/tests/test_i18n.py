"""Russian is the default language of the interface; English is one click away.

Every other test reads English (conftest's ``_english``); these read Russian, so each one first
puts the default language back. They also check the catalogue itself: every message of
``django.po`` is translated, keeps its placeholders, and is in the compiled ``django.mo``.
"""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import translation

from kvartal.inventory.models import Unit, UnitStatus
from kvartal.inventory.tests.sales_state import set_sales_state
from kvartal.testing import make_building, make_section

MESSAGES = Path(django_settings.LOCALE_PATHS[0]) / "ru" / "LC_MESSAGES"
PO, MO = MESSAGES / "django.po", MESSAGES / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")
TAG = re.compile(r'<span class="r">([^<]*)</span>')


@pytest.fixture(autouse=True)
def _russian(_english, settings):
    """Undo conftest's English: the project's own default language, Russian."""
    settings.LANGUAGE_CODE = "ru"
    with translation.override("ru"):
        yield


@pytest.fixture
def building(keeper):
    """One section, floors 1-2, risers: studio, 1, 2 and 3 rooms; one unit sold, one held."""
    building = make_building()
    make_section(building, floors=2, per_floor=4, by=keeper)
    first, second = Unit.objects.filter(building=building).order_by("floor__index", "position")[:2]
    set_sales_state(unit=first, status=UnitStatus.SOLD, by=keeper)
    set_sales_state(unit=second, status=UnitStatus.RESERVED, by=keeper)
    return building


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("accept_language", [None, "ru", "ru-RU,ru;q=0.9"])
def test_login_page_is_russian_by_default(client, accept_language):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    body = page(client.get(reverse("accounts:login"), **headers))
    assert '<html lang="ru">' in body
    assert "Вход в Kvartal" in body
    assert ">Войти</button>" in body
    assert "Sign in" not in body


def test_chessboard_shows_russian_statuses_and_abbreviations(client, keeper, building):
    client.force_login(keeper)
    body = page(client.get(reverse("inventory:building-chessboard", args=[building.pk])))
    for label in ("Свободно", "Резерв", "Продано", "Не в продаже"):
        assert label in body
    assert {"Ст", "1к", "2к", "3к"} <= set(TAG.findall(body))
    assert "м²" in body and "млн ₽" in body
    assert "Секция 1" in body
    assert "Менеджер по объектам" in body  # the role beside the user's name
    for english in ("Available", "Reserved", "Sold", "Section 1", "Sign out"):
        assert english not in body


def test_unit_card_is_russian(client, keeper, building):
    unit = Unit.objects.filter(building=building, rooms=2).first()
    client.force_login(keeper)
    body = page(client.get(reverse("inventory:unit-detail", args=[unit.pk])))
    assert f"Квартира {unit.number}" in body
    assert "Площадь по обмерам БТИ" in body
    assert "История цен" in body


def test_set_language_switches_to_english_and_back(client, keeper, building):
    client.force_login(keeper)
    url = reverse("inventory:building-chessboard", args=[building.pk])
    assert "Свободно" in page(client.get(url))

    response = client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302
    body = page(client.get(url))
    assert '<html lang="en">' in body
    assert "Available" in body and "Reserved" in body
    assert {"St", "1BR", "2BR", "3BR"} <= set(TAG.findall(body))
    assert "Свободно" not in body

    client.post(reverse("set_language"), {"language": "ru", "next": url})
    assert "Свободно" in page(client.get(url))


# --- the catalogue -------------------------------------------------------------------------


def test_russian_plurals_take_all_three_forms():
    def found(n):
        return translation.ngettext("%(counter)s unit found", "%(counter)s units found", n) % {
            "counter": n
        }

    assert found(1) == "Найдено 1 помещение"
    assert found(3) == "Найдено 3 помещения"
    assert found(5) == "Найдено 5 помещений"
    assert found(11) == "Найдено 11 помещений"
    assert found(21) == "Найдено 21 помещение"
    assert found(24) == "Найдено 24 помещения"


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: {"flags", "msgctxt", "msgid", "msgid_plural", "msgstr[n]"}."""
    entries, entry, key = [], {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#,"):
            entry["flags"] = {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, literal = line.partition(" ")
            key = "msgstr[0]" if key == "msgstr" else key
            entry[key] = ast.literal_eval(literal)
    return entries


@pytest.fixture(scope="module")
def po_entries():
    entries = read_po(PO)
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == ""
    return header, messages


def test_po_header(po_entries):
    header, _messages = po_entries
    assert "fuzzy" not in header.get("flags", set())
    fields = dict(line.split(": ", 1) for line in header["msgstr[0]"].splitlines() if ": " in line)
    assert fields["Language"] == "ru"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"].startswith("nplurals=4;")


def test_every_message_is_translated_and_keeps_its_placeholders(po_entries):
    _header, messages = po_entries
    assert 100 < len(messages) < 8000  # our strings only, not a dependency's
    problems = []
    for m in messages:
        forms = [v for k, v in m.items() if k.startswith("msgstr[")]
        if "fuzzy" in m.get("flags", set()):
            problems.append(("fuzzy", m["msgid"]))
        if len(forms) != (4 if "msgid_plural" in m else 1) or not all(forms):
            problems.append(("untranslated", m["msgid"]))
        wanted = sorted(PLACEHOLDER.findall(m.get("msgid_plural", m["msgid"])))
        for form in forms:
            if sorted(PLACEHOLDER.findall(form)) != wanted:
                problems.append(("placeholders", m["msgid"], form))
    assert problems == []


def test_mo_is_compiled_from_po(po_entries):
    _header, messages = po_entries
    with MO.open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    stale = []
    for m in messages:
        key = f"{m['msgctxt']}\x04{m['msgid']}" if "msgctxt" in m else m["msgid"]
        if "msgid_plural" in m:
            for n in range(4):
                if catalog.get((key, n)) != m[f"msgstr[{n}]"]:
                    stale.append(m["msgid"])
        elif catalog.get(key) != m["msgstr[0]"]:
            stale.append(m["msgid"])
    assert stale == [], "run make messages"
