"""Favourites, comparison, history and saved searches by an anonymous cookie id; requests
with consent and spam protection; the footprint on the client card."""

import time

import pytest
from django.urls import reverse

from kvartal.clients.models import Lead
from kvartal.clients.services import lead_convert
from kvartal.showcase.models import (
    Compared,
    Favourite,
    SavedSearch,
    Viewed,
    Visitor,
    VisitorRequest,
)
from kvartal.showcase.visitors import COOKIE, form_stamp

pytestmark = pytest.mark.django_db


def _favourite(client, unit_id):
    return client.post(reverse("showcase:favourite-toggle", args=[unit_id]), {"next": "/"})


def test_a_visitor_gets_a_first_party_cookie_and_keeps_favourites_on_the_server(
    client, project, units
):
    _favourite(client, units[0].pk)
    _favourite(client, units[1].pk)
    visitor = Visitor.objects.get()
    assert client.cookies[COOKIE].value == visitor.token
    assert client.cookies[COOKIE]["httponly"] and client.cookies[COOKIE]["samesite"] == "Lax"
    assert set(Favourite.objects.values_list("unit_id", flat=True)) == {units[0].pk, units[1].pk}
    page = client.get(reverse("showcase:favourites")).text
    assert f"/units/{units[0].pk}/" in page
    _favourite(client, units[0].pk)  # again: out of the favourites
    assert list(Favourite.objects.values_list("unit_id", flat=True)) == [units[1].pk]


def test_a_forged_favourite_id_is_refused_and_changes_nothing(client, project, units):
    _favourite(client, units[0].pk)
    before = list(Favourite.objects.values_list("visitor_id", "unit_id"))
    response = _favourite(client, 999_999)
    assert response.status_code == 400
    assert "There is no such unit on the showcase." in response.text
    assert list(Favourite.objects.values_list("visitor_id", "unit_id")) == before


def test_a_forged_cookie_is_never_adopted(client, project, units):
    client.cookies[COOKIE] = "forged-forged-forged-forged"
    _favourite(client, units[0].pk)
    visitor = Visitor.objects.get()
    assert visitor.token != "forged-forged-forged-forged"
    assert client.cookies[COOKIE].value == visitor.token


@pytest.mark.parametrize("token", ["short", "a" * 65, "a" * 20 + "\n", "a" * 20 + "%"])
def test_a_malformed_cookie_names_no_visitor(rf, token):
    from kvartal.showcase.visitors import cookie_token

    request = rf.get("/")
    request.COOKIES[COOKIE] = token
    assert cookie_token(request) is None
    request.COOKIES[COOKIE] = token.strip("\n%")[:64].ljust(16, "a")
    assert cookie_token(request) == request.COOKIES[COOKIE]


def test_comparison_takes_four_units_and_refuses_a_fifth(client, project, units):
    for unit in units[:4]:
        client.post(reverse("showcase:compare-toggle", args=[unit.pk]))
    response = client.post(reverse("showcase:compare-toggle", args=[units[4].pk]))
    assert response.status_code == 400
    assert "Up to 4 units can be compared" in response.text
    assert set(Compared.objects.values_list("unit_id", flat=True)) == {u.pk for u in units[:4]}
    page = client.get(reverse("showcase:compare")).text
    assert all(f"/units/{u.pk}/" in page for u in units[:4])


def test_views_are_counted_and_searches_saved_and_a_selection_shared(client, project, units):
    for _ in range(3):
        client.get(reverse("showcase:unit-detail", args=[units[2].pk]))
    assert Viewed.objects.get(unit=units[2]).count == 3
    client.post(reverse("showcase:search-save"), {"query": "rooms=1&price_max=9000000"})
    search = SavedSearch.objects.get()
    assert "Rooms: 1" in search.title
    history = client.get(reverse("showcase:history")).text
    assert "3 views" in history and search.title in history
    _favourite(client, units[3].pk)
    visitor = Visitor.objects.get()
    shared = client.get(reverse("showcase:shared", args=[visitor.share_token]))
    assert f"/units/{units[3].pk}/" in shared.text
    assert visitor.token not in client.get(reverse("showcase:favourites")).text


