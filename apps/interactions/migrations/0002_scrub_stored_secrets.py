"""Rows logged before the secret scrubber (SPEC §3.5) lose their credentials, SSNs and card numbers."""

from django.db import migrations

from apps.interactions.backfill import scrub_stored_rows


def _scrub(apps, schema_editor):
    scrub_stored_rows(apps.get_model("interactions", "Interaction"), ("actor", "request", "response", "errors"))


class Migration(migrations.Migration):

    dependencies = [("interactions", "0001_initial")]

    operations = [migrations.RunPython(_scrub, migrations.RunPython.noop, elidable=True)]
