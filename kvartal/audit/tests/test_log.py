"""The audit log: who, when, from where, what, old and new values; append-only."""

import json

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from kvartal import audit
from kvartal.accounts.models import Role
from kvartal.audit.models import AppendOnlyError, AuditEvent, Kind
from kvartal.clients.models import LeadSource
from kvartal.core.testing import PASSWORD, make_project, make_section, make_user

pytestmark = pytest.mark.django_db


def test_a_change_records_who_when_where_and_the_old_and_new_values(keeper, rf):
    project = make_project(name="ЖК Старый")
    before = audit.snapshot(project, ["name", "city"])
    project.name = "ЖК Новый"
    project.save()
    row = audit.record("project_update", obj=project, before=before, by=keeper)
    assert row.kind == Kind.UPDATE
    assert (row.actor, row.actor_name) == (keeper, keeper.username)
    assert (row.object_type, row.object_id) == ("inventory.project", str(project.pk))
    assert row.changes == {"name": ["ЖК Старый", "ЖК Новый"]}  # the city did not change
    assert row.at is not None


def test_the_signed_in_user_and_the_address_come_from_the_request(rf, keeper, settings):
    from kvartal.audit.context import AuditContextMiddleware

    settings.KVARTAL_TRUSTED_PROXIES = "10.0.0.1"
    request = rf.post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    request.user = keeper
    middleware = AuditContextMiddleware(lambda r: audit.record("x", object_type="a.b"))
    row = middleware(request)
    assert (row.actor, row.address) == (keeper, "203.0.113.7")
    # Outside a request (a job), nobody and nowhere:
    later = audit.record("y", object_type="a.b")
    assert (later.actor, later.address) == (None, None)


def test_a_rolled_back_change_leaves_no_row(keeper):
    project = make_project()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("project_update", obj=project, by=keeper, changes={"name": ["a", "b"]})
        raise RuntimeError
    assert AuditEvent.objects.count() == 0


def test_nobody_changes_or_deletes_a_row(keeper):
    row = audit.record("x", obj=keeper, by=keeper, changes={"name": ["a", "b"]})
    row.action = "forged"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=row.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    row.refresh_from_db()
    assert (row.action, AuditEvent.objects.count()) == ("x", 1)


def test_the_admin_site_shows_the_log_but_offers_no_change(client, admin_user):
    row = audit.record("x", obj=admin_user, by=admin_user)
    client.force_login(admin_user)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[row.pk])).status_code == 403
    assert AuditEvent.objects.filter(pk=row.pk).exists()


def test_sign_in_and_failed_sign_in_are_logged_without_the_password(client, manager):
    url = reverse("accounts:login")
    client.post(url, {"username": manager.username, "password": "wrong-one"})
    failed = AuditEvent.objects.get(kind=Kind.SIGN_IN_FAILED)
    assert failed.data == {"username": manager.username}
    assert "wrong-one" not in json.dumps([failed.changes, failed.data, failed.object_repr])
    client.post(url, {"username": manager.username, "password": PASSWORD})
    signed = AuditEvent.objects.get(kind=Kind.SIGN_IN)
    assert (signed.actor, signed.address) == (manager, "127.0.0.1")


def test_erasing_a_person_blanks_their_values_and_keeps_the_rows(manager):
    person = make_user(Role.SALES_MANAGER, first_name="Пётр")
    other = make_user(Role.SALES_MANAGER)
    audit.record(
        "client_update", obj=person, by=manager, subject=person, changes={"phone": ["1", "2"]}
    )
    kept = audit.record("client_update", obj=other, by=manager, changes={"phone": ["3", "4"]})
    assert audit.erase_subject(person, by=manager) == 1
    blanked = AuditEvent.objects.get(subject=audit.subject_of(person))
    assert blanked.changes == {"phone": ["", ""]}
    assert blanked.object_repr == ""
    assert (blanked.actor, blanked.action) == (manager, "client_update")
    kept.refresh_from_db()
    assert kept.changes == {"phone": ["3", "4"]}
    assert AuditEvent.objects.filter(kind=Kind.ERASE).count() == 1


# --- the client's address behind proxies --------------------------------------------------


def address(rf, settings, proxies, remote, forwarded=None):
    from kvartal.core.net import client_address

    settings.KVARTAL_TRUSTED_PROXIES = proxies
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(rf.get("/", **extra))


def test_a_forwarded_address_that_is_no_address_is_not_logged(rf, settings):
    from kvartal.audit.context import AuditContextMiddleware

    settings.KVARTAL_TRUSTED_PROXIES = "10.0.0.1"
    request = rf.post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="<script>")
    request.user = None
    row = AuditContextMiddleware(lambda r: audit.record("x", object_type="a.b"))(request)
    row.refresh_from_db()
    assert row.address is None


def test_without_trusted_proxies_a_forwarded_header_is_ignored(rf, settings):
    assert address(rf, settings, "", "198.51.100.1", "1.2.3.4") == "198.51.100.1"


def test_behind_a_trusted_proxy_the_last_untrusted_hop_is_the_client(rf, settings):
    # The client forged "1.2.3.4"; our proxy appended the real address it saw.
    got = address(rf, settings, "10.0.0.0/8", "10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.5")
    assert got == "198.51.100.7"


def test_a_request_from_an_untrusted_address_is_not_believed(rf, settings):
    assert address(rf, settings, "10.0.0.0/8", "198.51.100.1", "1.2.3.4") == "198.51.100.1"


