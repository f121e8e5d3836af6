"""Personal data goes everywhere it should not stay: erasure, merges, encryption keys."""

import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.db import connection, models
from django.utils import timezone

from kvartal.accounts.models import Notice, Role
from kvartal.clients import services
from kvartal.clients.apps import field_key_valid_check
from kvartal.clients.crypto import EncryptedTextField, Unreadable
from kvartal.clients.models import (
    Channel,
    Client,
    ClientEvent,
    ClientEventKind,
    Lead,
    LeadStatus,
    Need,
    Task,
)
from kvartal.core.errors import DomainError
from kvartal.inventory.models import StatusChange
from kvartal.ops.notifications import tasks_due_notify
from kvartal.sales.models import DealEvent, Hold, HoldEvent, QueueEntry
from kvartal.sales.services import deals as deal_services
from kvartal.sales.services.holds import hold_cancel, hold_create, queue_join
from kvartal.testing import make_building, make_section, make_user

pytestmark = pytest.mark.django_db

SURNAME = "Засекреченко"
PHONE_DIGITS = "9161234567"


def text_columns_containing(needle: str) -> list[str]:
    """Every text or JSON column of every table whose value holds ``needle`` (read in
    Python: JSON may be stored with escapes, encrypted columns decrypt on read)."""
    hits = []
    for model in apps.get_models():
        fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not fields:
            continue
        for row in model._default_manager.values("pk", *[f.attname for f in fields]):
            for f in fields:
                value = row[f.attname]
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                if needle in (text or ""):
                    hits.append(f"{model._meta.db_table}.{f.column} #{row['pk']}")
    return hits


@pytest.fixture
def three_units(keeper):
    building = make_building()
    make_section(building, floors=1, per_floor=3, by=keeper)
    return list(building.units.order_by("pk"))


def test_erase_leaves_the_surname_in_no_text_column_of_any_table(manager, three_units):
    colleague = make_user(Role.SALES_MANAGER)
    head = make_user(Role.SALES_HEAD)
    call = Channel.objects.get(code="call")
    # a lead from the client's second e-mail, sent before the client existed: never linked
    stray = services.lead_create(
        by=None,
        channel=call,
        name=f"{SURNAME} Иван",
        email="ivan@example.ru",
        message=f"Я {SURNAME}, перезвоните",
        manager=manager,
    )
    services.lead_set_status(lead=stray, status=LeadStatus.LOST, by=manager, reason=SURNAME)
    target = services.client_create(
        by=manager,
        last_name=SURNAME,
        first_name="Иван",
        phone="+7" + PHONE_DIGITS,
        passport_number="4510 123456",
        passport_issued_by=f"ОВД, заявитель {SURNAME}",
        comment=f"{SURNAME} любит вид на парк",
    )
    services.contact_add(client=target, by=manager, kind="email", value="ivan@example.ru")
    duplicate = services.client_create(
        by=manager,
        last_name=SURNAME,
        first_name="Ваня",
        phone="+79160000001",
        passport_code="770-001",
        registration_address=f"ул. {SURNAME}а, 1",
    )
    services.client_merge(source=duplicate, target=target, by=manager)
    linked = services.lead_create(
        by=None, channel=call, name=f"{SURNAME} И.", phone="+7" + PHONE_DIGITS
    )
    assert linked.client == target
    services.need_save(client=target, by=manager, rooms=[2], comment=f"для {SURNAME}")
    services.interaction_add(client=target, by=manager, kind="note", text=f"звонил {SURNAME}")
    services.visit_register(
        by=manager, client=target, received_by=colleague, asked_about=f"{SURNAME}: паркинг"
    )
    services.task_create(
        by=manager,
        title=f"Позвонить {SURNAME}",
        due_at=timezone.now() + timedelta(minutes=5),
        assignee=colleague,
        client=target,
        note=f"{SURNAME} просил",
    )
    tasks_due_notify()  # "Task due …: Позвонить … — Засекреченко Иван"
    hold = hold_create(
        unit=three_units[0],
        client=target,
        manager=manager,
        by=manager,
        days=3,
        comment=f"{SURNAME} внесёт задаток",
    )
    hold_cancel(hold=hold, by=manager, reason=f"передумал, звонил с 8{PHONE_DIGITS}")
    other = services.client_create(by=manager, last_name="Другой", first_name="Пётр")
    first = hold_create(unit=three_units[1], client=other, manager=manager, by=manager, days=3)
    queue_join(
        unit=three_units[1],
        client=target,
        manager=manager,
        by=manager,
        comment=f"{SURNAME} ждёт",
    )
    hold_cancel(hold=first, by=manager, reason="передумал")  # the queue gives it to target
    deal = deal_services.deal_open(
        unit=three_units[2], buyers=[deal_services.BuyerShare(target)], by=manager
    )
    deal_services.deal_change_buyers(
        deal=deal,
        buyers=[deal_services.BuyerShare(other)],
        by=manager,
        reason=f"{SURNAME} уступил долю",
    )
    services.client_reassign(client=target, manager=colleague, by=head)
    # the status history as the holds service wrote it before it stopped naming the client
    legacy = StatusChange.objects.create(
        unit=three_units[0],
        at=timezone.now(),
        old_status="available",
        new_status="reserved",
        price=three_units[0].price,
        reason=f"Held for {SURNAME} Иван",
    )
    assert text_columns_containing(SURNAME)  # the set-up did put it around
    assert Notice.objects.filter(text__contains=SURNAME).count() >= 2

    services.client_erase(client=target, by=manager)

    assert text_columns_containing(SURNAME) == []
    assert text_columns_containing(PHONE_DIGITS) == []
    assert text_columns_containing("ivan@example.ru") == []
    # what stays: the records, their figures, the shape of the history
    target = Client.objects.get(pk=target.pk)
    duplicate = Client.objects.get(pk=duplicate.pk)
    assert target.erased_at and duplicate.erased_at
    assert (duplicate.passport_code, duplicate.registration_address) == ("", "")
    assert target.contacts.count() == 0 and not Need.objects.filter(client=target).exists()
    assert Lead.objects.get(pk=stray.pk).status == LeadStatus.LOST
    assert Task.objects.get(client=target).title.startswith("Task #")
    assert Hold.objects.filter(client=target).count() == 2
    assert HoldEvent.objects.filter(hold=hold).count() >= 2
    buyers = DealEvent.objects.get(deal=deal, kind="buyers").data["old"]
    assert buyers[0]["client"] == target.pk and buyers[0]["name"] == target.display_name
    assert StatusChange.objects.get(pk=legacy.pk).reason == f"Held for {target.display_name}"
    assert QueueEntry.objects.filter(client=target).exists()
    erased = target.events.get(kind=ClientEventKind.ERASED)
    assert erased.data["counts"]["merged_records"] == 1


