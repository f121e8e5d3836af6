import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sales", "0010_deal_unit_building")]

    operations = [
        migrations.AlterField(
            model_name="dealunit",
            name="building",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inventory.building",
                verbose_name="building",
            ),
        ),
    ]
