"""Interaction now belongs to apps.interactions (same table, see interactions 0001): drop it from
this app's state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("evidence", "0002_materializer"),
        ("interactions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Interaction")], database_operations=[]),
    ]
