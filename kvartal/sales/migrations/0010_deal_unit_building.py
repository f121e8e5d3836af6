import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    """Every existing deal unit gets its unit's building."""
    DealUnit = apps.get_model("sales", "DealUnit")
    Unit = apps.get_model("inventory", "Unit")
    DealUnit.objects.update(
        building_id=Subquery(Unit.objects.filter(pk=OuterRef("unit_id")).values("building_id"))
    )


class Migration(migrations.Migration):
    # Not null in the next migration: on PostgreSQL a table whose rows were just updated
    # (deferred foreign-key checks pending) cannot be altered in the same transaction.
    dependencies = [
        ("inventory", "0004_alter_floor_plan_alter_unit_layout"),
        ("sales", "0009_deal_owes_from"),
    ]

    operations = [
        migrations.AddField(
            model_name="dealunit",
            name="building",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inventory.building",
                verbose_name="building",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
