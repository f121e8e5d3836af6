"""Feeds: each portal's structure from its documentation, golden files, the health rules,
publishing only healthy builds, the secret URL and what a portal's fetch costs."""

import dataclasses
import gzip
import os
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from lxml import etree

from kvartal.accounts.models import Notice
from kvartal.clients.services import client_create
from kvartal.feeds import services
from kvartal.feeds.health import RULES
from kvartal.feeds.models import BuildState, Feed, FeedFetch, FeedIssue, FeedProject, Portal
from kvartal.inventory import services as inventory
from kvartal.inventory.models import Unit
from kvartal.sales.services import holds

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
NS = "{http://webmaster.yandex.ru/schemas/feed/realty/2010-06}"


def _xml(build):
    return etree.parse(str(services.feed_path(build)))


def _build(feed, **kwargs):
    build = services.feed_build(feed=feed, **kwargs)
    feed.refresh_from_db()
    return build


def test_yandex_offer_has_every_required_element(feed_for, estate):
    build = _build(feed_for(Portal.YANDEX))
    assert build.state == BuildState.PUBLISHED, build.reason_text
    root = _xml(build).getroot()
    assert root.tag == f"{NS}realty-feed"
    assert root[0].tag == f"{NS}generation-date"
    offers = root.findall(f"{NS}offer")
    assert len(offers) == 4
    offer = offers[0]
    assert offer.get("internal-id") == f"kv-{estate[2][0].pk}"
    required = [
        "type",
        "property-type",
        "category",
        "creation-date",
        "location/country",
        "location/locality-name",
        "location/address",
        "sales-agent/phone",
        "sales-agent/category",
        "deal-status",
        "price/value",
        "price/currency",
        "area/value",
        "area/unit",
        "new-flat",
        "floor",
        "floors-total",
        "building-name",
        "yandex-building-id",
        "yandex-house-id",
        "building-state",
        "built-year",
        "ready-quarter",
        "image",
    ]
    for path in required:
        assert offer.find("/".join(NS + p for p in path.split("/"))) is not None, path
    assert offer.findtext(f"{NS}type") == "продажа"
    assert offer.findtext(f"{NS}category") == "квартира"
    assert offer.findtext(f"{NS}sales-agent/{NS}category") == "застройщик"
    assert offer.findtext(f"{NS}building-state") in {"unfinished", "built", "hand-over"}
    assert offer.findtext(f"{NS}ready-quarter") in {"1", "2", "3", "4"}
    assert offer.find(f"{NS}image").get("tag") == "plan"
    assert offer.find(f"{NS}studio").text == "да"  # the first riser is a studio: no <rooms>
    assert offer.find(f"{NS}rooms") is None
    assert offers[1].findtext(f"{NS}rooms") == "1"
    # The declaration starts at the first byte, with double quotes as Yandex's page shows.
    assert (
        services.feed_path(build).read_bytes().startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    )


def test_avito_ads_follow_the_autoload_format(feed_for):
    build = _build(feed_for(Portal.AVITO))
    root = _xml(build).getroot()
    assert (root.tag, root.get("formatVersion"), root.get("target")) == ("Ads", "3", "Avito.ru")
    ads = root.findall("Ad")
    assert len(ads) == 4
    ad = ads[0]
    for tag in (
        "Id",
        "Category",
        "OperationType",
        "MarketType",
        "NewDevelopmentId",
        "PropertyRights",
        "ContactPhone",
        "Price",
        "Rooms",
        "Square",
        "Floor",
        "Floors",
        "HouseType",
        "Decoration",
    ):
        assert ad.findtext(tag), tag
    assert (ad.findtext("Category"), ad.findtext("OperationType"), ad.findtext("MarketType")) == (
        "Квартиры",
        "Продам",
        "Новостройка",
    )
    assert ad.findtext("PropertyRights") == "Застройщик"
    assert ad.findtext("Rooms") == "Студия"
    assert ad.findtext("NewDevelopmentId") == "654321"  # the building's (Housing) id
    assert ad.findtext("HouseType") in {
        "Кирпичный",
        "Панельный",
        "Блочный",
        "Монолитный",
        "Монолитно-кирпичный",
    }
    assert ad.findtext("Decoration") in {"Без отделки", "Черновая", "Чистовая", "Предчистовая"}
    assert ad.find("Images/Image").get("url").startswith("https://crm.example.ru/feeds/")


