"""The clients pages: who sees which rows, and the flows behind the forms."""

import json
from datetime import timedelta

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Notice, Role, Team
from kvartal.clients import services
from kvartal.clients.models import Channel, Client, Lead, LeadStatus, Task, Visit
from kvartal.core.errors import DomainError
from kvartal.testing import make_section, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_manager():
    return make_user(Role.SALES_MANAGER, username="other")


@pytest.fixture
def theirs(other_manager):
    return services.client_create(
        by=other_manager, last_name="Чужой", first_name="Клиент", phone="+79990000000"
    )


def snapshot(client):
    c = Client.objects.get(pk=client.pk)
    return (
        c.last_name,
        c.phone,
        c.manager_id,
        c.merged_into_id,
        c.erased_at,
        c.consents.count(),
        c.interactions.count(),
        c.tasks.count(),
        c.contacts.count(),
    )


CLIENT_PAGES = [
    ("clients:client-update", {"first_name": "Взлом", "last_name": "X", "phone": "+79990000001"}),
    ("clients:contact-add", {"kind": "phone", "value": "+79990000002"}),
    (
        "clients:consent-create",
        {"given_at": "2026-01-01T10:00", "text_version": "1", "channel": "paper"},
    ),
    ("clients:client-reassign", {"manager": "__me__"}),
    ("clients:client-merge", {"duplicate": "__mine__", "confirm": "on"}),
    ("clients:need-update", {"rooms": ["1"]}),
    ("clients:interaction-create", {"kind": "call", "at": "2026-01-01T10:00", "text": "x"}),
    ("sales:client-detail", None),
]


@pytest.mark.parametrize(("name", "data"), CLIENT_PAGES)
def test_a_manager_gets_404_on_another_managers_client_and_nothing_changes(
    client, manager, theirs, name, data
):
    mine = services.client_create(by=manager, first_name="Мой")
    client.force_login(manager)
    url = reverse(name, args=[theirs.pk])
    before = snapshot(theirs)
    assert client.get(url).status_code == 404
    if data is not None:
        data = {
            k: (manager.pk if v == "__me__" else mine.pk if v == "__mine__" else v)
            for k, v in data.items()
        }
        assert client.post(url, data).status_code == 404
    assert snapshot(theirs) == before


def test_another_managers_company_person_and_consent_pages_are_404(client, manager, other_manager):
    company = services.client_create(by=other_manager, kind="company", company_name="ООО Их")
    consent = services.consent_record(
        client=company, by=other_manager, text_version="1", channel="paper"
    )
    client.force_login(manager)
    person_url = reverse("clients:person-add", args=[company.pk])
    withdraw_url = reverse("clients:consent-withdraw", args=[consent.pk])
    assert client.get(person_url).status_code == 404
    assert client.post(person_url, {"name": "Взлом"}).status_code == 404
    assert client.get(withdraw_url).status_code == 404
    assert client.post(withdraw_url).status_code == 404
    assert company.people.count() == 0
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_a_manager_cannot_merge_another_managers_client_into_theirs(client, manager, theirs):
    mine = services.client_create(by=manager, first_name="Мой")
    client.force_login(manager)
    response = client.post(
        reverse("clients:client-merge", args=[mine.pk]), {"duplicate": theirs.pk, "confirm": "on"}
    )
    assert response.status_code == 400  # not a choice: the other client is not visible
    assert Client.objects.get(pk=theirs.pk).merged_into is None


def test_export_and_erase_of_another_managers_client_are_refused(client, theirs):
    head = make_user(Role.SALES_HEAD)  # may export (their team's rows), may not erase
    client.force_login(head)
    assert client.get(reverse("clients:client-export", args=[theirs.pk])).status_code == 404
    erase = reverse("clients:client-erase", args=[theirs.pk])
    assert client.get(erase).status_code == 403
    assert client.post(erase, {"confirm": "on"}).status_code == 403
    theirs.refresh_from_db()
    assert theirs.erased_at is None and theirs.last_name == "Чужой"
    assert not theirs.events.filter(kind="exported").exists()