def _request(client, stamp, **fields):
    data = {
        "kind": "callback",
        "name": "Пётр Покупателев",
        "phone": "+7 912 345-67-89",
        "consent": "on",
        "website": "",
        "started": stamp,
        "utm_source": "yandex",
    }
    data.update(fields)
    return client.post(reverse("showcase:request"), data)


def test_a_request_creates_a_lead_through_the_lead_service_with_consent_and_footprint(
    client, project, units, stamp, on_duty
):
    client.get(reverse("showcase:unit-detail", args=[units[1].pk]))
    _favourite(client, units[1].pk)
    response = _request(client, stamp, unit=str(units[1].pk))
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert lead.channel.code == "site" and lead.manager == on_duty
    assert lead.unit == units[1] and lead.utm_source == "yandex"
    assert units[1].code in lead.message
    request = VisitorRequest.objects.get()
    assert request.consent_version and len(request.consent_sha256) == 64
    assert request.visitor == Visitor.objects.get()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"consent": ""}, "Without your consent we cannot take the request."),
        ({"phone": "12345"}, "is not a Russian phone number"),
        ({"website": "http://spam.example"}, "could not be sent"),
        ({"started": "forged"}, "The form is out of date"),
    ],
)
def test_a_bad_request_says_why_and_creates_nothing(
    client, project, stamp, on_duty, fields, message
):
    response = _request(client, stamp, **fields)
    assert response.status_code == 400
    assert message in response.text
    assert not Lead.objects.exists() and not VisitorRequest.objects.exists()


def test_a_request_sent_faster_than_a_person_types_is_refused(client, project, on_duty):
    response = _request(client, form_stamp(time.time()))
    assert "too fast" in response.text
    assert not Lead.objects.exists()


def test_requests_are_rate_limited_per_address(client, project, stamp, on_duty, settings):
    settings.SHOWCASE_REQUEST_RATE = 2
    for n in range(2):
        assert _request(client, stamp, phone=f"+7912000000{n}").status_code == 302
    response = _request(client, stamp, phone="+79120000009")
    assert "Too many requests" in response.text
    assert Lead.objects.count() == 2


def test_the_manager_finds_the_footprint_on_the_client_card(client, project, units, stamp, on_duty):
    for _ in range(4):
        client.get(reverse("showcase:unit-detail", args=[units[2].pk]))
    _favourite(client, units[2].pk)
    _favourite(client, units[3].pk)
    client.post(reverse("showcase:compare-toggle", args=[units[3].pk]))
    _request(client, stamp)
    lead = Lead.objects.get()
    buyer = lead_convert(lead=lead, by=on_duty)
    client.force_login(on_duty)
    card = client.get(reverse("sales:client-detail", args=[buyer.pk])).text
    assert "On the showcase" in card
    assert units[2].code in card and "4 times" in card
    assert "Saved 2 units" in card and "Compared" in card


@pytest.mark.parametrize("landing", ["catalogue", "unit"])
def test_the_first_touch_utm_tags_reach_a_request_sent_later_from_the_unit_page(
    client, project, units, stamp, on_duty, landing
):
    first = {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "spring"}
    unit_url = reverse("showcase:unit-detail", args=[units[1].pk])
    client.get(reverse("showcase:catalogue") if landing == "catalogue" else unit_url, first)
    assert Visitor.objects.get().utm == first
    client.get(reverse("showcase:catalogue"), {"utm_source": "vk", "utm_campaign": "later"})
    assert Visitor.objects.get().utm == first  # the first touch stays
    client.get(unit_url)
    response = _request(client, stamp, kind="question", unit=str(units[1].pk), utm_source="")
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("yandex", "cpc", "spring")


def test_a_request_with_its_own_utm_tags_keeps_them(client, project, stamp, on_duty):
    client.get(reverse("showcase:catalogue"), {"utm_source": "yandex", "utm_term": "flat"})
    _request(client, stamp, utm_source="vk")
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_term) == ("vk", "")
