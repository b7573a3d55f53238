"""The planner learns that a city belongs to one state (issue 18).

Without it PostgreSQL multiplies `state = 'CA'` and `city = 'Los Angeles'` as if they were independent:
1,416 rows estimated for 11,985 at 100k. A search the app plans as a graph walk (its own counts say the
city holds 10 % of the corpus) then ran as a B-tree scan of every row in the city and a sort of their
distances — 9–17 ms instead of a 1 ms walk — on every big-city search (benchmarks/README.md, twelfth
pass). The MCV list holds each (state, city) pair's frequency; `dependencies` covers pairs past it.

ANALYZE fills the new statistics at once: autovacuum would only analyze again after 10 % of the rows
change.
"""

from django.db import migrations

FORWARD = """
CREATE STATISTICS IF NOT EXISTS worker_place_stats (dependencies, mcv) ON state, city FROM workers_worker;
ANALYZE workers_worker;
"""
BACKWARD = "DROP STATISTICS IF EXISTS worker_place_stats;"


class Migration(migrations.Migration):

    dependencies = [("workers", "0007_halfvec_embedding")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
