# A stage's badge follows what it counts as (Stage.badge_class): its own colour no longer
# changed anything shown, so it is no longer a setting.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sales", "0011_deal_unit_building_required")]

    operations = [migrations.RemoveField(model_name="stage", name="colour")]
