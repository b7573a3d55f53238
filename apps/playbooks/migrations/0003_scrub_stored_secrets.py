"""Playbooks recorded before the secret scrubber (SPEC §3.5) lose credentials, SSNs and card numbers
from their query and filters. (Their query embeddings stay: a vector holds no text to leak, and the
playbook_memory re-embed recomputes them from the scrubbed query when wanted.)"""

from django.db import migrations

from apps.interactions.backfill import scrub_stored_rows


def _scrub(apps, schema_editor):
    scrub_stored_rows(apps.get_model("playbooks", "Playbook"), ("query", "filters"))


class Migration(migrations.Migration):

    dependencies = [("playbooks", "0002_inline_vectors")]

    operations = [migrations.RunPython(_scrub, migrations.RunPython.noop, elidable=True)]