def test_cian_objects_follow_feed_version_2(feed_for):
    build = _build(feed_for(Portal.CIAN))
    root = _xml(build).getroot()
    assert root.tag == "feed" and root.findtext("feed_version") == "2"
    objects = root.findall("object")
    assert len(objects) == 4
    obj = objects[0]
    for path in (
        "Category",
        "ExternalId",
        "Description",
        "Address",
        "Phones/PhoneSchema/CountryCode",
        "Phones/PhoneSchema/Number",
        "FlatRoomsCount",
        "TotalArea",
        "FloorNumber",
        "Building/FloorsCount",
        "JKSchema/Id",
        "BargainTerms/Price",
    ):
        assert obj.findtext(path), path
    assert obj.findtext("Category") == "newBuildingFlatSale"
    assert obj.findtext("FlatRoomsCount") == "9"  # studio
    assert objects[1].findtext("FlatRoomsCount") == "1"
    assert obj.findtext("Phones/PhoneSchema/Number") == "8431234567"
    assert obj.findtext("BargainTerms/SaleType") == "fz214"
    assert obj.findtext("Building/Deadline/Quarter") in {"first", "second", "third", "fourth"}
    # CIAN refuses empty elements: none in the file.
    assert not [el.tag for el in root.iter() if len(el) == 0 and not (el.text or "").strip()]


def test_domclick_nests_flats_in_buildings_in_complexes(feed_for, estate):
    build = _build(feed_for(Portal.DOMCLICK))
    root = _xml(build).getroot()
    assert root.tag == "complexes"
    (complex_,) = root.findall("complex")
    for tag in ("id", "name", "address", "description_main/title", "description_main/text"):
        assert complex_.findtext(tag), tag
    (building,) = complex_.findall("buildings/building")
    assert building.findtext("id") == "654321"
    flats = building.findall("flats/flat")
    assert len(flats) == 4
    for flat in flats:
        for tag in ("flat_id", "room", "price", "area"):
            assert flat.findtext(tag) is not None, tag
        assert flat.findtext("price").isdigit()
    assert complex_.findtext("sales_info/sales_phone") == "+78431234567"
    # sales_info closes the complex, after its buildings.
    assert [c.tag for c in complex_][-1] == "sales_info"


@pytest.mark.parametrize("portal", Portal.values)
def test_each_portal_matches_its_golden_file(portal, feed_for, estate, settings):
    """The whole document, byte for byte, with the unit ids and dates replaced: a change to
    a writer shows in review as a change of the golden file."""
    project, building, units = estate
    now = timezone.make_aware(datetime(2030, 1, 15, 12, 0))
    type(building).objects.filter(pk=building.pk).update(completion_date=date(2031, 6, 30))
    Unit.objects.update(created_at=now)
    build = _build(feed_for(portal), now=now)
    text = services.feed_path(build).read_text(encoding="utf-8")
    names = {str(unit.pk): f"UNIT{n}" for n, unit in enumerate(units, 1)}
    text = re.sub(r"kv-(\d+)", lambda m: "kv-" + names[m.group(1)], text)
    text = re.sub(r"/plans/(\d+)/", lambda m: f"/plans/{names[m.group(1)]}/", text)
    text = text.replace(Feed.objects.get(portal=portal).token, "TOKEN")
    golden = GOLDEN / f"{portal}.xml"
    if os.environ.get("KVARTAL_WRITE_GOLDEN"):  # to write them anew, then review the diff
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing (KVARTAL_WRITE_GOLDEN=1 writes it)"
    assert text == golden.read_text(encoding="utf-8")


# --- health rules: each has an example that breaks it ------------------------------------


def _issues(build, rule):
    return list(FeedIssue.objects.filter(build=build, rule=rule))


