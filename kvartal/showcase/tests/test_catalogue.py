"""The public catalogue, the buyer's chessboard and the unit page."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.translation import gettext as _

from kvartal.clients.services import client_create
from kvartal.inventory.models import UnitStatus
from kvartal.inventory.services import unit_set_status
from kvartal.sales.services.holds import hold_create
from kvartal.showcase.models import ProjectShowcase

pytestmark = pytest.mark.django_db


def _hold(unit, manager):
    buyer = client_create(
        by=manager, last_name="Секретова", first_name="Ирина", phone="+79120000001"
    )
    return hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=3)


def test_the_root_is_the_public_catalogue_and_staff_still_land_on_their_start_page(
    client, project, manager
):
    response = client.get("/")
    assert response.status_code == 200
    assert "ЖК Витрина" in response.text
    from kvartal.core.testing import PASSWORD

    response = client.post(
        reverse("accounts:login"), {"username": manager.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.url.startswith("/app/")


def test_a_unit_held_in_the_office_leaves_available_at_once_and_no_name_shows(
    client, project, unit, manager, django_capture_on_commit_callbacks
):
    page = client.get(reverse("showcase:unit-detail", args=[unit.pk])).text
    assert "Available" in page
    found_before = client.get("/", {"rooms": [str(unit.rooms)]}).text
    assert reverse("showcase:unit-detail", args=[unit.pk]) in found_before
    with django_capture_on_commit_callbacks(execute=True):  # committed: the cache forgets
        _hold(unit, manager)
    found_after = client.get("/", {"rooms": [str(unit.rooms)]}).text
    assert reverse("showcase:unit-detail", args=[unit.pk]) not in found_after
    board = client.get(reverse("showcase:building", args=[unit.building_id])).text
    page = client.get(reverse("showcase:unit-detail", args=[unit.pk])).text
    assert "Booked" in page and "Book online" not in page
    for text in (board, page):
        assert "Секретова" not in text and manager.last_name not in text


def test_units_not_for_sale_and_unpublished_projects_stay_hidden(client, project, units, keeper):
    hidden = units[0]
    unit_set_status(unit=hidden, status=UnitStatus.NOT_FOR_SALE, by=keeper, reason="закрыт")
    assert client.get(reverse("showcase:unit-detail", args=[hidden.pk])).status_code == 404
    board = client.get(reverse("showcase:building", args=[hidden.building_id])).text
    assert reverse("showcase:unit-detail", args=[hidden.pk]) not in board
    ProjectShowcase.objects.filter(project=project).update(is_published=False)
    assert client.get(reverse("showcase:unit-detail", args=[units[1].pk])).status_code == 404
    assert "ЖК Витрина" not in client.get("/").text


def test_the_buyers_filters(client, project, units):
    one_room = [u for u in units if u.rooms == 1]
    response = client.get("/", {"rooms": ["1"], "floor_min": "2"})
    shown = set(map(int, re.findall(r'href="/units/(\d+)/"', response.text)))
    assert shown == {u.pk for u in one_room if u.floor.index >= 2}
    cheap = min(u.price for u in units)
    response = client.get("/", {"price_max": str(int(cheap))})
    shown = set(map(int, re.findall(r'href="/units/(\d+)/"', response.text)))
    assert shown == {u.pk for u in units if u.price <= cheap}


def test_a_reversed_range_is_a_message_beside_the_field(client, project):
    response = client.get("/", {"area_min": "80", "area_max": "20"})
    assert response.status_code == 200
    assert "Must not be less than the lower bound." in response.text


def test_monthly_payment_filter_keeps_units_whose_default_mortgage_fits(client, project, units):
    from kvartal.showcase.calculators import annuity_payment

    rate = ProjectShowcase.objects.get(project=project).mortgage_rate
    payments = {u.pk: annuity_payment(u.price * Decimal("0.8"), rate, 360) for u in units}
    limit = sorted(payments.values())[3]
    response = client.get("/", {"monthly_max": str(int(limit))})
    shown = set(map(int, re.findall(r'href="/units/(\d+)/"', response.text)))
    # the filter rounds the price limit to the rouble: a unit right at the edge may go
    assert {pk for pk, p in payments.items() if p <= limit - 1} <= shown
    assert all(payments[pk] <= limit + 1 for pk in shown)


def test_a_monthly_payment_cap_of_zero_is_refused_beside_the_field(client, project, units):
    response = client.get("/", {"monthly_max": "0"}, headers={"accept-language": "en"})
    assert "Ensure this value is greater than or equal to 1." in response.text
    assert not response.context["form"].is_valid()
    assert list(response.context["form"].errors) == ["monthly_max"]


def test_the_catalogue_costs_the_same_queries_for_few_and_many_units(
    client, project, django_assert_max_num_queries
):
    # a first view: the cache's generations made, the units found and kept, the page
    # rendered whole and kept (the database cache: five queries to keep an entry); a
    # returning view: test_cache.py
    with django_assert_max_num_queries(30):
        client.get("/", {"rooms": ["1", "2", "3", "0"]})


def test_the_unit_page_has_every_term_schema_org_and_opengraph(client, project, unit):
    from kvartal.showcase.models import InstalmentPlan, MortgageProgramme

    MortgageProgramme.objects.create(
        name="Семейная", bank="Банк", kind="state", rate=Decimal(6), min_down_payment=20
    )
    MortgageProgramme.objects.create(
        name="0,1 % на год", bank="Банк", kind="developer", rate=Decimal("0.1"), months=12
    )
    InstalmentPlan.objects.create(name="12 месяцев", down_payment=30, months=12)
    response = client.get(reverse("showcase:unit-detail", args=[unit.pk]))
    text = response.text
    for part in ("Семейная", "0,1 % на год", "12 месяцев", "Full payment", "Mortgage"):
        assert part in text
    data = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', text).group(1)
    )
    assert data["@type"] == "Apartment" and data["offers"]["@type"] == "Offer"
    assert data["offers"]["price"] == str(int(unit.price))
    assert 'property="og:title"' in text and 'rel="canonical"' in text
    assert "against" in text  # the subsidised price against the cash price


def _jsonld(text: str) -> dict:
    return json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S).group(1),
        parse_float=Decimal,
    )


@pytest.mark.parametrize("language", ["ru", "en", "zh-hans"])
def test_the_schema_org_floor_size_is_a_number_with_a_dot_in_every_language(
    client, project, unit, language
):
    from kvartal.inventory.models import Unit

    Unit.objects.filter(pk=unit.pk).update(total_area=Decimal("38.40"))
    for path in (reverse("showcase:unit-detail", args=[unit.pk]),) * 2:  # kept, then from cache
        data = _jsonld(client.get(path, HTTP_ACCEPT_LANGUAGE=language).text)
        assert data["floorSize"]["value"] == Decimal("38.40")
        assert data["@type"] == "Apartment"


def test_a_commercial_premise_is_no_apartment_to_search_engines(client, project, unit, manager):
    from kvartal.inventory.models import Unit, UnitKind

    Unit.objects.filter(pk=unit.pk).update(kind=UnitKind.COMMERCIAL, rooms=0)
    data = _jsonld(client.get(reverse("showcase:unit-detail", args=[unit.pk])).text)
    assert data["@type"] == "Accommodation"
    client.force_login(manager)  # the page rendered for staff says the same
    data = _jsonld(client.get(reverse("showcase:unit-detail", args=[unit.pk])).text)
    assert data["@type"] == "Accommodation"


@pytest.mark.parametrize(
    "terms, message",
    [
        ({"rate": "0", "years": "30", "down_payment": "100000"}, "greater than or equal to 0.01"),
        ({"rate": "99", "years": "30", "down_payment": "100000"}, "less than or equal to 60"),
        ({"rate": "10", "years": "0", "down_payment": "100000"}, "greater than or equal to 1"),
        ({"rate": "10", "years": "30", "down_payment": "999999999"}, "less than the price"),
    ],
)
def test_a_calculator_out_of_range_says_why_and_computes_nothing(
    client, project, unit, terms, message
):
    response = client.get(reverse("showcase:unit-detail", args=[unit.pk]), terms)
    assert message in response.text
    assert "Mortgage, equal payments" not in response.text


def test_the_calculators_refusals_name_the_full_payment_block_and_whole_roubles(
    client, project, unit
):
    from html import escape

    from django.utils import translation

    from kvartal.showcase.calculators import DOWN_TOO_HIGH

    url = reverse("showcase:unit-detail", args=[unit.pk])
    for language in ("en", "ru"):
        with translation.override(language):
            title = _("Full payment")
            page = client.get(
                url,
                {"rate": "10", "years": "30", "down_payment": str(int(unit.price) * 2)},
                headers={"accept-language": language},
            ).text
            assert f"<h3>{title}</h3>" in page  # the block the message sends the buyer to
            assert escape(DOWN_TOO_HIGH()) in page and title in DOWN_TOO_HIGH()
    kopecks = {"rate": "10", "years": "30", "down_payment": "100000.50"}
    page = client.get(url, kopecks, headers={"accept-language": "en"}).text
    assert "Enter whole roubles, without kopecks." in page
    assert "digits after the decimal point" not in page
    catalogue = client.get("/", {"price_max": "5000000.5"}, headers={"accept-language": "en"})
    assert "Enter whole roubles, without kopecks." in catalogue.text


def test_the_calculator_follows_the_visitors_terms(client, project, unit):
    from kvartal.core.templatetags.kvartal import money
    from kvartal.showcase.calculators import annuity_payment

    response = client.get(
        reverse("showcase:unit-detail", args=[unit.pk]),
        {"rate": "6", "years": "30", "down_payment": "1000000", "method": "annuity"},
    )
    expected = annuity_payment(unit.price - 1_000_000, Decimal(6), 360)
    assert money(expected) in response.text


def test_the_offer_is_a_pdf(client, project, unit):
    response = client.get(reverse("showcase:unit-offer", args=[unit.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_sitemap_robots_and_the_widget(client, project, unit):
    sitemap = client.get(reverse("showcase:sitemap")).text
    assert f"/units/{unit.pk}/" in sitemap
    assert "Sitemap:" in client.get(reverse("showcase:robots")).text
    embed = client.get(reverse("showcase:embed", args=[project.pk]))
    assert "X-Frame-Options" not in embed
    assert f"/units/{unit.pk}/" in embed.text
    script = client.get(reverse("showcase:embed-script"))
    assert script["Content-Type"].startswith("text/javascript")
    assert "eval(" not in script.text
    # the iframe's address is built from the site's origin, not from the script's own URL
    assert 'var ORIGIN = "http://testserver";' in script.text
    assert 'ORIGIN + "/embed/"' in script.text


def test_the_manager_has_the_same_calculator_and_offer_on_the_unit_card(
    client, project, unit, manager
):
    client.force_login(manager)
    card = client.get(reverse("inventory:unit-detail", args=[unit.pk])).text
    assert reverse("showcase-office:terms", args=[unit.pk]) in card
    page = client.get(
        reverse("showcase-office:terms", args=[unit.pk]),
        {"rate": "6", "years": "20", "down_payment": "500000"},
    )
    assert page.status_code == 200 and "Mortgage, equal payments" in page.text
    pdf = client.get(reverse("showcase-office:offer", args=[unit.pk]))
    assert pdf.content.startswith(b"%PDF")


def test_unit_page_query_count(client, project, unit, django_assert_max_num_queries):
    client.get(reverse("showcase:unit-detail", args=[unit.pk]))  # the visitor exists
    with django_assert_max_num_queries(20):
        client.get(reverse("showcase:unit-detail", args=[unit.pk]))


def test_showcase_pages_have_no_inline_code_and_the_widget_may_be_framed(client, project, unit):
    from kvartal.accounts.tests.test_csp import InlineFinder

    for url in (
        "/",
        reverse("showcase:unit-detail", args=[unit.pk]),
        reverse("showcase:building", args=[unit.building_id]),
        reverse("showcase:embed", args=[project.pk]),
        reverse("showcase:request"),
    ):
        response = client.get(url)
        finder = InlineFinder(None)
        finder.feed(response.text)
        assert not finder.found, (url, finder.found)
    embed = client.get(reverse("showcase:embed", args=[project.pk]))
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/")["Content-Security-Policy"]


def test_the_sitemap_and_canonical_links_use_the_one_public_address(client, unit, settings):
    settings.KVARTAL_PUBLIC_URL = "https://flats.example.ru"
    sitemap = client.get(reverse("showcase:sitemap")).text
    assert f"https://flats.example.ru/units/{unit.pk}/" in sitemap
    page = client.get(reverse("showcase:unit-detail", args=[unit.pk])).text
    assert f'rel="canonical" href="https://flats.example.ru/units/{unit.pk}/"' in page


@pytest.mark.parametrize(
    "query, canonical",
    [
        ("?rooms=1&utm_source=ya&utm_campaign=spring&gclid=1&yclid=2&fbclid=3", "/?rooms=1"),
        ("?utm_source=ya&utm_medium=cpc", "/"),
        ("?rooms=1&rooms=2&price_max=9000000", "/?rooms=1&rooms=2&price_max=9000000"),
    ],
)
def test_the_catalogues_canonical_address_drops_tracking_parameters(
    client, project, query, canonical
):
    page = client.get("/" + query).text
    href = f"http://testserver{canonical}".replace("&", "&amp;")
    assert f'rel="canonical" href="{href}"' in page


def test_a_showcase_that_hides_taken_units_serves_no_page_and_no_sitemap_entry_of_them(
    client, project, units, manager, django_capture_on_commit_callbacks
):
    from kvartal.inventory.models import Unit

    held, sold, free = units[0], units[1], units[2]

    def url(unit):
        return reverse("showcase:unit-detail", args=[unit.pk])

    showcase = ProjectShowcase.objects.get(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        showcase.show_taken = False
        showcase.save()
    assert client.get(url(held)).status_code == 200  # kept while it was on sale
    with django_capture_on_commit_callbacks(execute=True):
        _hold(held, manager)
    Unit.objects.filter(pk=sold.pk).update(status=UnitStatus.SOLD)  # never viewed: not kept
    for unit in (held, sold):
        assert client.get(url(unit)).status_code == 404
        terms = {"rate": "6", "years": "20", "down_payment": "500000"}
        assert client.get(url(unit), terms).status_code == 404
        assert client.get(reverse("showcase:unit-offer", args=[unit.pk])).status_code == 404
    sitemap = client.get(reverse("showcase:sitemap")).text
    assert url(free) in sitemap
    assert url(held) not in sitemap and url(sold) not in sitemap
    with django_capture_on_commit_callbacks(execute=True):
        showcase.show_taken = True
        showcase.save()
    for unit in (held, sold):
        assert client.get(url(unit)).status_code == 200
        assert url(unit) in client.get(reverse("showcase:sitemap")).text


def test_units_of_measure_are_in_the_visitors_language(client, project, unit):
    """The Russian showcase wrote «27 m²» and «Потолки 2,8 m» (Latin letters) where the
    CRM writes «27 м²»."""
    from kvartal.inventory.models import Unit

    Unit.objects.filter(pk=unit.pk).update(ceiling_height=Decimal("2.8"))
    pages = [
        reverse("showcase:unit-detail", args=[unit.pk]),
        reverse("showcase:catalogue"),
    ]
    for url in pages:
        russian = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").text
        assert " м²" in russian and " m²" not in russian, url
    russian = client.get(pages[0], HTTP_ACCEPT_LANGUAGE="ru").text
    assert re.search(r"2,8 м<", russian)
    assert " m²" in client.get(pages[0], HTTP_ACCEPT_LANGUAGE="en").text
