from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("indexes", "0003_indexjob_only_missing")]

    operations = [
        migrations.AddField(model_name="vectorindex", name="row_count", field=models.BigIntegerField(blank=True, null=True)),
    ]
