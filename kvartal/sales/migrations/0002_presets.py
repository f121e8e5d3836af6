from django.db import migrations


def install(apps, schema_editor):
    from kvartal.sales.presets import install as install_presets

    install_presets(apps)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