def test_a_unit_without_a_plan_is_left_out_with_how_to_fix(feed_for, estate):
    unit = estate[2][1]
    Unit.objects.filter(pk=unit.pk).update(layout="")
    build = _build(feed_for(Portal.YANDEX, max_error_share=50))
    (issue,) = _issues(build, "plan_missing")
    assert issue.unit_id == unit.pk and issue.severity == "error"
    assert f"kv-{unit.pk}" not in services.feed_path(build).read_text()
    assert build.state == BuildState.PUBLISHED and build.written == 3


def test_a_layout_that_is_not_a_raster_image_is_refused(feed_for, estate, settings):
    unit = estate[2][0]
    (settings.MEDIA_ROOT / unit.layout.name).write_bytes(b"<svg onload='alert(1)'/>")
    build = _build(feed_for(Portal.CIAN, max_error_share=50))
    assert [i.unit_id for i in _issues(build, "plan_not_raster")] == [unit.pk]


def test_areas_that_do_not_add_up(feed_for, estate):
    unit = estate[2][2]
    Unit.objects.filter(pk=unit.pk).update(kitchen_area=unit.total_area - unit.living_area + 1)
    build = _build(feed_for(Portal.AVITO, max_error_share=50))
    (issue,) = _issues(build, "area_sum")
    assert issue.unit_id == unit.pk
    assert "add up to more than the total" in str(RULES["area_sum"].message) % issue.params


def test_a_price_of_zero_and_a_price_per_m2_typed_as_the_price(feed_for, estate):
    a, b = estate[2][0], estate[2][1]
    Unit.objects.filter(pk=a.pk).update(price=Decimal("150000") / 1000)  # 150 ₽
    build = _build(feed_for(Portal.YANDEX, max_error_share=60))
    assert [i.unit_id for i in _issues(build, "price_range")] == [a.pk]
    assert b.pk not in [i.unit_id for i in _issues(build, "price_range")]


def test_an_unmapped_building_and_complex(feed_for, estate):
    feed = feed_for(Portal.YANDEX)
    feed.buildings.update(external_id="")
    feed.projects.update(complex_id="")
    build = _build(feed)
    assert len(_issues(build, "building_unmapped")) == 4
    assert len(_issues(build, "complex_unmapped")) == 4
    # Every offer in error: the share is over the limit and nothing is published.
    assert build.state == BuildState.HELD_BACK and build.reason == "error_share"


def test_avito_takes_the_complex_id_when_the_building_has_none(feed_for):
    feed = feed_for(Portal.AVITO)
    feed.buildings.update(external_id="")
    build = _build(feed)
    assert build.state == BuildState.PUBLISHED
    assert _xml(build).getroot().find("Ad").findtext("NewDevelopmentId") == "123456"
    feed.projects.update(complex_id="")
    build = _build(feed)
    assert len(_issues(build, "development_unmapped")) == 4


def test_missing_and_foreign_phones(feed_for):
    feed = feed_for(Portal.CIAN, contact_phone="")
    build = _build(feed)
    assert len(_issues(build, "phone_missing")) == 4 and build.state == BuildState.HELD_BACK
    feed.contact_phone = "+12025550123"
    feed.save()
    build = _build(feed)
    assert len(_issues(build, "phone_invalid")) == 4


def test_avito_needs_the_walls_material(feed_for, estate):
    estate[1].listing.delete()
    build = _build(feed_for(Portal.AVITO))
    assert len(_issues(build, "material_missing")) == 4


def test_completion_floors_address_rooms_description(feed_for, estate):
    project, building, units = estate
    type(building).objects.filter(pk=building.pk).update(
        completion_date=None, construction_address=""
    )
    Unit.objects.filter(pk=units[1].pk).update(rooms=None)
    feed = feed_for(Portal.YANDEX, max_error_share=100)
    feed.projects.update(description_template="x" * 10_001)
    build = _build(feed)
    assert len(_issues(build, "completion_missing")) == 4
    assert len(_issues(build, "address_missing")) == 4
    assert [i.unit_id for i in _issues(build, "rooms_missing")] == [units[1].pk]
    assert len(_issues(build, "description_long")) == 4


