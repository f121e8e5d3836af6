"""Every role walks its main pages in Simplified Chinese: its start page, each entry of its menu,
a unit card, a deal and a client. The visible text has no English left beyond proper names
and codes, and dates and money are written the Chinese way (2026-12-05, 2026年12月5日,
12,345,679)."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import translation

from kvartal.accounts.models import Role
from kvartal.accounts.permissions import capabilities_of
from kvartal.accounts.start import start_url
from kvartal.core.nav import menu_for
from kvartal.sales.tests.factories import make_client, make_deal
from kvartal.testing import make_building, make_project, make_section, make_user

ROLES = [
    Role.ADMIN,
    Role.DIRECTOR,
    Role.SALES_HEAD,
    Role.SALES_MANAGER,
    Role.INVENTORY_KEEPER,
    Role.CASHIER,
    Role.ACCOUNTANT,
    Role.OPERATOR,
    Role.MARKETER,
]

# Names and codes that stay as they are in a Chinese interface: the product, formats,
# protocols, the portals and messengers (proper names), Russian registry codes.
PROPER = {
    "kvartal",
    "pdf",
    "csv",
    "docx",
    "xlsx",
    "excel",
    "json",
    "html",
    "api",
    "url",
    "utm",
    "sms",
    "id",
    "ip",
    "hmac",
    "sha",
    "totp",
    "pem",
    "png",
    "jpeg",
    "svg",
    "redis",
    "rq",
    "sqlite",
    "postgresql",
    "telegram",
    "whatsapp",
    "yandex",
    "realty",
    "avito",
    "cian",
    "domclick",
    "mango",
    "office",
    "asterisk",
    "freepbx",
    "inn",
    "kpp",
    "ogrn",
    "bti",
    "esc",
    "freeotp",
    "aegis",
    "google",
    "microsoft",
    "authenticator",
    "webhook",
    "utf",
    "dos",
    "windows",
    "openai",
    "llm",
    "pbx",
    "vpbx",
    "cichart",
    "ops",
    "manage",
    "py",
    "scheduler",
    "ops_scheduler",
    "kv",
    "openapi",
    "v1",
    "bn",
    "us",
    "http",
    "https",
    "br",
    "keeper",  # the fixture user's login, shown as the actor of the audit log's rows
}
WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")
PATH = re.compile(r"\S*/\S*|\b[a-z_]+\.[a-z_]+\b")  # folders, addresses, model keys
RUSSIAN_DATE = re.compile(  # 05.12.2026, 05.12 18:00 (not a rate such as 18.00)
    r"\b(?:0[1-9]|[12]\d|3[01])\.(?:0[1-9]|1[0-2])(?:\.\d{4}|\s\d{2}:\d{2})\b"
)


class VisibleText(HTMLParser):
    """The text a reader sees: text nodes outside scripts and styles, and the titles,
    placeholders and labels read aloud."""

    HIDDEN = {"script", "style", "template", "svg", "noscript", "code"}  # code: technical keys

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        for name, value in attrs:
            if name in {"title", "placeholder", "aria-label", "alt"} and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") == "submit":
                self.parts.append(value or "")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_left(text: str, names: set[str]) -> set[str]:
    text = PATH.sub(" ", text)  # folders, addresses, keys: data, not words
    words = set(WORD.findall(text))
    return {w for w in words if w.lower() not in PROPER and w.lower() not in names}


@pytest.fixture(autouse=True)
def _chinese(_english, settings):
    settings.LANGUAGE_CODE = "ru"
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def world(db, keeper):
    project = make_project(name="ЖК Тестовый")
    building = make_building(project, name="Корпус 1")
    make_section(building, by=keeper, floors=3, per_floor=4)
    manager = make_user(Role.SALES_MANAGER, username="zh-manager")
    unit = building.units.order_by("pk").first()
    buyer = make_client(manager=manager, last_name="Иванов", first_name="Пётр")
    deal = make_deal(manager=manager, unit=unit, buyer=buyer)
    return {"unit": unit, "deal": deal, "client": buyer, "manager": manager}


def pages_of(user, world) -> list[str]:
    urls = [start_url(user)]
    # Django's admin is left out: its third-party apps (axes, django-otp, django-tasks) bring
    # catalogues without Chinese.
    urls += [
        item.url
        for item in menu_for(user, capabilities_of(user))
        if not item.url.startswith("/admin/")
    ]
    urls += [
        reverse("inventory:unit-detail", args=[world["unit"].pk]),
        reverse("inventory:building-chessboard", args=[world["unit"].building_id]),
        reverse("sales:deal-detail", args=[world["deal"].pk]),
        reverse("sales:client-detail", args=[world["client"].pk]),
    ]
    return list(dict.fromkeys(urls))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_its_pages_in_chinese(client, world, role):
    user = world["manager"] if role == Role.SALES_MANAGER else make_user(role)
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    names = {"zh", "manager", user.username.lower(), *user.username.lower().split("-")}
    leftovers, russian_dates, walked = {}, {}, 0
    for url in pages_of(user, world):
        response = client.get(url)
        if response.status_code in (302, 403, 404):
            continue  # not this role's page
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'lang="zh-hans"' in html, url
        walked += 1
        text = visible(html)
        left = english_left(text, names)
        if left:
            leftovers[url] = sorted(left)
        if dates := RUSSIAN_DATE.findall(text):
            russian_dates[url] = dates
    assert walked >= 3
    assert russian_dates == {}
    assert leftovers == {}, "\n".join(f"{url}: {words}" for url, words in leftovers.items())


def test_a_deal_shows_chinese_money_and_dates(client, world):
    deal = world["deal"]
    client.force_login(world["manager"])
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    text = visible(client.get(reverse("sales:deal-detail", args=[deal.pk])).content.decode())
    price = f"{int(deal.price):,}"  # 12,345,679: commas every three digits
    assert price in text
    assert re.search(r"\d{4}-\d{2}-\d{2}|\d{4}年\d{1,2}月\d{1,2}日", text)
    assert not RUSSIAN_DATE.search(text)


def test_the_showcase_reads_in_chinese(client, world):
    from kvartal.showcase.models import ProjectShowcase

    unit = world["unit"]
    building = unit.building
    ProjectShowcase.objects.create(project=building.project, is_published=True)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    on_sale = building.units.filter(status="available").order_by("pk").first()
    urls = [
        reverse("showcase:catalogue"),
        reverse("showcase:project", args=[building.project.pk]),
        reverse("showcase:building", args=[building.pk]),
        reverse("showcase:unit-detail", args=[on_sale.pk]),
        reverse("showcase:favourites"),
        reverse("showcase:compare"),
        reverse("showcase:history"),
        reverse("showcase:request"),
    ]
    leftovers = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible(response.content.decode())
        if left := english_left(text, set()):
            leftovers[url] = sorted(left)
        assert not RUSSIAN_DATE.search(text), url
    assert leftovers == {}, leftovers
