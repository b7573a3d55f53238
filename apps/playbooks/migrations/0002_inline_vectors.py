from django.db import migrations


class Migration(migrations.Migration):
    """Keep query vectors inline (never TOASTed): the exact scan of the playbook memory then reads
    each vector without a detoast, the same choice as workers.embedding."""

    dependencies = [("playbooks", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE playbooks_playbook ALTER COLUMN query_embedding SET STORAGE PLAIN",
            "ALTER TABLE playbooks_playbook ALTER COLUMN query_embedding SET STORAGE EXTENDED",
        )
    ]