def test_floor_above_the_top_and_a_duplicate_id(feed_for, estate):
    from kvartal.feeds.health import Checker
    from kvartal.feeds.offers import offers
    from kvartal.feeds.portals import SPECS

    feed = feed_for(Portal.YANDEX)
    offer = next(offers(feed, now=timezone.now()))
    offer.floor = offer.floors_total + 1
    checker = Checker(SPECS["yandex"])
    assert "floor_above_top" in [i.rule for i in checker.check(offer)]
    assert "duplicate_id" in [i.rule for i in checker.check(offer)]


def test_a_missing_floor_count_is_an_error(feed_for, estate):
    from kvartal.feeds.health import Checker
    from kvartal.feeds.offers import offers
    from kvartal.feeds.portals import SPECS

    offer = next(offers(feed_for(Portal.YANDEX), now=timezone.now()))
    offer.floors_total = None
    assert "floors_missing" in [i.rule for i in Checker(SPECS["yandex"]).check(offer)]


def test_image_links_to_this_machine_are_a_warning(feed_for, settings):
    settings.KVARTAL_PUBLIC_URL = "http://127.0.0.1:8000"
    build = _build(feed_for(Portal.YANDEX))
    (issue,) = _issues(build, "public_url_local")
    assert issue.severity == "warning" and build.state == BuildState.PUBLISHED


def test_every_rule_has_a_message_and_a_fix():
    for code, rule in RULES.items():
        assert str(rule.message) and str(rule.fix), code


# --- what is in the feed ---------------------------------------------------------------


def test_a_held_unit_leaves_the_feed_at_the_next_build(feed_for, estate, manager):
    feed = feed_for(Portal.YANDEX)
    unit = estate[2][0]
    first = _build(feed)
    assert f"kv-{unit.pk}" in services.feed_path(first).read_text()
    buyer = client_create(by=manager, last_name="Петров", first_name="Иван", phone="+79001234567")
    holds.hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)
    second = _build(feed)
    assert f"kv-{unit.pk}" not in services.feed_path(second).read_text()
    assert (second.added, second.removed) == (0, 1)
    assert second.diff["removed"] == [f"kv-{unit.pk}"]


def test_a_unit_sold_while_the_feed_was_written_holds_the_build_back(
    feed_for, estate, manager, monkeypatch
):
    """The build has read the unit as on sale when a manager holds it: the file would list a
    held unit, so it is not published."""
    feed = feed_for(Portal.YANDEX)
    good = _build(feed)
    unit = estate[2][0]
    buyer = client_create(by=manager, last_name="Петров", first_name="Иван", phone="+79001234567")
    real = services.offers

    def racing(feed, **kwargs):
        for n, offer in enumerate(real(feed, **kwargs)):
            yield offer
            if n == 0:
                holds.hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)

    monkeypatch.setattr(services, "offers", racing)
    build = _build(feed, now=timezone.now() - timedelta(seconds=1))
    assert build.state == BuildState.HELD_BACK and build.reason == "sold_present"
    assert [i.unit_id for i in _issues(build, "sold_present")] == [unit.pk]
    feed.refresh_from_db()
    assert feed.published_build_id == good.pk  # the last good file stays


def test_promotion_price_or_list_price_by_the_marketers_choice(feed_for, estate, sales_head):
    from kvartal.sales.models import Promotion

    project, _, units = estate
    today = timezone.localdate()
    promo = Promotion.objects.create(
        name="Скидка",
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=9),
        discount_kind="percent",
        value=Decimal(10),
    )
    promo.projects.add(project)
    feed = feed_for(Portal.AVITO)
    build = _build(feed)
    price = int(_xml(build).getroot().find("Ad").findtext("Price"))
    assert price == int((units[0].price * Decimal("0.9")).quantize(Decimal(1)))
    feed.projects.update(price_mode="list")
    build = _build(feed)
    assert int(_xml(build).getroot().find("Ad").findtext("Price")) == int(units[0].price)


