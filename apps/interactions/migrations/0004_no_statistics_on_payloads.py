"""No planner statistics on the interaction log's JSON payloads.

The log grows with every API request (~500 rows/s under the multitier load), so autovacuum analyzes it
every few minutes, and most of that work was detoasting and summarizing the `request`, `response` and
`errors` documents of its 30,000-row sample: statistics nothing ever uses, since no query filters on
those documents across the table (issue 18). The other columns keep theirs.
"""

from django.db import migrations

PAYLOADS = ("request", "response", "errors")


class Migration(migrations.Migration):
    dependencies = [("interactions", "0003_decisions_audit")]

    operations = [
        migrations.RunSQL(
            sql=[f"ALTER TABLE evidence_interaction ALTER COLUMN {column} SET STATISTICS 0" for column in PAYLOADS],
            reverse_sql=[f"ALTER TABLE evidence_interaction ALTER COLUMN {column} SET STATISTICS -1" for column in PAYLOADS],
        ),
    ]
