"""Restore a backup into an empty database and verify every table against its manifest."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from kvartal.ops.backups import BackupRefused, backup_restore


class Command(BaseCommand):
    help = (
        "Restore FILE (made by manage.py backup) into the empty database and media folder, "
        "then compare each table's row count and checksum with the backup's."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--database", default="default")

    def handle(self, *args, file, database, **options):
        db = connections[database].settings_dict
        connections[database].close()
        try:
            restored = backup_restore(path=Path(file), db=db, media_root=Path(settings.MEDIA_ROOT))
        except BackupRefused as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"restored {restored.tables} tables, {restored.rows} rows, "
            f"{restored.media_files} media files ({restored.engine})"
        )
        if restored.problems:
            for problem in restored.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError("the restored database differs from the backup")
        self.stdout.write("verified: every table's row count and checksum match the backup")
