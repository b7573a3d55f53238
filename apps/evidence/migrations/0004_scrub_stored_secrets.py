"""Evidence records written before the secret scrubber (SPEC §3.5) lose their credentials (SSNs and
cards were already masked by pii_redaction; scrubbing again changes nothing there), and so do the
error messages kept on runs. The day files already written still hold them until each day is
rewritten from the table: ``manage.py materialize --rebuild-day D`` for each day under
``KB_DIR/evidence/``; its receipt lists the replaced files (``previous``: path, sha256, records)
next to the new file's sha256."""

from django.db import migrations

from apps.interactions.backfill import scrub_stored_rows


def _scrub(apps, schema_editor):
    scrub_stored_rows(apps.get_model("evidence", "EvidenceRecord"), ("input", "output", "verdict", "labels", "metadata"))
    scrub_stored_rows(apps.get_model("evidence", "MaterializeRun"), ("errors",))


class Migration(migrations.Migration):

    dependencies = [("evidence", "0003_interaction_moved")]

    operations = [migrations.RunPython(_scrub, migrations.RunPython.noop, elidable=True)]