def test_the_marketer_leaves_out_a_section_and_units(feed_for, estate):
    feed = feed_for(Portal.YANDEX)
    fp = feed.projects.get()
    fp.excluded_units.add(estate[2][0])
    build = _build(feed)
    assert build.written == 3
    fp.excluded_sections.add(estate[2][0].section)
    build = _build(feed)
    assert build.state == BuildState.HELD_BACK and build.reason == "empty"


def test_parking_goes_only_where_the_portal_has_a_category(feed_for, estate):
    """Yandex lists a parking space as a garage (машиноместо) and CIAN as garageSale, when the
    marketer ticks parking; DomClick lists flats only."""
    units = estate[2]
    Unit.objects.filter(pk=units[3].pk).update(
        kind="parking", rooms=None, living_area=None, kitchen_area=None
    )
    feed = feed_for(Portal.YANDEX)
    assert _build(feed).written == 3  # apartments only by default
    FeedProject.objects.filter(feed=feed).update(kinds=["apartment", "parking"])
    build = _build(feed)
    assert build.written == 4
    garage = [
        o
        for o in _xml(build).getroot().iter(f"{NS}offer")
        if o.findtext(f"{NS}category") == "гараж"
    ]
    assert len(garage) == 1 and garage[0].findtext(f"{NS}garage-type") == "машиноместо"
    assert garage[0].find(f"{NS}new-flat") is None and garage[0].find(f"{NS}rooms") is None
    cian = feed_for(Portal.CIAN)
    FeedProject.objects.filter(feed=cian).update(kinds=["apartment", "parking"])
    categories = [o.findtext("Category") for o in _xml(_build(cian)).getroot().iter("object")]
    assert categories.count("garageSale") == 1
    dom = feed_for(Portal.DOMCLICK)
    FeedProject.objects.filter(feed=dom).update(kinds=["apartment", "parking"])
    assert _build(dom).offers == 3


def test_the_build_query_count_does_not_grow_with_units(feed_for, estate, keeper):
    """Four units or twenty, with their checks, promotions and floor counts: the same
    queries."""
    feed = feed_for(Portal.YANDEX)
    _build(feed)  # the first builds have no previous one to compare with, nothing to forget
    _build(feed)
    with CaptureQueriesContext(connection) as small:
        _build(feed)
    from kvartal.core.testing import make_section

    make_section(estate[1], number=2, floors=4, per_floor=4, by=keeper)
    Unit.objects.filter(layout="").update(layout=estate[2][0].layout.name)
    with CaptureQueriesContext(connection) as big:
        build = _build(feed)
    assert build.offers == 20
    assert len(big) == len(small), (
        [q["sql"][:60] for q in small.captured_queries],
        [q["sql"][:60] for q in big.captured_queries],
    )


# --- publishing, the secret URL, fetches -------------------------------------------------


def test_the_feed_is_served_gzipped_with_etag_and_a_repeat_costs_a_304(client, feed_for):
    feed = feed_for(Portal.YANDEX)
    build = _build(feed)
    url = reverse("feeds-public:file", args=[feed.token])
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    body = gzip.decompress(b"".join(response.streaming_content))
    assert body == services.feed_path(build).read_bytes()
    assert response["Last-Modified"]
    again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    plain = client.get(url)
    assert "Content-Encoding" not in plain
    assert b"".join(plain.streaming_content) == body
    assert list(FeedFetch.objects.order_by("pk").values_list("status", flat=True)) == [
        200,
        304,
        200,
    ]


def test_a_wrong_or_renewed_token_is_a_bare_404(client, feed_for, marketer):
    feed = feed_for(Portal.YANDEX)
    _build(feed)
    old = reverse("feeds-public:file", args=[feed.token])
    assert client.get(reverse("feeds-public:file", args=["nope"])).status_code == 404
    client.force_login(marketer)
    client.post(reverse("feeds:renew", args=["yandex"]))
    client.logout()
    response = client.get(old)
    assert response.status_code == 404 and b"yandex" not in response.content.lower()
    feed.refresh_from_db()
    assert client.get(reverse("feeds-public:file", args=[feed.token])).status_code == 200
    assert FeedFetch.objects.filter(status=404).count() == 0