def test_a_merged_duplicate_keeps_no_personal_data(manager):
    target = services.client_create(by=manager, last_name="Петрова", first_name="Анна")
    source = services.client_create(
        by=manager,
        last_name="Петрова",
        first_name="Аня",
        phone="+79120000001",
        email="anya@example.ru",
        birth_date="1990-05-01",
        passport_number="4510 654321",
        passport_issued_by="ОВД Тверской",
        comment="любит вид на парк",
    )
    services.client_merge(source=source, target=target, by=manager)
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.last_name, source.first_name, source.phone, source.email) == ("", "", "", "")
    assert (source.passport_number, source.passport_issued_by, source.comment) == ("", "", "")
    assert source.birth_date is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT passport_number FROM clients_client WHERE id = %s", [source.pk])
        assert cursor.fetchone()[0] == ""
    # … because the kept client has it now
    assert target.passport_number == "4510 654321" and str(target.birth_date) == "1990-05-01"
    assert "любит вид на парк" in target.comment
    assert set(target.contacts.values_list("normalized", flat=True)) == {
        "+79120000001",
        "anya@example.ru",
    }


def test_merge_repoints_earlier_duplicates_joins_needs_and_moves_history(manager):
    a = services.client_create(by=manager, first_name="Анна", last_name="А")
    b = services.client_create(by=manager, first_name="Анна", last_name="Б")
    c = services.client_create(by=manager, first_name="Анна", last_name="В")
    services.need_save(client=a, by=manager, rooms=[1], comment="у метро")
    services.need_save(client=b, by=manager, rooms=[2], budget_max=9_000_000, comment="с балконом")
    services.client_merge(source=c, target=b, by=manager)
    b_events = set(ClientEvent.objects.filter(client=b).values_list("pk", flat=True))

    merge = services.client_merge(source=b, target=a, by=manager)

    assert Client.objects.get(pk=c.pk).merged_into_id == a.pk  # no chain through b
    need = Need.objects.get(client=a)
    assert need.rooms == [1, 2] and need.budget_max == 9_000_000
    assert "у метро" in need.comment and "с балконом" in need.comment
    assert not Need.objects.filter(client=b).exists()
    assert merge.moved["need"] == 1 and merge.moved["merged_earlier"] == 1
    # b's history (its creation, its own merge, its need) is on a's card now
    assert b_events <= set(ClientEvent.objects.filter(client=a).values_list("pk", flat=True))
    assert list(ClientEvent.objects.filter(client=b).values_list("kind", flat=True)) == [
        ClientEventKind.MERGED
    ]


