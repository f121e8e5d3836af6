import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role, User
from kvartal.inventory.models import Project
from kvartal.ops import backups, crypto
from kvartal.ops.backups import BackupRefused, backup_create, backup_restore, backups_rotate
from kvartal.ops.models import Backup
from kvartal.testing import make_project, make_user

pytestmark = pytest.mark.django_db(transaction=True)  # the backup reads committed rows


@pytest.fixture(autouse=True)
def _folders(settings, tmp_path):
    settings.KVARTAL_BACKUP_DIR = tmp_path / "backups"
    settings.KVARTAL_BACKUP_KEY = crypto.new_key()
    media = Path(settings.MEDIA_ROOT)
    (media / "plans").mkdir(parents=True)
    (media / "plans" / "floor-3.png").write_bytes(b"\x89PNG plan of the third floor")


@pytest.fixture
def empty_database(tmp_path):
    """A new, empty database of the engine under test (a DATABASES entry)."""
    if connection.vendor == "sqlite":
        yield {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "new.sqlite3")}
        return
    import psycopg

    db = dict(connection.settings_dict)
    db["NAME"] = f"restore_{uuid.uuid4().hex[:10]}"
    admin = backups._pg_connect(connection.settings_dict)
    admin.autocommit = True
    admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    try:
        yield db
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
        admin.close()
        assert psycopg  # imported only on PostgreSQL


def _checksums(db: dict) -> dict:
    if db["ENGINE"].endswith("sqlite3"):
        return backups.sqlite_checksums(Path(db["NAME"]))
    con = backups._pg_connect(db)
    try:
        return backups.pg_checksums(con)
    finally:
        con.rollback()
        con.close()


def _execute(db: dict, sql: str) -> None:
    if db["ENGINE"].endswith("sqlite3"):
        import sqlite3

        con = sqlite3.connect(db["NAME"])
        con.execute(sql)
        con.commit()
        con.close()
    else:
        con = backups._pg_connect(db)
        con.execute(sql)
        con.commit()
        con.close()


def _some_rows():
    make_user(Role.SALES_MANAGER, username="kept-manager")
    make_project(name="ЖК Сохранённый")


def test_a_backup_restores_into_an_empty_database_with_every_table_verified(
    empty_database, tmp_path
):
    _some_rows()
    backup = backup_create()
    assert backup.verified_ok, backup.verification
    assert backup.media_files == 1 and backup.tables > 20
    assert (tmp_path / "backups" / backup.file).stat().st_mode & 0o777 == 0o600
    raw = (tmp_path / "backups" / backup.file).read_bytes()
    assert b"kept-manager" not in raw and b"PNG plan" not in raw  # sealed

    restored = backup_restore(
        path=tmp_path / "backups" / backup.file, db=empty_database, media_root=tmp_path / "m2"
    )
    assert restored.problems == []
    assert (restored.tables, restored.rows) == (backup.tables, backup.rows)
    assert (tmp_path / "m2" / "plans" / "floor-3.png").read_bytes().endswith(b"third floor")
    found = _checksums(empty_database)
    assert found["accounts_user"]["rows"] == User.objects.count()
    assert found["inventory_project"]["rows"] == Project.objects.count() == 1

    # the checksum notices a changed row that keeps the count
    _execute(empty_database, "UPDATE inventory_project SET name = 'ЖК Подменённый'")
    problems = backups._compare(backups._open_manifest_tables(backup), _checksums(empty_database))
    assert problems == ["table inventory_project: the checksum differs"]


@pytest.mark.parametrize("damage", ["flip", "truncate", "wrong key", "not a backup"])
def test_a_damaged_or_wrongly_keyed_backup_is_refused_and_nothing_changes(
    damage, empty_database, tmp_path, settings
):
    _some_rows()
    backup = backup_create(verify=False)
    path = tmp_path / "backups" / backup.file
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) - 100]
    elif damage == "not a backup":
        data = bytearray(b"PGDMP" + bytes(200))
    path.write_bytes(bytes(data))
    if damage == "wrong key":
        settings.KVARTAL_BACKUP_KEY = crypto.new_key()
    before = _checksums(empty_database) if empty_database["ENGINE"].endswith("ql") else {}
    with pytest.raises(BackupRefused, match="cannot be opened"):
        backup_restore(path=path, db=empty_database, media_root=tmp_path / "m2")
    assert not (tmp_path / "m2").exists()
    if empty_database["ENGINE"].endswith("sqlite3"):
        assert not Path(empty_database["NAME"]).exists()
    else:
        assert _checksums(empty_database) == before == {}
    # the page says so too
    assert not backups.backup_verify(backup=backup).verified_ok
    assert "cannot be opened" in backup.verification


def test_a_restore_into_a_database_in_use_is_refused(tmp_path):
    _some_rows()
    backup = backup_create()
    users = User.objects.count()
    with pytest.raises(BackupRefused, match="not empty"):
        backup_restore(
            path=tmp_path / "backups" / backup.file,
            db=connection.settings_dict,
            media_root=tmp_path / "m2",
        )
    assert User.objects.count() == users and not (tmp_path / "m2").exists()


def test_rotation_keeps_days_weeks_and_months(settings, tmp_path):
    settings.KVARTAL_BACKUP_DAILY, settings.KVARTAL_BACKUP_WEEKLY = 3, 2
    settings.KVARTAL_BACKUP_MONTHLY = 2
    folder = backups.backup_dir()
    # noon of today: "0.1 days ago" is still today whatever the hour the suite runs at
    now = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    made = {}
    for days in (0, 0.1, 1, 2, 3, 9, 40, 80, 120):
        name = f"b-{days}.kvbk"
        (folder / name).write_bytes(b"x")
        made[days] = Backup.objects.create(
            file=name,
            engine="sqlite",
            created_at=now - timedelta(days=days, minutes=1),
            verified_ok=True,
        )
    gone = backups_rotate()
    kept = set(Backup.objects.values_list("file", flat=True))
    # days: 0 (newest of today), 1, 2; weeks: this week's newest and last week's newest;
    # months: this month's newest and last month's newest
    assert "b-0.kvbk" in kept and "b-0.1.kvbk" not in kept
    assert {"b-1.kvbk", "b-2.kvbk"} <= kept
    assert "b-120.kvbk" not in kept and "b-80.kvbk" not in kept
    assert set(gone) | kept == {f"b-{d}.kvbk" for d in made}
    assert all(not (folder / name).exists() for name in gone)
    assert all((folder / name).exists() for name in kept)


def test_the_backups_page_lists_them_and_backs_up_on_request(
    client, admin_user, manager, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    assert client.get(reverse("ops:backups")).status_code == 403
    assert client.post(reverse("ops:backup-now")).status_code == 403
    assert not Backup.objects.exists()
    client.force_login(admin_user)
    assert b"No backups yet" in client.get(reverse("ops:backups")).content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ops:backup-now"))
    assert response.status_code == 302
    backup = Backup.objects.get()
    page = client.get(reverse("ops:backups")).content.decode()
    assert backup.file in page and "verified" in page