def test_a_manager_gets_404_on_another_managers_lead_and_task(client, manager, other_manager):
    lead = services.lead_create(
        by=other_manager,
        channel=Channel.objects.get(code="call"),
        phone="+79990000003",
        manager=other_manager,
    )
    task = services.task_create(
        by=other_manager, title="их", due_at=timezone.now(), assignee=other_manager
    )
    client.force_login(manager)
    for name in ("lead-detail", "lead-status", "lead-assign", "lead-convert"):
        assert client.get(reverse(f"clients:{name}", args=[lead.pk])).status_code == 404
    assert client.post(reverse("clients:lead-convert", args=[lead.pk])).status_code == 404
    assert (
        client.post(
            reverse("clients:lead-status", args=[lead.pk]), {"status": "lost", "reason": "x"}
        ).status_code
        == 404
    )
    assert client.post(reverse("clients:task-done", args=[task.pk])).status_code == 404
    assert (
        client.post(
            reverse("clients:lead-assign", args=[lead.pk]), {"manager": manager.pk}
        ).status_code
        == 404
    )
    lead.refresh_from_db()
    task.refresh_from_db()
    assert lead.status == LeadStatus.NEW and lead.client is None and task.done_at is None
    assert lead.manager == other_manager
    assert lead.pk not in [
        row.pk for row in client.get(reverse("clients:lead-list")).context["page"]
    ]