def test_an_unpublished_feed_is_not_served(client, feed_for):
    feed = feed_for(Portal.YANDEX)
    _build(feed)
    Feed.objects.filter(pk=feed.pk).update(is_published=False)
    assert client.get(reverse("feeds-public:file", args=[feed.token])).status_code == 404


def test_a_failed_build_leaves_the_last_complete_file(feed_for, monkeypatch):
    feed = feed_for(Portal.YANDEX)
    good = _build(feed)
    before = services.feed_path(good).read_bytes()
    from kvartal.feeds.portals import SPECS

    def broken(xf, offers, context):
        with xf.element("realty-feed"):
            next(iter(offers))
            raise RuntimeError("disk full")

    monkeypatch.setitem(SPECS, "yandex", dataclasses.replace(SPECS["yandex"], write=broken))
    with pytest.raises(RuntimeError):
        services.feed_build(feed=feed)
    feed.refresh_from_db()
    assert feed.published_build_id == good.pk
    assert services.feed_path(good).read_bytes() == before
    assert not list(services.feeds_dir().glob("*.tmp"))
    assert feed.builds.first().state == BuildState.FAILED
    assert feed.building_since is None


def test_plan_images_are_served_only_for_feed_units_and_only_raster(
    client, feed_for, estate, settings
):
    feed = feed_for(Portal.YANDEX)
    unit = estate[2][0]
    url = reverse("feeds-public:plan", args=[feed.token, unit.pk, "unit"])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    (settings.MEDIA_ROOT / unit.layout.name).write_bytes(b"<svg/>")
    assert client.get(url).status_code == 404
    assert (
        client.get(reverse("feeds-public:plan", args=["bad", unit.pk, "unit"])).status_code == 404
    )


def test_held_back_tells_the_marketer_once(feed_for, marketer):
    feed = feed_for(Portal.CIAN, contact_phone="")
    _build(feed)
    _build(feed)
    assert Notice.objects.filter(user=marketer).count() == 1
    notice = Notice.objects.get(user=marketer)  # read in the reader's language, not the server's
    with translation.override("en"):
        assert notice.render().startswith("CIAN: ") and "the last published file stays" in (
            notice.render()
        )
    with translation.override("ru"):
        assert "последний опубликованный файл" in notice.render().lower()


# --- rebuilds follow changes -------------------------------------------------------------


def test_refresh_rebuilds_after_a_price_change_and_not_otherwise(
    feed_for, estate, keeper, settings
):
    settings.KVARTAL_FEEDS_DEBOUNCE = 0
    feed_for(Portal.YANDEX)
    now = timezone.now()
    assert len(services.feeds_refresh(now=now)) == 1
    assert services.feeds_refresh(now=now + timedelta(seconds=1)) == []
    unit = estate[2][0]
    inventory.unit_set_price(unit=unit, price=unit.price + 1000, by=keeper)
    (build,) = services.feeds_refresh(now=timezone.now() + timedelta(seconds=2))
    assert build.repriced == 1
    assert build.diff["repriced"][0][0] == f"kv-{unit.pk}"


def test_refresh_waits_for_the_debounce(feed_for, estate, keeper, settings):
    settings.KVARTAL_FEEDS_DEBOUNCE = 60
    feed_for(Portal.YANDEX)
    now = timezone.now()
    services.feeds_refresh(now=now)
    unit = estate[2][0]
    inventory.unit_set_price(unit=unit, price=unit.price + 1000, by=keeper)
    assert services.feeds_refresh(now=now + timedelta(seconds=10)) == []
    assert len(services.feeds_refresh(now=now + timedelta(seconds=61))) == 1


def test_two_builders_at_once_build_once(feed_for):
    feed = feed_for(Portal.YANDEX)
    Feed.objects.filter(pk=feed.pk).update(building_since=timezone.now())
    assert services.feed_build(feed=feed) is None