def test_export_and_erase_cover_a_duplicate_merged_before_merges_blanked_it(manager):
    target = services.client_create(by=manager, first_name="Анна", last_name="Петрова")
    old = services.client_create(
        by=manager, first_name="Анна", last_name="Петрова", passport_number="4510 000111"
    )
    # a merge made by the earlier version: the duplicate kept its data
    Client.objects.filter(pk=old.pk).update(merged_into=target)

    data = services.client_export(client=target, by=manager)
    assert [d["passport_number"] for d in data["merged_duplicates"]] == ["4510 000111"]

    services.client_erase(client=target, by=manager)
    old = Client.objects.get(pk=old.pk)
    assert (old.passport_number, old.last_name) == ("", "") and old.erased_at is not None


def test_an_erased_client_gets_no_new_contacts_needs_interactions_or_tasks(manager):
    client = services.client_create(by=manager, first_name="Анна")
    services.client_erase(client=client, by=manager)
    client.refresh_from_db()
    for write in (
        lambda: services.contact_add(client=client, by=manager, kind="phone", value="+79120000009"),
        lambda: services.need_save(client=client, by=manager, rooms=[1]),
        lambda: services.interaction_add(client=client, by=manager, kind="note", text="x"),
        lambda: services.task_create(
            by=manager, title="x", due_at=timezone.now(), assignee=manager, client=client
        ),
    ):
        with pytest.raises(DomainError):
            write()
    assert client.contacts.count() == client.interactions.count() == client.tasks.count() == 0
    assert not Need.objects.filter(client=client).exists()
    assert client not in Client.objects.in_use()


def test_a_company_inn_is_a_duplicate(manager):
    services.client_create(by=manager, kind="company", company_name="ООО Ромашка", inn="7701234567")
    with pytest.raises(services.DuplicateClient) as caught:
        services.client_create(
            by=manager, kind="company", company_name="Ромашка ООО", inn="7701234567"
        )
    assert caught.value.field == "inn"
    assert Client.objects.count() == 1


# --- encryption keys ----------------------------------------------------------------------


def test_a_value_the_key_cannot_read_is_marked_and_never_overwritten(manager, settings):
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    client = services.client_create(by=manager, first_name="Анна", passport_number="4510 123456")

    def raw():
        with connection.cursor() as cursor:
            cursor.execute("SELECT passport_number FROM clients_client WHERE id = %s", [client.pk])
            return cursor.fetchone()[0]

    stored = raw()
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()  # a wrong key
    read = Client.objects.get(pk=client.pk)
    assert isinstance(read.passport_number, Unreadable)
    assert read.passport_number == Unreadable.MARKER and read.passport_number != ""
    read.save()
    assert raw() == stored
    # the edit form sends the marker back: the stored value stays
    services.client_update(
        client=read, by=manager, first_name="Аня", passport_number=Unreadable.MARKER
    )
    assert raw() == stored
    assert Client.objects.get(pk=client.pk).first_name == "Аня"


def test_an_invalid_field_key_is_a_startup_error(settings):
    settings.FIELD_ENCRYPTION_KEY = "not-a-key"
    errors = field_key_valid_check()
    assert [e.id for e in errors] == ["kvartal.E001"]
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    assert field_key_valid_check() == []
    settings.FIELD_ENCRYPTION_OLD_KEYS = "also-bad"
    assert [e.id for e in field_key_valid_check()] == ["kvartal.E001"]


def test_encrypted_fields_are_the_passport_ones():
    # the erase test above reads decrypted values: it would miss a field stored otherwise
    encrypted = {f.name for f in Client._meta.concrete_fields if isinstance(f, EncryptedTextField)}
    assert encrypted == {
        "passport_number",
        "passport_issued_by",
        "passport_issued_on",
        "passport_code",
        "registration_address",
    }