def test_a_sales_head_sees_the_teams_clients_and_the_director_all(client, manager, theirs):
    head = make_user(Role.SALES_HEAD)
    team = Team.objects.create(name="Север", head=head)
    manager.team = team
    manager.save()
    mine = services.client_create(by=manager, first_name="Командный")
    client.force_login(head)
    assert client.get(reverse("sales:client-detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("sales:client-detail", args=[theirs.pk])).status_code == 404
    client.force_login(make_user(Role.DIRECTOR))
    assert client.get(reverse("sales:client-detail", args=[theirs.pk])).status_code == 200


def test_a_handed_client_is_seen_by_the_new_manager_with_its_history(
    client, manager, theirs, other_manager
):
    head = make_user(Role.SALES_HEAD)
    services.client_reassign(client=theirs, manager=manager, by=head)
    client.force_login(manager)
    response = client.get(reverse("sales:client-detail", args=[theirs.pk]))
    assert response.status_code == 200
    assert other_manager.short_name in response.content.decode()
    client.force_login(other_manager)
    assert client.get(reverse("sales:client-detail", args=[theirs.pk])).status_code == 404


# --- flows --------------------------------------------------------------------------------


def test_creating_a_client_with_an_existing_phone_suggests_the_existing_one(client, manager):
    existing = services.client_create(
        by=manager, last_name="Петрова", first_name="Анна", phone="+79123456789"
    )
    client.force_login(manager)
    url = reverse("clients:client-create")
    data = {
        "kind": "person",
        "last_name": "Петрова",
        "first_name": "Аня",
        "phone": "8 (912) 345-67-89",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert response.context["duplicate"] == existing
    html = response.content.decode()
    assert reverse("sales:client-detail", args=[existing.pk]) in html
    assert "allow_duplicate" in html
    assert Client.objects.count() == 1
    response = client.post(url, {**data, "allow_duplicate": "on"})
    assert response.status_code == 302
    assert Client.objects.count() == 2


def test_the_duplicate_notice_reads_as_a_sentence_and_names_the_box_the_form_has(client, manager):
    """It read "[Use this client] tick “Create anyway” below …" (no "or"), and on the edit
    form the box it named said "create"."""
    services.client_create(by=manager, last_name="Петрова", first_name="Анна", phone="+79123456789")
    other = services.client_create(by=manager, last_name="Иванов", first_name="Олег")
    client.force_login(manager)
    data = {"last_name": "Иванов", "first_name": "Олег", "phone": "+7 912 345-67-89"}

    created = client.post(reverse("clients:client-create"), {**data, "kind": "person"})
    text = " ".join(lxml.html.fromstring(created.content).text_content().split())
    assert "Use this client or tick “Create anyway: it is a different client” below" in text

    edited = client.post(reverse("clients:client-update", args=[other.pk]), data)
    assert edited.status_code == 400
    text = " ".join(lxml.html.fromstring(edited.content).text_content().split())
    assert "or tick “Save anyway: it is a different client” below" in text
    assert "Create anyway" not in text
    assert Client.objects.get(pk=other.pk).phone == ""


def test_a_malformed_phone_on_the_form_is_refused_with_a_message(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("clients:client-create"), {"kind": "person", "first_name": "Анна", "phone": "12-34"}
    )
    assert response.status_code == 400
    assert "not a Russian phone number" in response.content.decode()
    assert Client.objects.count() == 0


def test_the_reception_desk_registers_a_visit_of_a_new_client(client, manager):
    unit = make_section(floors=1, per_floor=2).units.order_by("position").first()
    client.force_login(manager)
    response = client.post(
        reverse("clients:reception"),
        {
            "last_name": "Новиков",
            "first_name": "Олег",
            "phone": "+79001234567",
            "at": "2026-03-10T11:00",
            "received_by": manager.pk,
            "asked_about": "паркинг",
            "units": unit.number,
            "building": unit.building_id,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    visit = Visit.objects.get()
    assert visit.client.last_name == "Новиков" and visit.client.manager == manager
    assert list(visit.units_shown.all()) == [unit]


def test_a_task_made_on_the_page_is_on_my_tasks(client, manager):
    target = services.client_create(by=manager, first_name="Анна")
    client.force_login(manager)
    due = timezone.localtime() + timedelta(hours=1)
    response = client.post(
        reverse("clients:task-create") + f"?client={target.pk}",
        {
            "title": "Отправить планировки",
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "assignee": manager.pk,
            "client": target.pk,
        },
    )
    assert response.status_code == 302
    assert Task.objects.get().client == target
    page = client.get(reverse("clients:my-tasks")).content.decode()
    assert "Отправить планировки" in page


def test_lead_pages_convert_and_lose_with_a_reason(client, manager):
    lead = services.lead_create(
        by=manager,
        channel=Channel.objects.get(code="call"),
        name="Анна",
        phone="+79001112233",
        manager=manager,
    )
    client.force_login(manager)
    status_url = reverse("clients:lead-status", args=[lead.pk])
    assert client.post(status_url, {"status": "lost", "reason": ""}).status_code == 400
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    assert client.post(reverse("clients:lead-convert", args=[lead.pk])).status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.client.first_name == "Анна"
    detail = client.get(reverse("clients:lead-detail", args=[lead.pk]))
    assert detail.status_code == 200


def test_the_csv_import_page_reports_and_saves_all_or_nothing(client, manager):
    client.force_login(manager)
    channel = Channel.objects.get(code="avito")
    bad = SimpleUploadedFile("l.csv", "name,phone\nА,+79001112233\nБ,12\n".encode())
    response = client.post(reverse("clients:lead-import"), {"file": bad, "channel": channel.pk})
    assert response.status_code == 400 and "Line 3" in response.content.decode()
    assert Lead.objects.count() == 0
    good = SimpleUploadedFile("l.csv", "name,phone\nА,+79001112233\nБ,+79001112244\n".encode())
    response = client.post(reverse("clients:lead-import"), {"file": good, "channel": channel.pk})
    assert response.status_code == 200
    assert Lead.objects.filter(channel=channel).count() == 2


def test_export_page_gives_json_and_erase_page_erases(client, admin_user):
    target = services.client_create(
        by=admin_user, first_name="Анна", phone="+79001112233", passport_number="4510 123456"
    )
    client.force_login(admin_user)
    response = client.get(reverse("clients:client-export", args=[target.pk]))
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["client"]["passport_number"] == "4510 123456"
    url = reverse("clients:client-erase", args=[target.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {}).status_code == 400  # not confirmed: nothing happens
    assert Client.objects.get(pk=target.pk).erased_at is None
    assert client.post(url, {"confirm": "on"}).status_code == 302
    assert Client.objects.get(pk=target.pk).first_name == ""


def test_passport_is_masked_for_a_director(client, manager):
    secrets = {
        "passport_number": "4510 123456",
        "passport_issued_by": "ОВД Тверской",
        "passport_issued_on": "01.02.2020",
        "passport_code": "770-123",
        "registration_address": "ул. Садовая, 5",
    }
    target = services.client_create(by=manager, first_name="Анна", **secrets)
    url = reverse("sales:client-detail", args=[target.pk])
    client.force_login(make_user(Role.DIRECTOR))
    page = client.get(url).content.decode()
    assert "••••56" in page
    for value in secrets.values():
        assert value not in page
    client.force_login(manager)
    page = client.get(url).content.decode()
    for value in secrets.values():
        assert value in page


# --- another manager's client: no name, no link ------------------------------------------


def test_a_duplicate_of_another_managers_client_shows_only_their_manager(
    client, manager, theirs, other_manager
):
    client.force_login(manager)
    response = client.post(
        reverse("clients:client-create"),
        {"kind": "person", "last_name": "Новый", "first_name": "Иван", "phone": "+79990000000"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Чужой" not in html and "Клиент" not in html
    assert reverse("sales:client-detail", args=[theirs.pk]) not in html
    assert other_manager.short_name in html
    mine = services.client_create(by=manager, first_name="Мой")
    response = client.post(
        reverse("clients:client-update", args=[mine.pk]),
        {"first_name": "Мой", "phone": "+7 999 000-00-00"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Чужой" not in html and other_manager.short_name in html
    assert Client.objects.get(pk=mine.pk).phone == ""


def test_a_lead_of_another_managers_client_is_not_linked_silently(
    client, manager, theirs, other_manager
):
    lead = services.lead_create(
        by=manager,
        channel=Channel.objects.get(code="call"),
        name="Звонок",
        phone="+79990000000",
        manager=other_manager,
    )
    assert lead.client == theirs
    services.lead_assign(lead=lead, manager=manager, by=make_user(Role.SALES_HEAD))
    client.force_login(manager)
    url = reverse("clients:lead-convert", args=[lead.pk])
    page = client.get(url).content.decode()
    assert "Чужой" not in page and other_manager.short_name in page
    detail = client.get(reverse("clients:lead-detail", args=[lead.pk])).content.decode()
    assert "Чужой" not in detail
    response = client.post(url, follow=True)
    assert other_manager.short_name in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    # one who sees every row (rows.all) links it
    services.lead_convert(lead=lead, by=make_user(Role.ADMIN))
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.client == theirs


def test_a_found_unlinked_client_of_another_manager_is_refused_too(manager, theirs):
    lead = services.lead_create(
        by=manager, channel=Channel.objects.get(code="call"), email="x@example.ru", manager=manager
    )
    Lead.objects.filter(pk=lead.pk).update(phone_normalized="+79990000000")
    with pytest.raises(DomainError):
        services.lead_convert(lead=lead, by=manager)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW and lead.client is None
    assert Client.objects.count() == 1


def test_reception_registers_a_walk_in_of_another_managers_client(
    client, manager, theirs, other_manager
):
    client.force_login(manager)
    response = client.post(
        reverse("clients:reception"),
        {
            "last_name": "Чужой",
            "first_name": "Клиент",
            "phone": "8 999 000-00-00",
            "at": "2026-03-10T11:00",
            "received_by": manager.pk,
        },
        follow=True,
    )
    assert response.status_code == 200
    visit = Visit.objects.get()
    assert visit.client == theirs and visit.received_by == manager
    assert Client.objects.count() == 1  # no duplicate made
    html = response.content.decode()
    assert "Чужой" not in html and other_manager.short_name in html
    assert Notice.objects.filter(user=other_manager, url__contains=str(theirs.pk)).exists()


# --- small flows --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "foo", ""])
def test_task_done_goes_back_only_within_the_site(client, manager, target):
    task = services.task_create(by=manager, title="x", due_at=timezone.now(), assignee=manager)
    client.force_login(manager)
    response = client.post(reverse("clients:task-done", args=[task.pk]), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:my-tasks")
    task.refresh_from_db()
    assert task.done_at is not None


def test_task_done_returns_to_a_page_of_the_site(client, manager):
    task = services.task_create(by=manager, title="x", due_at=timezone.now(), assignee=manager)
    client.force_login(manager)
    back = reverse("clients:lead-list") + "?status=open"
    response = client.post(reverse("clients:task-done", args=[task.pk]), {"next": back})
    assert response["Location"] == back


def test_a_csv_with_a_huge_field_or_a_long_email_is_reported_not_a_500(client, manager):
    client.force_login(manager)
    channel = Channel.objects.get(code="avito")
    huge = "x" * 200_000
    upload = SimpleUploadedFile("l.csv", f'name,phone,message\nА,+79001112233,"{huge}"\n'.encode())
    response = client.post(reverse("clients:lead-import"), {"file": upload, "channel": channel.pk})
    assert response.status_code == 400
    assert "Cannot read this line" in response.content.decode()
    long_email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".ru"
    assert 255 <= len(long_email) <= 320
    upload = SimpleUploadedFile("l.csv", f"name,email\nА,ok@example.ru\nБ,{long_email}\n".encode())
    response = client.post(reverse("clients:lead-import"), {"file": upload, "channel": channel.pk})
    assert response.status_code == 400
    assert "Line 3" in response.content.decode()
    assert Lead.objects.count() == 0


def test_a_converted_lead_without_a_unit_offers_the_card_and_the_catalogue(client, manager):
    lead = services.lead_create(
        by=manager, channel=Channel.objects.get(code="call"), name="Анна", phone="+79001112233"
    )
    client.force_login(manager)
    client.post(reverse("clients:lead-convert", args=[lead.pk]))
    lead.refresh_from_db()
    html = client.get(reverse("clients:lead-detail", args=[lead.pk])).content.decode()
    assert f'href="{reverse("sales:client-detail", args=[lead.client_id])}"' in html
    assert reverse("inventory:unit-list") + f"?client={lead.client_id}" in html


def test_a_converted_lead_with_a_unit_offers_hold_and_deal_for_the_client(client, manager):
    unit = make_section(floors=1, per_floor=1).units.get()
    lead = services.lead_create(
        by=manager,
        channel=Channel.objects.get(code="call"),
        name="Анна",
        phone="+79001112233",
        unit=unit,
    )
    services.lead_convert(lead=lead, by=manager)
    lead.refresh_from_db()
    client.force_login(manager)
    html = client.get(reverse("clients:lead-detail", args=[lead.pk])).content.decode()
    assert reverse("sales:hold-create", args=[unit.pk]) + f"?client={lead.client_id}" in html
    assert f"?unit={unit.pk}&amp;client={lead.client_id}" in html


def test_an_erased_client_takes_no_interaction_on_the_page(client, admin_user):
    target = services.client_create(by=admin_user, first_name="Анна")
    services.client_erase(client=target, by=admin_user)
    client.force_login(admin_user)
    response = client.post(
        reverse("clients:interaction-create", args=[target.pk]),
        {"kind": "call", "at": "2026-01-01T10:00", "text": "x"},
    )
    assert response.status_code == 409  # a rule refused it (400: bad input)
    assert target.interactions.count() == 0


def test_the_leads_list_opens_on_the_leads_still_to_work_on(client, manager):
    """Most leads end converted or lost: the list opens on the rest, and "all" (or a status)
    shows the others; with nothing open it says so and links to all of them."""
    call = Channel.objects.get(code="call")

    def lead(name, phone):
        return services.lead_create(by=manager, channel=call, name=name, phone=phone)

    fresh, working, lost = (
        lead("Новый", "+79001110001"),
        lead("В работе", "+79001110002"),
        lead("Потерянный", "+79001110003"),
    )
    services.lead_set_status(lead=working, status=LeadStatus.IN_WORK, by=manager)
    services.lead_set_status(lead=lost, status=LeadStatus.LOST, by=manager, reason="Дорого")
    converted = lead("Купивший", "+79001110004")
    services.lead_convert(lead=converted, by=manager)
    client.force_login(manager)
    url = reverse("clients:lead-list")

    def listed(query=""):
        response = client.get(url + query)
        return {row.pk for row in response.context["page"]}, response.content.decode()

    assert listed()[0] == {fresh.pk, working.pk}
    assert listed("?status=all")[0] == {fresh.pk, working.pk, lost.pk, converted.pk}
    assert listed("?status=lost")[0] == {lost.pk}
    services.lead_set_status(lead=fresh, status=LeadStatus.LOST, by=manager, reason="Дорого")
    services.lead_set_status(lead=working, status=LeadStatus.LOST, by=manager, reason="Дорого")
    rows, page = listed()
    assert not rows and 'href="?status=all"' in page
