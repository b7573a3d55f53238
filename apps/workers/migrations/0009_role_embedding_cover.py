"""A role filter's exact path from one index (issue 18).

The heap is in (state, city, role) order, so a role's rows are spread over it, one page each: the exact
path of a 10,000-row role read 10,000 heap pages, ~1.66 µs a row at 100k. This index holds the vector
and the id in role order, and the scan never touches the heap (PostgreSQL's visibility map, kept by
autovacuum, vouches for the rows): 0.87–1.03 µs a row, 12.3 → 5.8 ms at the median for the biggest
roles (benchmarks/README.md, thirteenth pass). It costs ~200 MB at 100k, about the heap's size, and
builds in under a second.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("workers", "0008_place_statistics"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="worker",
            index=models.Index(
                fields=["role", "status"], include=["id", "embedding"], condition=models.Q(embedding__isnull=False),
                name="worker_role_embedding",
            ),
        ),
    ]
