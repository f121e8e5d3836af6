"""Backups: a consistent copy of the database and the media files, sealed, rotated, verified.

``backup_create`` snapshots the database while the app runs — SQLite through its online
backup API, PostgreSQL with ``pg_dump`` inside an exported snapshot — and records every
table's row count and checksum *of that snapshot* in the manifest. The archive (tar.gz:
``manifest.json``, ``database.sqlite3`` or ``database.pgdump``, ``media/``) is sealed with
AES-256-GCM (kvartal.ops.crypto). ``backup_restore`` opens and authenticates the whole file
before it touches anything, restores into an empty database only, and compares every
table's count and checksum with the manifest.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.core.errors import DomainError
from kvartal.ops import crypto
from kvartal.ops.models import Backup

FORMAT = 1
SUFFIX = ".kvbk"


class BackupRefused(DomainError):
    """The backup cannot be made or restored; nothing was changed."""


# --- where backups live, which database ------------------------------------------------


def backup_dir() -> Path:
    path = Path(getattr(settings, "KVARTAL_BACKUP_DIR", settings.BASE_DIR / "var" / "backups"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _engine(db: dict) -> str:
    engine = db["ENGINE"]
    if engine.endswith("sqlite3"):
        return "sqlite"
    if engine.endswith("postgresql"):
        return "postgresql"
    raise BackupRefused(_("Backups support SQLite and PostgreSQL only."))


def _pg_args(db: dict) -> tuple[list[str], dict]:
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    return args, env


def _pg_connect(db: dict):
    import psycopg

    return psycopg.connect(
        dbname=db["NAME"],
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
    )


# --- checksums ---------------------------------------------------------------------------


def _canon(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _digest(rows, ordered: bool) -> tuple[int, str]:
    lines = ("\x1f".join(_canon(v) for v in row) + "\n" for row in rows)
    if not ordered:
        lines = iter(sorted(lines))
    sha, count = hashlib.sha256(), 0
    for line in lines:
        sha.update(line.encode())
        count += 1
    return count, sha.hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_checksums(path: Path) -> dict[str, dict]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        result = {}
        for name in names:
            pk = [
                r[1]
                for r in sorted(
                    con.execute(f"PRAGMA table_info({_quote(name)})"), key=lambda r: r[5]
                )
                if r[5]
            ]
            order = f" ORDER BY {', '.join(map(_quote, pk))}" if pk else ""
            rows = con.execute(f"SELECT * FROM {_quote(name)}{order}")
            count, sha = _digest(rows, ordered=bool(pk))
            result[name] = {"rows": count, "sha256": sha}
        return result
    finally:
        con.close()


def pg_checksums(con) -> dict[str, dict]:
    """Counts and checksums of every table in the public schema, in ``con``'s transaction."""
    con.execute("SET LOCAL TIME ZONE 'UTC'")
    names = [
        r[0]
        for r in con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    result = {}
    for name in names:
        pk = [
            r[0]
            for r in con.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
                [_quote(name)],
            )
        ]
        order = f" ORDER BY {', '.join(map(_quote, pk))}" if pk else ""
        with con.cursor(name=f"sum_{len(result)}") as cursor:
            cursor.itersize = 5000
            cursor.execute(f"SELECT * FROM {_quote(name)}{order}")
            count, sha = _digest(cursor, ordered=bool(pk))
        result[name] = {"rows": count, "sha256": sha}
    return result


# --- making a backup --------------------------------------------------------------------


def _snapshot_sqlite(db: dict, target: Path) -> dict:
    source = sqlite3.connect(db["NAME"])
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # the online backup API: a consistent copy while others write
    finally:
        copy.close()
        source.close()
    return sqlite_checksums(target)


def _snapshot_postgresql(db: dict, target: Path) -> dict:
    import psycopg

    con = _pg_connect(db)
    try:
        con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        con.read_only = True
        snapshot = con.execute("SELECT pg_export_snapshot()").fetchone()[0]
        args, env = _pg_args(db)
        done = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
             f"--snapshot={snapshot}", "--file", str(target), *args],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            raise BackupRefused(_("pg_dump failed: %(error)s") % {"error": done.stderr[-500:]})
        return pg_checksums(con)
    finally:
        con.rollback()
        con.close()


