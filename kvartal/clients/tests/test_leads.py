import json
import threading

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from kvartal.accounts.models import Notice, Role
from kvartal.clients import services
from kvartal.clients.models import Channel, Client, Lead, LeadSource, LeadStatus
from kvartal.core.errors import DomainError
from kvartal.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def call():
    return Channel.objects.get(code="call")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_ten_channels_are_shipped():
    assert set(Channel.objects.values_list("code", flat=True)) == {
        "site",
        "call",
        "walk_in",
        "agency",
        "yandex",
        "avito",
        "cian",
        "domclick",
        "referral",
        "other",
    }


# --- round robin ----------------------------------------------------------------------------


def test_round_robin_goes_around_the_managers_on_duty(call):
    a, b, c = (make_user(Role.SALES_MANAGER) for _ in range(3))
    make_user(Role.SALES_MANAGER, on_duty=False)
    make_user(Role.SALES_HEAD)
    got = [
        services.lead_create(by=None, channel=call, phone=f"+7912000000{i}").manager
        for i in range(5)
    ]
    assert got == [a, b, c, a, b]


def test_a_repeat_request_does_not_go_to_a_manager_who_left(call, manager):
    gone = make_user(Role.SALES_MANAGER, on_duty=False)
    client = services.client_create(by=gone, first_name="Анна", phone="+79120000001")
    earlier = services.lead_create(by=None, channel=call, phone="+79120000002", manager=gone)
    gone.is_active = False
    gone.save()
    known = services.lead_create(by=None, channel=call, phone="+79120000001")
    repeat = services.lead_create(by=None, channel=call, phone="+79120000002")
    chosen = services.lead_create(by=None, channel=call, phone="+79120000002", manager=manager)
    assert known.client == client and known.is_repeat and known.manager == manager
    assert repeat.is_repeat and repeat.manager == manager  # the one on duty
    assert chosen.manager == manager
    assert earlier.manager == gone
    assert Notice.objects.filter(user=gone).count() == 1  # the lead before they left


def test_with_nobody_on_duty_the_lead_waits_unassigned(call):
    lead = services.lead_create(by=None, channel=call, phone="+79120000000")
    assert lead.manager is None


def test_a_chosen_manager_gets_the_lead_and_a_notice(call, manager):
    head = make_user(Role.SALES_HEAD)
    lead = services.lead_create(by=head, channel=call, phone="+79120000000", manager=manager)
    assert lead.manager == manager
    assert Notice.objects.filter(user=manager).count() == 1


# --- repeat requests ------------------------------------------------------------------------


def test_a_repeat_request_from_a_known_phone_attaches_to_the_client_and_its_manager(call, manager):
    make_user(Role.SALES_MANAGER)  # on duty, but must not get it
    client = services.client_create(by=manager, first_name="Анна", phone="+79123456789")
    lead = services.lead_create(by=None, channel=call, phone="8 912 345-67-89", name="Аня")
    assert lead.client == client and lead.manager == manager and lead.is_repeat
    assert Client.objects.count() == 1


def test_a_repeat_request_of_an_earlier_lead_goes_to_the_same_manager(call):
    a, _b = make_user(Role.SALES_MANAGER), make_user(Role.SALES_MANAGER)
    first = services.lead_create(by=None, channel=call, email="x@y.ru")
    again = services.lead_create(by=None, channel=call, email="X@Y.ru")
    assert first.manager == again.manager == a and again.is_repeat


def test_a_lead_needs_a_phone_or_an_email_and_refuses_bad_ones(call):
    with pytest.raises(ValidationError):
        services.lead_create(by=None, channel=call, name="Без контактов")
    with pytest.raises(ValidationError):
        services.lead_create(by=None, channel=call, phone="123")
    assert Lead.objects.count() == 0


# --- statuses and conversion ------------------------------------------------------------


def test_lost_needs_a_reason(call, manager):
    lead = services.lead_create(by=manager, channel=call, phone="+79120000000", manager=manager)
    with pytest.raises(ValidationError):
        services.lead_set_status(lead=lead, status=LeadStatus.LOST, by=manager, reason=" ")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    services.lead_set_status(lead=lead, status=LeadStatus.LOST, by=manager, reason="дорого")
    lead.refresh_from_db()
    assert (lead.status, lead.lost_reason) == (LeadStatus.LOST, "дорого")
    assert lead.events.filter(kind="status", new="lost", reason="дорого").exists()


def test_statuses_follow_the_table(call, manager):
    lead = services.lead_create(by=manager, channel=call, phone="+79120000000", manager=manager)
    services.lead_set_status(lead=lead, status=LeadStatus.IN_WORK, by=manager)
    services.lead_set_status(lead=lead, status=LeadStatus.QUALIFIED, by=manager)
    with pytest.raises(DomainError):
        services.lead_set_status(lead=lead, status=LeadStatus.NEW, by=manager)
    with pytest.raises(DomainError):
        services.lead_set_status(lead=lead, status=LeadStatus.CONVERTED, by=manager)


def test_conversion_creates_a_client_owned_by_the_leads_manager(call, manager):
    lead = services.lead_create(
        by=None,
        channel=call,
        name="Петров Иван",
        phone="+79120000000",
        email="ivan@p.ru",
        manager=manager,
    )
    client = services.lead_convert(lead=lead, by=manager)
    assert (client.last_name, client.first_name) == ("Петров", "Иван")
    assert client.phone_normalized == "+79120000000" and client.manager == manager
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.client == client
    with pytest.raises(DomainError):
        services.lead_convert(lead=lead, by=manager)


