import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from kvartal.accounts.models import Notice, Role
from kvartal.clients import services
from kvartal.clients.models import (
    Client,
    ClientContact,
    ClientEvent,
    ClientEventKind,
    ClientMerge,
    Interaction,
    Need,
    Task,
    Visit,
)
from kvartal.core.errors import DomainError
from kvartal.sales.models import DealBuyer, Hold
from kvartal.testing import make_user

from .factories import make_deal, make_hold, units

pytestmark = pytest.mark.django_db


def person(by, **fields):
    fields.setdefault("last_name", "Петрова")
    fields.setdefault("first_name", "Анна")
    return services.client_create(by=by, **fields)


# --- normalisation and duplicates -------------------------------------------------------


def test_create_normalises_phone_and_email(manager):
    client = person(manager, phone="8 (912) 345-67-89", email=" Anna@Mail.RU ")
    assert client.phone_normalized == "+79123456789"
    assert client.phone == "+7 912 345-67-89"
    assert client.email == client.email_normalized == "anna@mail.ru"
    assert client.manager == manager
    assert ClientEvent.objects.filter(client=client, kind=ClientEventKind.CREATED).exists()


def test_a_malformed_phone_or_email_is_refused_and_nothing_saved(manager):
    with pytest.raises(ValidationError) as error:
        person(manager, phone="12-34", email="not-an-email")
    assert set(error.value.message_dict) == {"phone", "email"}
    assert Client.objects.count() == 0


def test_an_existing_phone_in_another_spelling_offers_the_existing_client(manager):
    first = person(manager, phone="+7 912 345-67-89")
    with pytest.raises(services.DuplicateClient) as error:
        person(make_user(), last_name="Другой", phone="89123456789")
    assert error.value.client == first
    assert error.value.field == "phone"
    assert Client.objects.count() == 1


def test_an_existing_email_or_further_contact_is_a_duplicate_too(manager):
    first = person(manager, email="anna@mail.ru")
    services.contact_add(client=first, by=manager, kind="phone", value="8 900 111-22-33")
    with pytest.raises(services.DuplicateClient) as error:
        person(manager, email="ANNA@mail.ru")
    assert error.value.client == first
    with pytest.raises(services.DuplicateClient):
        person(manager, phone="+79001112233")


def test_create_anyway_makes_a_second_client(manager):
    person(manager, phone="+79123456789")
    second = person(manager, phone="+79123456789", allow_duplicate=True)
    assert Client.objects.filter(phone_normalized="+79123456789").count() == 2
    assert second.pk


def test_update_checks_duplicates_but_not_against_itself(manager):
    a = person(manager, phone="+79123456789")
    b = person(manager, last_name="Иванов", phone="+79120000000")
    services.client_update(client=a, by=manager, phone="8 912 345 67 89", first_name="Аня")
    with pytest.raises(services.DuplicateClient):
        services.client_update(client=b, by=manager, phone="+79123456789")
    b.refresh_from_db()
    assert b.phone_normalized == "+79120000000"


# --- merge --------------------------------------------------------------------------------


def test_merge_moves_deals_holds_leads_visits_interactions_tasks_and_records_it(manager):
    from kvartal.clients.models import Channel

    target = person(manager, phone="+79123456789")
    source = person(
        manager, last_name="Петрова ", phone="+79120000001", email="a@b.ru", allow_duplicate=True
    )
    u = units(3)
    deal = make_deal(unit=u[0], buyers=[source], manager=manager)
    hold = make_hold(unit=u[1], client=source, manager=manager)
    services.visit_register(by=manager, client=source, received_by=manager)
    services.interaction_add(client=source, by=manager, kind="call", text="звонила")
    task = services.task_create(
        by=manager, title="перезвонить", due_at=hold.expires_at, assignee=manager, client=source
    )
    lead = services.lead_create(
        by=manager, channel=Channel.objects.get(code="call"), phone="+79120000001", manager=manager
    )
    assert lead.client == source

    merge = services.client_merge(source=source, target=target, by=manager)

    assert DealBuyer.objects.get(deal=deal).client == target
    assert Hold.objects.get(pk=hold.pk).client == target
    assert Visit.objects.get().client == target
    assert Interaction.objects.get().client == target
    assert Task.objects.get(pk=task.pk).client == target
    lead.refresh_from_db()
    assert lead.client == target
    source.refresh_from_db()
    assert source.merged_into == target
    assert merge.moved["deals"] == 1 and merge.moved["holds"] == 1 and merge.moved["tasks"] == 1
    # the duplicate's phone and e-mail became further contacts of the kept client
    assert set(
        ClientContact.objects.filter(client=target).values_list("normalized", flat=True)
    ) == {"+79120000001", "a@b.ru"}
    assert ClientMerge.objects.count() == 1
    assert ClientEvent.objects.filter(client=target, kind=ClientEventKind.MERGED).exists()
    # the merged-away record no longer shows nor matches as a duplicate
    assert source not in Client.objects.for_user(manager)
    assert list(services.find_duplicates(phone="+79120000001")) == [target]


def test_merge_is_refused_when_both_are_buyers_on_one_deal_and_nothing_moves(manager):
    target = person(manager, phone="+79123456789")
    source = person(manager, last_name="Муж", phone="+79120000001")
    u = units(2)
    make_deal(unit=u[0], buyers=[target, source], manager=manager, shares=[(1, 2), (1, 2)])
    hold = make_hold(unit=u[1], client=source, manager=manager)
    with pytest.raises(DomainError):
        services.client_merge(source=source, target=target, by=manager)
    source.refresh_from_db()
    assert source.merged_into is None
    assert Hold.objects.get(pk=hold.pk).client == source
    assert ClientMerge.objects.count() == 0


