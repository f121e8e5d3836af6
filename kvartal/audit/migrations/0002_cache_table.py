"""The shared cache's table (settings: KVARTAL_CACHE=db, the default).

The lead API's rate limit and sign-in throttling count in it; a migration makes it so that
``migrate`` alone prepares a new installation. Idempotent; nothing to undo.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
