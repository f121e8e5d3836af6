from django.conf import settings
from django.core.checks import Warning, register


@register("ops", deploy=True)
def backup_key_set(app_configs, **kwargs):
    if getattr(settings, "KVARTAL_BACKUP_KEY", ""):
        return []
    return [
        Warning(
            "KVARTAL_BACKUP_KEY is not set: backups are sealed with a key derived from the "
            "secret key, which a restore on another machine would need as well.",
            hint="Set KVARTAL_BACKUP_KEY (manage.py backup --new-key) and keep it apart "
            "from the backups.",
            id="ops.W001",
        )
    ]
