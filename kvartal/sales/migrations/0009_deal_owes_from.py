from django.conf import settings
from django.db import migrations
from django.db import models as fields


def fill(apps, schema_editor):
    """Every existing deal's ``owes_from`` from its rows, as the receivers keep it."""
    from kvartal.sales import owing

    models = tuple(apps.get_model("sales", n) for n in ("Deal", "PaymentLine", "Payment"))
    owing.keep(models[0].objects.values_list("pk", flat=True), models)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0004_needs_list_tags_people"),
        ("inventory", "0004_alter_floor_plan_alter_unit_layout"),
        ("sales", "0008_conditional_promotions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="deal",
            name="owes_from",
            field=fields.DateField(blank=True, editable=False, null=True, verbose_name="owes from"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=fields.Index(
                condition=fields.Q(("is_active", True), ("owes_from__isnull", False)),
                fields=["owes_from"],
                name="deal_owes_from",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
