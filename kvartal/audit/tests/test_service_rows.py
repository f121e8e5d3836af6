"""What the services leave in the audit log: who, what, old and new values; nothing for a
refused call; no passport in clear; erasure blanks a person's values."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kvartal.audit.models import AuditEvent, Kind
from kvartal.clients.models import Client
from kvartal.clients.services import client_create, client_erase, client_export, client_update
from kvartal.core.errors import DomainError
from kvartal.inventory.services import project_save, unit_set_price
from kvartal.sales.services.holds import hold_create
from kvartal.testing import make_section

pytestmark = pytest.mark.django_db


def rows(action):
    return list(AuditEvent.objects.filter(action=action))


def test_a_project_rename_records_who_and_the_old_and_new_name(keeper):
    section = make_section(floors=1, per_floor=1)
    project = section.building.project
    old = project.name
    project.name = "ЖК Переименованный"
    project_save(project=project, by=keeper)
    (row,) = rows("project_save")
    assert (row.kind, row.actor, row.object_type) == (Kind.UPDATE, keeper, "inventory.project")
    assert row.changes == {"name": [old, "ЖК Переименованный"]}


def test_a_price_change_records_the_old_and_new_price(keeper):
    unit = make_section(floors=1, per_floor=1).units.get()
    old = unit.price
    unit_set_price(unit=unit, price=Decimal("7500000"), by=keeper, reason="прайс")
    (row,) = rows("unit_set_price")
    assert row.changes["price"] == [str(old), "7500000.00"]
    assert row.data["arguments"]["reason"] == "прайс"


def test_a_refused_call_leaves_no_row(keeper):
    unit = make_section(floors=1, per_floor=1).units.get()
    before = AuditEvent.objects.count()
    with pytest.raises((DomainError, ValidationError)):
        unit_set_price(unit=unit, price=Decimal("-1"), by=keeper)
    assert AuditEvent.objects.count() == before


def test_a_hold_names_its_client_as_the_data_subject(manager):
    unit = make_section(floors=1, per_floor=1).units.get()
    client = client_create(by=manager, last_name="Петрова", first_name="Анна", phone="+79120001122")
    hold = hold_create(unit=unit, client=client, manager=manager, by=manager, days=3)
    (row,) = rows("hold_create")
    assert (row.kind, row.object_id, row.subject) == (
        Kind.CREATE,
        str(hold.pk),
        f"clients.client:{client.pk}",
    )
    # the unit's status changed by the inventory service inside, with its own row
    assert rows("unit_set_sales_state")


def test_a_passport_is_never_in_the_log_in_clear(manager):
    client = client_create(by=manager, last_name="Петрова", phone="+79120001123")
    client_update(client=client, by=manager, passport_number="6510 123456")
    (row,) = rows("client_update")
    old, new = row.changes["passport_number"]
    assert old in ("", None) and new.startswith("•••") and "123456" not in new
    assert "6510" not in str(AuditEvent.objects.values_list("changes", "data"))


def test_an_export_of_personal_data_is_logged_as_an_export(director, manager):
    client = client_create(by=manager, last_name="Петрова", phone="+79120001124")
    client_export(client=client, by=manager)
    (row,) = rows("client_export")
    assert (row.kind, row.actor, row.object_id) == (Kind.EXPORT, manager, str(client.pk))


def test_erasure_blanks_the_persons_values_in_the_log(admin_user, manager):
    client = client_create(by=manager, last_name="Петрова", first_name="Анна", phone="+79120001125")
    client_update(client=client, by=manager, email="anna@example.com")
    client_erase(client=Client.objects.get(pk=client.pk), by=admin_user)
    text = str(list(AuditEvent.objects.values_list("changes", "data", "object_repr")))
    for personal in ("Петрова", "79120001125", "anna@example.com"):
        assert personal not in text
    erase = AuditEvent.objects.get(action="client_erase")
    assert (erase.kind, erase.actor) == (Kind.ERASE, admin_user)
    # who changed what and when is still there
    assert AuditEvent.objects.filter(action="client_update", actor=manager).exists()


def test_one_call_writes_its_rows_with_one_insert_and_reads_nothing_for_them(manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    unit = make_section(floors=1, per_floor=1).units.get()
    client = client_create(by=manager, last_name="Петрова", phone="+79120001126")
    with CaptureQueriesContext(connection) as ctx:
        hold_create(unit=unit, client=client, manager=manager, by=manager, days=3)
    sql = [q["sql"] for q in ctx.captured_queries]
    (insert,) = [s for s in sql if 'INSERT INTO "audit_auditevent"' in s]
    assert not any('FROM "audit_auditevent"' in s for s in sql)
    # Its two rows as VALUES: on PostgreSQL the bulk insert's UNNEST arrays were quoted by
    # psycopg in Python at 1.7 times the CPU of the plain insert.
    assert "UNNEST" not in insert and " VALUES " in insert
    # the hold's row and the row of the unit's status change made inside it
    assert {r.action for r in AuditEvent.objects.filter(subject__endswith=f":{client.pk}")} >= {
        "hold_create"
    }
    assert rows("unit_set_sales_state")[0].changes["status"] == ["available", "reserved"]


def test_the_door_is_named_by_the_path_or_the_caller(keeper):
    from kvartal import audit
    from kvartal.audit.context import door_of

    assert door_of("/api/v1/leads/") == "api"
    assert door_of("/app/calls/panel/") == "callcentre"
    assert door_of("/app/agencies/cabinet/fix/") == "agency"
    assert door_of("/app/units/1/") == "page"
    assert door_of("/catalogue/") == "showcase"
    project = make_section(floors=1, per_floor=1).building.project
    project.name = "ЖК Первый"
    project_save(project=project, by=keeper)  # no request: a job or a command
    with audit.door("import"):
        project.name = "ЖК Второй"
        project_save(project=project, by=keeper)
    first, second = AuditEvent.objects.filter(action="project_save").order_by("pk")
    assert (first.door, second.door) == ("job", "import")
    # the second call shows only its own change
    assert second.changes == {"name": ["ЖК Первый", "ЖК Второй"]}


# --- queryset updates (no save, no hook): recorded by audit.update ------------------------


def _sql(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries]


def test_a_merge_records_the_rows_it_moved_by_update_in_one_insert(manager, sales_head):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kvartal.clients.services import client_merge

    unit = make_section(floors=1, per_floor=1).units.get()
    source = client_create(by=manager, last_name="Дубль", phone="+79120001131")
    target = client_create(by=manager, last_name="Основной", phone="+79120001132")
    hold = hold_create(unit=unit, client=source, manager=manager, by=manager, days=3)
    with CaptureQueriesContext(connection) as ctx:
        client_merge(source=source, target=target, by=sales_head)
    assert sum('INSERT INTO "audit_auditevent"' in s for s in _sql(ctx)) == 1
    assert not any('FROM "audit_auditevent"' in s for s in _sql(ctx))
    (row,) = rows("client_merge")
    bulk = row.data["bulk"]
    assert {
        "model": "sales.hold",
        "where": {"client": source.pk},
        "set": {"client": target.pk},
        "rows": 1,
    } in bulk
    assert all(entry["rows"] > 0 for entry in bulk)  # nothing moved, nothing listed
    hold.refresh_from_db()
    assert hold.client_id == target.pk


def test_a_reassignment_records_the_leads_and_tasks_it_handed_over(manager, sales_head):
    from kvartal.clients.models import Channel
    from kvartal.clients.services import client_reassign, lead_create

    client = client_create(by=manager, last_name="Иванов", phone="+79120001133")
    channel = Channel.objects.get(code="call")
    lead = lead_create(by=manager, channel=channel, phone="+79120001133", manager=manager)
    assert lead.client_id == client.pk  # a known phone: attached to the client
    client_reassign(client=client, manager=sales_head, by=sales_head)
    (row,) = rows("client_reassign")
    leads = [e for e in row.data["bulk"] if e["model"] == "clients.lead"]
    assert leads == [
        {
            "model": "clients.lead",
            "where": {"client": client.pk, "open": True},
            "set": {"manager": sales_head.pk},
            "rows": 1,
        }
    ]


def test_an_update_outside_a_service_records_nothing_and_counts_rows(keeper):
    from kvartal import audit
    from kvartal.inventory.models import Unit

    unit = make_section(floors=1, per_floor=1).units.get()
    before = AuditEvent.objects.count()
    assert audit.update(Unit.objects.filter(pk=unit.pk), where={"ids": [unit.pk]}, view="") == 1
    assert AuditEvent.objects.count() == before


def test_an_erasure_row_counts_what_it_blanked_and_keeps_no_value(admin_user, manager):
    unit = make_section(floors=1, per_floor=1).units.get()
    client = client_create(by=manager, last_name="Петрова", first_name="Анна", phone="+79120001134")
    hold_create(
        unit=unit, client=client, manager=manager, by=manager, days=3, comment="Петрова Анна"
    )
    client_erase(client=Client.objects.get(pk=client.pk), by=admin_user)
    (row,) = rows("client_erase")
    assert row.data["counts"]["hold_comments"] == 1
    assert {
        "model": "sales.hold",
        "where": {"client": [client.pk]},
        "set": {"comment": "", "end_reason": ""},
        "rows": 1,
    } in row.data["bulk"]
    assert "Петрова" not in str(row.data) and "79120001134" not in str(row.data)
