"""Recovery codes stored in clear before this migration are replaced by their digests; each
still works once (the user types the same code). Not reversible: a digest gives no code back
(going back leaves the digests, which the earlier code then cannot match — issue new codes)."""

from django.db import migrations

from kvartal.accounts import recovery


def hash_clear_codes(apps, schema_editor):
    StaticToken = apps.get_model("otp_static", "StaticToken")
    clear = [t for t in StaticToken.objects.all() if not recovery.is_digest(t.token)]
    for token in clear:
        token.token = recovery.digest(token.token)
    StaticToken.objects.bulk_update(clear, ["token"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_user_session"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(hash_clear_codes, migrations.RunPython.noop)]
