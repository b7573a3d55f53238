"""Reads of the playbook memory (SPEC §4.6): the memory lookup the boosted search uses, and lists.

The boosted search itself is assembled in `apps.search.services`; this app knows nothing of workers."""

from __future__ import annotations

import time

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from apps.core.selectors import pgvector_at_least
from apps.core.vectors import vector_literal
from apps.playbooks.boost import PlaybookHit
from apps.playbooks.models import Playbook

# Beside the graph walk, the newest rows are scanned exactly, so a fill is boosted by the very next
# search (read-your-writes): a query recorded again and again has that many equally near playbooks,
# and the walk's PLAYBOOK_WALK_MAX_TUPLES may all be older copies. pgvector < 0.8.4 can also miss
# freshly inserted (or churned) rows in an HNSW scan until VACUUM, so it gets a wider window. Bounded
# by row count, not time, so the exact part costs the same under any write rate.
RECENT_ROWS = 256
RECENT_ROWS_OLD_PGVECTOR = 2000


def nearest_playbooks(
    vector: np.ndarray, *, city: str | None = None, state: str | None = None, role: str | None = None
) -> list[PlaybookHit]:
    """The playbooks most similar to the query, above PLAYBOOK_MIN_SIMILARITY, at most
    PLAYBOOK_MAX_PLAYBOOKS, restricted to the search's city/state/role when it names them.

    Access path: an exact scan while the memory is small (≤ PLAYBOOK_EXACT_SCAN_MAX_ROWS rows, and
    always right after a reset); above that, the PLAYBOOK_WALK_MAX_TUPLES nearest by the HNSW
    index, filtered, plus an exact scan of the newest rows (RECENT_ROWS), so the lookup does not grow
    with the memory (issue 18) and a record is visible to the very next search.
    """
    table = Playbook._meta.db_table
    literal = vector_literal(vector)
    matches, match_params = [], []
    for key, value in (("city", city), ("state", state), ("role", role)):
        if value:
            matches.append(f"(filters->>'{key}' IS NULL OR filters->>'{key}' = %s)")
            match_params.append(value)
    where = " AND ".join(["1 - (query_embedding <=> %s::vector) >= %s", *matches])
    params = [literal, settings.PLAYBOOK_MIN_SIMILARITY, *match_params]
    limit = settings.PLAYBOOK_MAX_PLAYBOOKS
    columns = "id, 1 - (query_embedding <=> %s::vector) AS similarity, outcome, worker_ids, created_at"
    # Ties (the same query recorded again) go to the newest playbook.
    exact = f"SELECT {columns} FROM {table} WHERE {where} ORDER BY (query_embedding <=> %s::vector) + 0, id DESC LIMIT %s"
    if _estimated_rows(table) <= settings.PLAYBOOK_EXACT_SCAN_MAX_ROWS:
        with connection.cursor() as cursor:  # one round trip: no transaction, no SET
            cursor.execute(exact, [literal, *params, literal, limit])
            rows = cursor.fetchall()
    else:
        # The nearest PLAYBOOK_WALK_MAX_TUPLES by the graph, then the floor and the city/state/role
        # match on those: a fixed amount of work at any memory size. Filtering inside the walk instead
        # (an iterative scan) costs the most exactly when few playbooks match, which is the usual case.
        walk_size = int(settings.PLAYBOOK_WALK_MAX_TUPLES)
        with transaction.atomic(), connection.cursor() as cursor:
            # An iterative scan (a search's session setting on this pooled connection) is turned off:
            # pgvector < 0.8 has no such setting, so it is only named where it exists.
            iterative_off = "; SET LOCAL hnsw.iterative_scan = off" if pgvector_at_least(0, 8) else ""
            cursor.execute(f"SET LOCAL hnsw.ef_search = {max(40, walk_size)}{iterative_off}")
            cursor.execute(
                f"WITH walk AS MATERIALIZED (SELECT {columns}, filters FROM {table} "
                f"ORDER BY query_embedding <=> %s::vector LIMIT %s) "
                f"SELECT id, similarity, outcome, worker_ids, created_at FROM walk WHERE {' AND '.join(['similarity >= %s', *matches])} "
                "ORDER BY similarity DESC, id DESC LIMIT %s",
                [literal, literal, walk_size, settings.PLAYBOOK_MIN_SIMILARITY, *match_params, limit],
            )
            rows = cursor.fetchall()
            window = RECENT_ROWS if pgvector_at_least(0, 8, 4) else RECENT_ROWS_OLD_PGVECTOR
            recent = f"WHERE id > (SELECT coalesce(max(id), 0) - {window} FROM {table}) AND"
            cursor.execute(exact.replace("WHERE", recent, 1), [literal, *params, literal, limit])
            rows = sorted({r[0]: r for r in rows + cursor.fetchall()}.values(), key=lambda r: (-r[1], -r[0]))[:limit]
    return [PlaybookHit(id=r[0], similarity=float(r[1]), outcome=r[2], worker_ids=tuple(r[3]), created_at=r[4]) for r in rows]


# (monotonic time read, estimate) per table: it picks the access path, and either path answers right, so
# each process re-reads it at most every ESTIMATE_TTL_S instead of once per search.
_estimates: dict[str, tuple[float, float]] = {}
ESTIMATE_TTL_S = 5.0


def _estimated_rows(table: str) -> float:
    """Planner's row estimate (-1: never analyzed, i.e. small and new), at most ESTIMATE_TTL_S old."""
    now = time.monotonic()
    cached = _estimates.get(table)
    if cached is not None and now - cached[0] < ESTIMATE_TTL_S:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        estimate = float(cursor.fetchone()[0])
    _estimates[table] = (now, estimate)
    return estimate


def playbook_list():
    return Playbook.objects.defer("query_embedding").select_related("order").order_by("-created_at")


def playbooks_with_worker(worker_id: str, *, limit: int = 20) -> list[Playbook]:
    """Playbooks that include the worker, newest first (the GIN index on worker_ids)."""
    return list(Playbook.objects.filter(worker_ids__contains=[worker_id]).select_related("order").defer("query_embedding").order_by("-created_at")[:limit])
