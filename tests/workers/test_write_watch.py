"""Which statements count as writes to the workers table (apps.workers.apps.writes_workers_table): a
write moves the `workers` version mirror, so a read taken for a write costs every search a PostgreSQL
round trip, and a write taken for a read leaves a stale version. Pure: no database."""

from __future__ import annotations

import pytest

from apps.workers.apps import writes_workers_table


@pytest.mark.parametrize(
    "sql",
    [
        'INSERT INTO "workers_worker" ("worker_id") VALUES (%s)',
        'UPDATE "workers_worker" SET "reliability" = %s WHERE "workers_worker"."id" = %s',
        "  delete from workers_worker where id = 1",
        "TRUNCATE workers_worker",
        "MERGE INTO workers_worker w USING staged s ON w.worker_id = s.worker_id WHEN MATCHED THEN UPDATE SET city = s.city",
        "WITH moved AS (SELECT id FROM staged) UPDATE workers_worker SET status = 'inactive' FROM moved WHERE workers_worker.id = moved.id",
        "WITH gone AS (DELETE FROM workers_worker WHERE status = 'inactive' RETURNING id) SELECT count(*) FROM gone",
    ],
)
def test_writes_are_seen(sql):
    assert writes_workers_table(sql)


@pytest.mark.parametrize(
    "sql",
    [
        # The exact-path kNN: a read inside a WITH.
        "WITH candidates AS MATERIALIZED (SELECT id FROM workers_worker WHERE embedding IS NOT NULL AND status = 'active' "
        "ORDER BY embedding <=> %s LIMIT 50) SELECT w.worker_id FROM candidates c JOIN workers_worker w ON w.id = c.id",
        'SELECT "workers_worker"."worker_id" FROM "workers_worker" WHERE "workers_worker"."updated_at" > %s',
        'SELECT 1 FROM "workers_worker" FOR UPDATE',
        "UPDATE orders_joborder SET status = 'open'",  # a write, but not to the workers table
        None,
    ],
)
def test_reads_and_other_tables_are_not(sql):
    assert not writes_workers_table(sql)
