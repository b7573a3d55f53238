"""Reads of the playbook memory (SPEC §4.6): the memory lookup the boosted search uses, and lists.

The boosted search itself is assembled in `apps.search.services`; this app knows nothing of workers."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from apps.core.vectors import vector_literal
from apps.playbooks.boost import PlaybookHit
from apps.playbooks.models import Playbook

# The newest rows are always scanned exactly, whatever the table size: pgvector < 0.8.4 can miss freshly
# inserted (or churned) rows in an HNSW scan until VACUUM, and read-your-writes must hold. Bounded by
# row count, not time, so the exact part costs the same under any write rate.
RECENT_ROWS = 2000


def nearest_playbooks(
    vector: np.ndarray, *, city: str | None = None, state: str | None = None, role: str | None = None
) -> list[PlaybookHit]:
    """The playbooks most similar to the query, above PLAYBOOK_MIN_SIMILARITY, at most
    PLAYBOOK_MAX_PLAYBOOKS, restricted to the search's city/state/role when it names them.

    Access path: an exact scan while the memory is small (≤ PLAYBOOK_EXACT_SCAN_MAX_ROWS rows, i.e.
    every realistic size and always right after a reset); above that, the HNSW index for the bulk
    plus an exact scan of the newest rows, so a record is visible to the very next search.
    """
    table = Playbook._meta.db_table
    literal = vector_literal(vector)
    clauses, params = ["1 - (query_embedding <=> %s::vector) >= %s"], [literal, settings.PLAYBOOK_MIN_SIMILARITY]
    for key, value in (("city", city), ("state", state), ("role", role)):
        if value:
            clauses.append(f"(filters->>'{key}' IS NULL OR filters->>'{key}' = %s)")
            params.append(value)
    where = " AND ".join(clauses)
    limit = settings.PLAYBOOK_MAX_PLAYBOOKS
    columns = "id, 1 - (query_embedding <=> %s::vector) AS similarity, outcome, worker_ids, created_at"
    # Ties (the same query recorded again) go to the newest playbook.
    exact = f"SELECT {columns} FROM {table} WHERE {where} ORDER BY (query_embedding <=> %s::vector) + 0, id DESC LIMIT %s"
    with transaction.atomic(), connection.cursor() as cursor:
        if _estimated_rows(cursor, table) <= settings.PLAYBOOK_EXACT_SCAN_MAX_ROWS:
            cursor.execute(exact, [literal, *params, literal, limit])
            rows = cursor.fetchall()
        else:
            cursor.execute(f"SET LOCAL hnsw.ef_search = {max(40, 4 * limit)}")
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE {where} ORDER BY query_embedding <=> %s::vector LIMIT %s",
                [literal, *params, literal, limit],
            )
            rows = cursor.fetchall()
            recent = f"WHERE id > (SELECT coalesce(max(id), 0) - {RECENT_ROWS} FROM {table}) AND"
            cursor.execute(exact.replace("WHERE", recent, 1), [literal, *params, literal, limit])
            rows = sorted({r[0]: r for r in rows + cursor.fetchall()}.values(), key=lambda r: (-r[1], -r[0]))[:limit]
    return [PlaybookHit(id=r[0], similarity=float(r[1]), outcome=r[2], worker_ids=tuple(r[3]), created_at=r[4]) for r in rows]


def _estimated_rows(cursor, table: str) -> float:
    """Planner's row estimate: free to read; -1 (never analyzed) means small and new."""
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
    return float(cursor.fetchone()[0])


def playbook_list():
    return Playbook.objects.defer("query_embedding").select_related("order").order_by("-created_at")


def playbooks_with_worker(worker_id: str, *, limit: int = 20) -> list[Playbook]:
    """Playbooks that include the worker, newest first (the GIN index on worker_ids)."""
    return list(Playbook.objects.filter(worker_ids__contains=[worker_id]).select_related("order").defer("query_embedding").order_by("-created_at")[:limit])