def _media_files(root: Path) -> list[Path]:
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def backup_create(*, database: str = "default", verify: bool = True) -> Backup:
    """Make, seal and record a backup of ``database`` and the media files; then verify it
    (and rotate the old ones, see ``backups_rotate``)."""
    started = time.monotonic()
    db = connections[database].settings_dict
    engine = _engine(db)
    folder = backup_dir()
    now = timezone.now()
    name = f"kvartal-{now:%Y%m%d-%H%M%S}-{os.urandom(3).hex()}{SUFFIX}"
    with tempfile.TemporaryDirectory(dir=folder, prefix=".making-") as work:
        work = Path(work)
        dump = work / ("database.sqlite3" if engine == "sqlite" else "database.pgdump")
        if engine == "sqlite":
            tables = _snapshot_sqlite(db, dump)
        else:
            tables = _snapshot_postgresql(db, dump)
        media_root = Path(settings.MEDIA_ROOT)
        media = _media_files(media_root)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "engine": engine,
            "database": dump.name,
            "tables": tables,
            "media": [str(p.relative_to(media_root)) for p in media],
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        archive = work / "backup.tar.gz"
        with tarfile.open(archive, "w:gz", compresslevel=3) as tar:
            tar.add(work / "manifest.json", "manifest.json")
            tar.add(dump, dump.name)
            for path in media:
                tar.add(path, f"media/{path.relative_to(media_root)}")
        sealed = work / name
        crypto.seal_file(archive, sealed)
        sealed.chmod(0o600)
        final = folder / name
        os.replace(sealed, final)
    backup = Backup.objects.using(database).create(
        created_at=now,
        file=name,
        size=final.stat().st_size,
        sha256=_file_sha256(final),
        engine=engine,
        tables=len(tables),
        rows=sum(t["rows"] for t in tables.values()),
        media_files=len(media),
        seconds=round(time.monotonic() - started, 3),
    )
    if verify:
        backup_verify(backup=backup)
    return backup


def _file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


# --- opening a backup -------------------------------------------------------------------


@dataclass
class Opened:
    folder: Path
    manifest: dict
    database: Path
    media: list[str] = field(default_factory=list)


def _open(path: Path, work: Path) -> Opened:
    """Authenticate and unpack ``path`` into ``work``. Raises ``BackupRefused``."""
    if not path.is_file():
        raise BackupRefused(_("There is no backup file %(file)s.") % {"file": path})
    archive = work / "backup.tar.gz"
    try:
        crypto.open_file(path, archive)
    except crypto.SealBroken as error:
        raise BackupRefused(
            _(
                "The backup cannot be opened: it is damaged or was sealed with another key "
                "(%(reason)s). Nothing was changed."
            )
            % {"reason": error}
        ) from error
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work / "archive", filter="data")
        manifest = json.loads((work / "archive" / "manifest.json").read_text())
    except (tarfile.TarError, OSError, ValueError) as error:
        raise BackupRefused(_("The backup's contents are damaged. Nothing was changed.")) from error
    if manifest.get("format") != FORMAT:
        raise BackupRefused(_("This backup was made by another version of Kvartal."))
    archive.unlink()
    return Opened(
        folder=work / "archive",
        manifest=manifest,
        database=work / "archive" / manifest["database"],
        media=manifest.get("media", []),
    )


def _compare(expected: dict, found: dict) -> list[str]:
    problems = []
    for name in sorted(set(expected) | set(found)):
        want, got = expected.get(name), found.get(name)
        if want is None:
            problems.append(_("table %(table)s is not in the backup") % {"table": name})
        elif got is None:
            problems.append(_("table %(table)s is missing") % {"table": name})
        elif want["rows"] != got["rows"]:
            problems.append(
                _("table %(table)s: %(found)s rows instead of %(expected)s")
                % {"table": name, "found": got["rows"], "expected": want["rows"]}
            )
        elif want["sha256"] != got["sha256"]:
            problems.append(_("table %(table)s: the checksum differs") % {"table": name})
    return problems


def _open_manifest_tables(backup: Backup) -> dict:
    with tempfile.TemporaryDirectory(dir=backup_dir(), prefix=".reading-") as work:
        return _open(backup_dir() / backup.file, Path(work)).manifest["tables"]


