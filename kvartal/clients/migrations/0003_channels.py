"""The ten shipped lead channels (editable afterwards) and normalised contacts of existing
clients."""

import re

from django.db import migrations

def install(apps, schema_editor):
    from kvartal.clients.presets import install as install_channels

    install_channels(apps)
    Client = apps.get_model("clients", "Client")
    for client in Client.objects.exclude(phone="", email="").iterator():
        digits = re.sub(r"\D", "", client.phone)
        if len(digits) == 11 and digits[0] in "78":
            client.phone_normalized = "+7" + digits[1:]
        elif len(digits) == 10 and digits[0] == "9":
            client.phone_normalized = "+7" + digits
        client.email_normalized = client.email.strip().lower()
        client.save(update_fields=["phone_normalized", "email_normalized"])


class Migration(migrations.Migration):
    dependencies = [("clients", "0002_contacts_leads_tasks")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
