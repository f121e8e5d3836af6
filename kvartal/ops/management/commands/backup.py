"""Back up the database and the media files now (consistent while the app runs)."""

from django.core.management.base import BaseCommand, CommandError

from kvartal.ops import crypto
from kvartal.ops.backups import BackupRefused, backup_create, backup_dir, backups_rotate


class Command(BaseCommand):
    help = "Make a sealed, verified backup of the database and media files; rotate old ones."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument("--no-rotate", action="store_true", help="Keep every old backup.")
        parser.add_argument(
            "--new-key", action="store_true", help="Print a new KVARTAL_BACKUP_KEY and exit."
        )

    def handle(self, *args, database, no_rotate, new_key, **options):
        if new_key:
            self.stdout.write(crypto.new_key())
            return
        try:
            backup = backup_create(database=database)
        except BackupRefused as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{backup_dir() / backup.file}: {backup.size} bytes, {backup.tables} tables, "
            f"{backup.rows} rows, {backup.media_files} media files, {backup.seconds:.2f} s"
        )
        self.stdout.write(f"verification: {backup.verification}")
        if not no_rotate:
            for name in backups_rotate():
                self.stdout.write(f"rotated away: {name}")
        if not backup.verified_ok:
            raise CommandError("the new backup failed its verification")