def test_a_client_cannot_be_merged_with_itself(manager):
    a = person(manager)
    with pytest.raises(DomainError):
        services.client_merge(source=a, target=a, by=manager)


# --- consent, export, erasure, encryption -------------------------------------------------


def test_consent_is_recorded_and_withdrawn_with_history(manager):
    client = person(manager)
    consent = services.consent_record(
        client=client, by=manager, text_version="2025-09", channel="paper"
    )
    assert consent.is_active and consent.text_version == "2025-09"
    services.consent_withdraw(consent=consent, by=manager)
    consent.refresh_from_db()
    assert not consent.is_active
    with pytest.raises(DomainError):
        services.consent_withdraw(consent=consent, by=manager)
    kinds = list(client.events.values_list("kind", flat=True))
    assert kinds == ["created", "consent", "consent_withdrawn"]


def test_export_holds_everything_and_is_logged(manager):
    client = person(
        manager,
        phone="+79123456789",
        passport_number="4510 123456",
        passport_issued_by="ОВД Тверской",
    )
    services.consent_record(client=client, by=manager, text_version="1.0", channel="site")
    services.interaction_add(client=client, by=manager, kind="note", text="любит вид на парк")
    u = units(1)
    deal = make_deal(unit=u[0], buyers=[client], manager=manager, price="7000000")
    data = services.client_export(client=client, by=manager)
    assert data["client"]["passport_number"] == "4510 123456"
    assert data["client"]["phone"] == "+7 912 345-67-89"
    assert data["consents"][0]["text_version"] == "1.0"
    assert data["interactions"][0]["text"] == "любит вид на парк"
    assert data["deals"] == [
        {
            "number": deal.number,
            "unit": u[0].code,
            "stage": "preparation",
            "price": "7000000.00",
            "share": "1/1",
            "signed_on": None,
        }
    ]
    assert client.events.filter(kind=ClientEventKind.EXPORTED, actor=manager).exists()


def test_export_says_which_tasks_are_all_day(manager):
    """An all-day task is due by the end of its day: the export says so, next to the moment
    it keeps, so that the end of the day is not read as a time someone set."""
    client = person(manager)
    due = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    services.task_create(by=manager, title="Позвонить", due_at=due, assignee=manager, client=client)
    services.task_create(
        by=manager,
        title="Отправить договор",
        due_at=due,
        assignee=manager,
        client=client,
        all_day=True,
    )
    tasks = {t["title"]: t for t in services.client_export(client=client, by=manager)["tasks"]}
    assert tasks["Позвонить"]["all_day"] is False
    assert tasks["Отправить договор"]["all_day"] is True


def test_erase_anonymises_the_person_and_keeps_the_deals_figures(manager):
    client = person(
        manager,
        phone="+79123456789",
        email="a@b.ru",
        passport_number="4510 123456",
        middle_name="Сергеевна",
    )
    services.need_save(client=client, by=manager, rooms=[2])
    services.interaction_add(client=client, by=manager, kind="note", text="секрет")
    u = units(1)
    deal = make_deal(
        unit=u[0], buyers=[client], manager=manager, price="7000000", stage="registered"
    )
    services.client_erase(client=client, by=manager)
    client = Client.objects.get(pk=client.pk)
    assert (client.last_name, client.first_name, client.middle_name) == ("", "", "")
    assert (client.phone, client.email, client.passport_number) == ("", "", "")
    assert client.erased_at is not None
    assert not Need.objects.filter(client=client).exists()
    assert Interaction.objects.get().text == "—"
    deal.refresh_from_db()
    assert deal.price == 7000000 and DealBuyer.objects.get(deal=deal).client == client
    assert client.events.filter(kind=ClientEventKind.ERASED).exists()
    with pytest.raises(DomainError):
        services.client_erase(client=client, by=manager)
    # an erased phone no longer counts as a duplicate
    assert person(manager, phone="+79123456789")


def test_passport_data_is_encrypted_at_rest(manager):
    client = person(manager, passport_number="4510 123456", passport_issued_by="ОВД Тверской")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT passport_number, passport_issued_by FROM clients_client WHERE id = %s",
            [client.pk],
        )
        raw_number, raw_issued = cursor.fetchone()
    assert "123456" not in raw_number and raw_number.startswith("fernet:")
    assert "Тверской" not in raw_issued
    assert Client.objects.get(pk=client.pk).passport_number == "4510 123456"
    assert client.passport_masked == "•••• ••••56"


# --- reassigning --------------------------------------------------------------------------


def test_reassign_hands_client_and_open_tasks_and_keeps_history(manager, sales_head):
    other = make_user(Role.SALES_MANAGER)
    client = person(manager)
    task = services.task_create(
        by=manager, title="x", due_at=client.created_at, assignee=manager, client=client
    )
    services.client_reassign(client=client, manager=other, by=sales_head)
    client.refresh_from_db()
    task.refresh_from_db()
    assert client.manager == other and task.assignee == other
    event = client.events.get(kind=ClientEventKind.REASSIGNED)
    assert event.data["old"] == manager.pk and event.data["new"] == other.pk
    assert Notice.objects.filter(user=other).exists()
    with pytest.raises(DomainError):
        services.client_reassign(client=client, manager=other, by=sales_head)