def backup_verify(*, backup: Backup) -> Backup:
    """Open the backup's file and check it: the seal, the manifest, the database copy (for
    SQLite every table's count and checksum again; for PostgreSQL ``pg_restore --list``
    reads the whole dump), the media files listed. Records the result on ``backup``."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(dir=backup_dir(), prefix=".verifying-") as work:
        try:
            opened = _open(backup_dir() / backup.file, Path(work))
        except BackupRefused as error:
            problems.append(str(error))
        else:
            if opened.manifest["engine"] == "sqlite":
                problems += _compare(opened.manifest["tables"], sqlite_checksums(opened.database))
            else:
                done = subprocess.run(
                    ["pg_restore", "--list", str(opened.database)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if done.returncode:
                    problems.append(done.stderr[-300:])
            missing = [m for m in opened.media if not (opened.folder / "media" / m).is_file()]
            if missing:
                problems.append(_("%(count)s media files missing") % {"count": len(missing)})
    backup.verified_at = timezone.now()
    backup.verified_ok = not problems
    backup.verification = "\n".join(problems) or _(
        "%(tables)s tables, %(rows)s rows and %(media)s media files match the manifest."
    ) % {"tables": backup.tables, "rows": backup.rows, "media": backup.media_files}
    backup.save(update_fields=["verified_at", "verified_ok", "verification"])
    return backup


# --- restoring --------------------------------------------------------------------------


@dataclass
class Restored:
    engine: str
    tables: int
    rows: int
    media_files: int
    problems: list[str]


def _is_empty(db: dict, engine: str) -> bool:
    if engine == "sqlite":
        path = Path(db["NAME"])
        if not path.exists() or path.stat().st_size == 0:
            return True
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return not con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table'"
            ).fetchone()[0]
        finally:
            con.close()
    con = _pg_connect(db)
    try:
        return not con.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()[0]
    finally:
        con.close()


def backup_restore(*, path: Path, db: dict, media_root: Path) -> Restored:
    """Restore the backup ``path`` into the empty database ``db`` (a DATABASES entry) and the
    media files into ``media_root``, then compare every table with the manifest.

    Refuses — changing nothing — a file that fails authentication (damaged, wrong key), a
    backup of another engine, a database that is not empty and media files that exist."""
    engine = _engine(db)
    with tempfile.TemporaryDirectory(prefix="kvartal-restore-") as work:
        opened = _open(Path(path), Path(work))
        if opened.manifest["engine"] != engine:
            raise BackupRefused(
                _("This is a %(backup)s backup; the database is %(database)s.")
                % {"backup": opened.manifest["engine"], "database": engine}
            )
        if not _is_empty(db, engine):
            raise BackupRefused(_("The database is not empty: restore into a new, empty database."))
        clashes = [m for m in opened.media if (media_root / m).exists()]
        if clashes:
            raise BackupRefused(
                _(
                    "%(count)s media files exist already (e.g. %(file)s): "
                    "restore into an empty media folder."
                )
                % {"count": len(clashes), "file": clashes[0]}
            )
        if engine == "sqlite":
            source = sqlite3.connect(opened.database)
            target = sqlite3.connect(db["NAME"])
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            found = sqlite_checksums(Path(db["NAME"]))
        else:
            args, env = _pg_args(db)
            done = subprocess.run(
                ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
                 "--exit-on-error", *args, str(opened.database)],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode:
                raise BackupRefused(
                    _("pg_restore failed (nothing was restored): %(error)s")
                    % {"error": done.stderr[-500:]}
                )
            con = _pg_connect(db)
            try:
                found = pg_checksums(con)
            finally:
                con.rollback()
                con.close()
        for name in opened.media:
            target = media_root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(opened.folder / "media" / name, target)
    tables = opened.manifest["tables"]
    return Restored(
        engine=engine,
        tables=len(tables),
        rows=sum(t["rows"] for t in tables.values()),
        media_files=len(opened.media),
        problems=_compare(tables, found),
    )


# --- rotation ---------------------------------------------------------------------------


def backups_rotate() -> list[str]:
    """Keep the newest backup of each of the last ``KVARTAL_BACKUP_DAILY`` days, of each of
    the last ``…_WEEKLY`` ISO weeks and of each of the last ``…_MONTHLY`` months (in the
    company's time zone); delete the others' files and rows. Returns the deleted names."""
    keep_days = getattr(settings, "KVARTAL_BACKUP_DAILY", 7)
    keep_weeks = getattr(settings, "KVARTAL_BACKUP_WEEKLY", 4)
    keep_months = getattr(settings, "KVARTAL_BACKUP_MONTHLY", 12)
    backups = list(Backup.objects.order_by("-created_at", "-pk"))
    kept: set[int] = set()
    for limit, period in (
        (keep_days, lambda d: d.date()),
        (keep_weeks, lambda d: d.isocalendar()[:2]),
        (keep_months, lambda d: (d.year, d.month)),
    ):
        seen: list = []
        for backup in backups:
            if backup.verified_ok is False:
                continue  # a failed backup keeps no period
            key = period(timezone.localtime(backup.created_at))
            if key in seen:
                continue
            if len(seen) >= limit:
                break
            seen.append(key)
            kept.add(backup.pk)
    newest_ok = next((b.created_at for b in backups if b.verified_ok), None)
    gone = []
    for backup in backups:
        failed_lately = not backup.verified_ok and (
            newest_ok is None or backup.created_at > newest_ok
        )  # shown on the page until a good one follows
        if backup.pk not in kept and not failed_lately:
            (backup_dir() / backup.file).unlink(missing_ok=True)
            backup.delete()
            gone.append(backup.file)
    return gone