def test_the_lead_api_limits_each_real_client_behind_the_proxy(client, settings):
    cache.clear()
    settings.KVARTAL_TRUSTED_PROXIES = "127.0.0.1"
    settings.LEAD_API_RATE = 2
    source = LeadSource.objects.create(name="Сайт", channel_id=_site_channel())

    def post(ip, i):
        body = json.dumps({"name": "A", "phone": f"+7912555{ip[-1]}00{i}"})
        return client.post(
            "/api/v1/leads",
            body,
            content_type="application/json",
            HTTP_X_API_KEY=source.key,
            HTTP_X_FORWARDED_FOR=ip,
        ).status_code

    assert [post("198.51.100.1", i) for i in range(3)] == [201, 201, 429]
    assert post("198.51.100.2", 0) == 201  # another visitor, the same proxy


def test_the_shared_cache_is_the_database_by_default():
    from django.conf import settings

    assert settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    cache.set("k", 1)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM kvartal_cache")
        assert cursor.fetchone()[0] == 1


def _site_channel():
    from kvartal.clients.models import Channel

    return Channel.objects.get(code="site").pk


# --- the administrator's page --------------------------------------------------------------


def test_the_page_filters_by_user_kind_object_and_date(client, admin_user, manager, keeper):
    audit.record("client_update", obj=manager, by=manager, changes={"a": [1, 2]})
    audit.record("unit_set_price", obj=keeper, by=keeper, changes={"price": ["1", "2"]})
    client.force_login(admin_user)
    url = reverse("audit:event-list")
    page = client.get(url, {"actor": keeper.pk}).context["page"]
    assert [r.action for r in page.object_list] == ["unit_set_price"]
    page = client.get(url, {"kind": Kind.SIGN_IN}).context["page"]
    assert [r.actor for r in page.object_list] == [admin_user]  # force_login signs in too
    page = client.get(url, {"object_type": "accounts.user", "object_id": manager.pk})
    assert [r.action for r in page.context["page"].object_list] == ["client_update"]


def test_the_page_names_object_types_and_fields_in_the_readers_language(client, admin_user, keeper):
    unit = make_section(floors=1, per_floor=1, by=keeper).units.get()
    audit.record("unit_set_price", obj=unit, by=keeper, changes={"price": ["1", "2"]})
    client.force_login(admin_user)
    with translation.override("ru"):
        html = client.get(reverse("audit:event-list"), HTTP_ACCEPT_LANGUAGE="ru").text
    assert '<option value="inventory.unit">Помещение</option>' in html
    assert '<span class="muted small" title="inventory.unit">Помещение #' in html
    assert "<div>Цена, ₽: <code>1</code> → <code>2</code>" in html


def test_the_page_filters_by_the_door_a_change_came_through(client, admin_user, keeper):
    doors = ("page", "admin", "api", "import", "job", "showcase", "callcentre", "agency")
    for name in doors:
        with audit.door(name):
            audit.record(f"change_via_{name}", obj=keeper, by=keeper)
    client.force_login(admin_user)
    url = reverse("audit:event-list")
    for name in doors:
        page = client.get(url, {"door": name, "actor": keeper.pk}).context["page"]
        assert [r.action for r in page.object_list] == [f"change_via_{name}"]
    page = client.get(url, {"door": "api"}).context["page"]
    assert [r.action for r in page.object_list] == ["change_via_api"]
    shown = client.get(url, {"door": "import"}).content.decode()
    assert "change_via_import" in shown and "change_via_api" not in shown
    assert "<td>Import</td>" in shown  # the door is shown by its name
    export = client.get(reverse("audit:event-export"), {"door": "api"})
    lines = b"".join(export.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines[0].endswith(",door") and len(lines) == 2 and lines[1].endswith(",api")
    unknown = client.get(url, {"door": "back-door"})
    assert list(unknown.context["page"].object_list) == []
    assert unknown.context["form"].errors["door"]


def test_an_inverted_period_gets_a_message_and_no_rows(client, admin_user):
    audit.record("x", obj=admin_user, by=admin_user)
    client.force_login(admin_user)
    response = client.get(
        reverse("audit:event-list"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert "The period ends before it starts." in response.content.decode()
    assert list(response.context["page"].object_list) == []


def test_the_export_is_a_csv_of_the_filtered_rows_and_is_itself_logged(client, admin_user):
    changes = {"price": ["1", "2"]}
    audit.record("unit_set_price", obj=admin_user, by=admin_user, kind=Kind.UPDATE, changes=changes)
    audit.record("other", obj=admin_user, by=admin_user)
    client.force_login(admin_user)
    response = client.get(reverse("audit:event-export"), {"kind": Kind.UPDATE})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Disposition"].startswith("attachment;")
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,at,user,address,kind,action")
    assert len(lines) == 2 and ",unit_set_price," in lines[1] and "other" not in body
    assert AuditEvent.objects.get(kind=Kind.EXPORT).data == {"kind": Kind.UPDATE}


def test_the_export_never_hands_a_spreadsheet_a_formula(client, admin_user):
    """A name typed on the showcase or through the API reaches an administrator's Excel as
    text: a leading =, +, -, @ gets an apostrophe."""
    import csv
    import io

    audit.record(
        "client_create",
        by=admin_user,
        kind=Kind.CREATE,
        object_type="clients.client",
        object_id=1,
        object_repr='=HYPERLINK("http://evil.example","Петров")',
    )
    client.force_login(admin_user)
    response = client.get(reverse("audit:event-export"), {"kind": Kind.CREATE})
    body = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    head, row = list(csv.reader(io.StringIO(body)))
    assert row[head.index("object")] == '\'=HYPERLINK("http://evil.example","Петров")'
