"""Worker coordinates for radius search (SPEC §4.3 `near`), backfilled from the stored ZIPs."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    # Raw SQL over distinct ZIPs (a few hundred), not per row: the service is the same code the
    # `backfill_worker_coordinates` command runs.
    from apps.workers.services import backfill_worker_coordinates

    backfill_worker_coordinates(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("workers", "0004_job_base"),
    ]

    operations = [
        migrations.AddField(model_name="worker", name="latitude", field=models.FloatField(blank=True, null=True)),
        migrations.AddField(model_name="worker", name="longitude", field=models.FloatField(blank=True, null=True)),
        migrations.AddIndex(
            model_name="worker",
            index=models.Index(fields=["latitude", "longitude"], name="worker_lat_lon"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