def test_conversion_links_an_existing_client_instead_of_a_duplicate(call, manager):
    lead = services.lead_create(by=None, channel=call, phone="+79120000000", manager=manager)
    client = services.client_create(by=manager, first_name="Уже", phone="+79120000000")
    assert services.lead_convert(lead=lead, by=manager) == client
    assert Client.objects.count() == 1


# --- CSV import ---------------------------------------------------------------------------


def test_csv_import_creates_leads_and_attaches_repeats(call, manager):
    services.client_create(by=manager, first_name="Known", phone="+79123456789")
    text = (
        "name;phone;email;message;channel;utm_source\n"
        "Анна;8 912 345-67-89;;;avito;\n"
        "Борис;+7 900 111-22-33;b@b.ru;хочу 2к;;yandex\n"
        ";;c@c.ru;;;\n"
    )
    report = services.leads_import_csv(text=text, by=manager, channel=call)
    assert report.errors == []
    assert (report.rows, report.created, report.attached) == (3, 2, 1)
    boris = Lead.objects.get(name="Борис")
    assert boris.channel == call and boris.utm_source == "yandex"
    assert Lead.objects.get(name="Анна").channel.code == "avito"


def test_csv_import_with_a_bad_row_saves_nothing_and_names_the_lines(call, manager):
    text = "name,phone,email\nАнна,+79120000000,\nБорис,12,\nВера,,\nГлеб,,bad@\n"
    report = services.leads_import_csv(text=text, by=manager, channel=call)
    assert [line for line, _ in report.errors] == [3, 4, 5]
    assert Lead.objects.count() == 0


def test_csv_without_a_header_is_refused(call, manager):
    report = services.leads_import_csv(text="Анна,+79120000000\n", by=manager, channel=call)
    assert report.errors and Lead.objects.count() == 0


# --- the HTTP endpoint ----------------------------------------------------------------------

URL = "/api/v1/leads"


@pytest.fixture
def site():
    return LeadSource.objects.create(name="Сайт ЖК", channel=Channel.objects.get(code="site"))


def post(client, body, key, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data, content_type="application/json", HTTP_X_API_KEY=key, **extra)


def test_a_site_form_lead_is_created_with_utm(client, site):
    manager = make_user(Role.SALES_MANAGER)
    response = post(
        client,
        {
            "name": "Анна",
            "phone": "8 912 345-67-89",
            "message": "2к",
            "utm_source": "yandex",
            "utm_campaign": "spring",
        },
        site.key,
    )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.phone_normalized == "+79123456789" and lead.source == site
    assert lead.channel.code == "site" and lead.utm_campaign == "spring"
    assert lead.manager == manager and response.json()["repeat"] is False


def test_a_repeat_from_the_site_attaches_to_the_known_client(client, site, manager):
    known = services.client_create(by=manager, first_name="Анна", email="anna@mail.ru")
    make_user(Role.SALES_MANAGER)
    response = post(client, {"name": "Анна", "email": "ANNA@mail.ru"}, site.key)
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.client == known and lead.manager == manager and response.json()["repeat"]
    assert Client.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "+79120000000"}, "name"),
        ({"name": "Анна"}, "body"),
        ({"name": "Анна", "phone": "12"}, "phone"),
        ({"name": "Анна", "email": "nope@"}, "email"),
        ({"name": "Анна", "phone": "+79120000000", "unit": 999999}, "unit"),
        ({"name": "x" * 201, "phone": "+79120000000"}, "name"),
    ],
)
def test_missing_or_invalid_fields_are_a_readable_400_and_nothing_is_saved(
    client, site, body, field
):
    response = post(client, body, site.key)
    assert response.status_code == 400
    payload = response.json()
    assert payload["detail"] and field in payload["errors"], payload
    assert Lead.objects.count() == 0


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "", b"\xff\xfe"])
def test_malformed_json_is_a_400(client, site, body):
    response = post(client, body, site.key)
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert Lead.objects.count() == 0


def test_a_body_over_the_limit_is_a_413(client, site, settings):
    settings.LEAD_API_MAX_BODY = 1024
    response = post(
        client, {"name": "Анна", "phone": "+79120000000", "message": "я" * 2000}, site.key
    )
    assert response.status_code == 413
    assert Lead.objects.count() == 0


def test_without_a_valid_key_it_is_a_401(client, site):
    assert post(client, {"name": "A", "phone": "+79120000000"}, "wrong").status_code == 401
    site.is_active = False
    site.save()
    assert post(client, {"name": "A", "phone": "+79120000000"}, site.key).status_code == 401
    assert Lead.objects.count() == 0


def test_requests_per_address_are_limited(client, site, settings):
    settings.LEAD_API_RATE = 3
    codes = [
        post(client, {"name": "A", "phone": f"+7912000000{i}"}, site.key).status_code
        for i in range(5)
    ]
    assert codes == [201, 201, 201, 429, 429]
    assert Lead.objects.count() == 3
    other = post(client, {"name": "B", "phone": "+79129999999"}, site.key, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 201


def test_the_openapi_schema_documents_the_endpoint(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/leads" in schema["paths"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_leads_go_to_different_managers():
    # PostgreSQL: the pointer row's lock; SQLite (a file, transaction_mode IMMEDIATE): the
    # database's write lock taken when the transaction begins. Both must give two managers.
    call = Channel.objects.get(code="call")
    a, b = make_user(Role.SALES_MANAGER), make_user(Role.SALES_MANAGER)
    barrier = threading.Barrier(2)
    got = []

    def take(i):
        from django.db import connection as conn

        barrier.wait()
        got.append(services.lead_create(by=None, channel=call, phone=f"+7912000000{i}").manager)
        conn.close()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(u.pk for u in got) == sorted([a.pk, b.pk])
