import django.utils.timezone
from django.db import migrations, models


def fill(apps, schema_editor):
    # Existing visits were logged when received, as far as anyone can tell.
    Visit = apps.get_model("petitions", "Visit")
    Visit.objects.update(created_at=models.F("received_at"))


class Migration(migrations.Migration):
    dependencies = [("petitions", "0003_personal_data_encrypted")]
    operations = [
        migrations.AddField(
            model_name="visit",
            name="created_at",
            field=models.DateTimeField(
                auto_now_add=True, default=django.utils.timezone.now, verbose_name="登记时间"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
