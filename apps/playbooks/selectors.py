"""Reads of the playbook memory and the boosted search (SPEC §4.6)."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.playbooks.boost import PlaybookHit, final_score, worker_boosts
from apps.playbooks.models import Playbook
from apps.workers.search import SearchPlan, SearchRequest, filter_sql
from apps.workers.selectors import result_from_row, RESULT_SELECT, vector_literal, nearest_workers

# The newest rows are always scanned exactly, whatever the table size: pgvector < 0.8.4 can miss freshly
# inserted (or churned) rows in an HNSW scan until VACUUM, and read-your-writes must hold. Bounded by
# row count, not time, so the exact part costs the same under any write rate.
RECENT_ROWS = 2000


def nearest_playbooks(vector: np.ndarray, request: SearchRequest) -> list[PlaybookHit]:
    """The playbooks most similar to the query, above PLAYBOOK_MIN_SIMILARITY, at most
    PLAYBOOK_MAX_PLAYBOOKS, restricted to the request's city/state/role when it names them.

    Access path: an exact scan while the memory is small (≤ PLAYBOOK_EXACT_SCAN_MAX_ROWS rows, i.e.
    every realistic size and always right after a reset); above that, the HNSW index for the bulk
    plus an exact scan of the newest rows, so a record is visible to the very next search.
    """
    table = Playbook._meta.db_table
    literal = vector_literal(vector)
    clauses, params = ["1 - (query_embedding <=> %s::vector) >= %s"], [literal, settings.PLAYBOOK_MIN_SIMILARITY]
    for key in ("city", "state", "role"):
        value = getattr(request.filters, key)
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


def boosted_search(request: SearchRequest, vector: np.ndarray, *, version: int) -> tuple[list[dict[str, Any]], SearchPlan, list[dict[str, Any]]]:
    """Nearest workers re-ranked by similarity + β × playbook boost.

    Workers boosted by a playbook but outside the nearest candidates are fetched and ranked too — only
    those that pass every filter and exclusion, because the same WHERE clause selects them.
    """
    hits = nearest_playbooks(vector, request)
    now = timezone.now()
    boosts = worker_boosts(hits, now=now, half_life_days=settings.PLAYBOOK_HALF_LIFE_DAYS)
    negatives = sum(1 for b in boosts.values() if b < 0)
    # A demoted worker may leave the top k, so fetch enough plain candidates to refill it.
    candidates, plan = nearest_workers(request, vector, version=version, k=min(request.k + negatives, request.k + 100))
    by_id = {r["worker_id"]: r for r in candidates}
    missing = [w for w, b in boosts.items() if b > 0 and w not in by_id and w not in set(request.exclude_ids)]
    if missing:
        for row in _workers_by_id(missing, request, vector):
            by_id[row["worker_id"]] = row
    beta = settings.PLAYBOOK_BETA
    for worker_id, result in by_id.items():
        boost = boosts.get(worker_id, 0.0)
        similarity = 1.0 - result["distance"]
        result["playbook_boost"] = round(boost, 6)
        result["score"] = round(final_score(similarity, boost, beta), 6)
    ranked = sorted(by_id.values(), key=lambda r: (-r["score"], r["distance"], r["worker_id"]))[: request.k]
    used = [
        {"id": h.id, "similarity": round(h.similarity, 6), "outcome": h.outcome, "age_days": round((now - h.created_at).total_seconds() / 86400, 3)}
        for h in hits
    ]
    return ranked, plan, used


def _workers_by_id(worker_ids: list[str], request: SearchRequest, vector: np.ndarray) -> list[dict[str, Any]]:
    from apps.workers.models import Worker

    where, params = filter_sql(request.filters, request.exclude_ids)
    literal = vector_literal(vector)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {RESULT_SELECT}, embedding <=> %s::vector AS distance FROM {Worker._meta.db_table} "
            f"WHERE {where} AND worker_id = ANY(%s::text[])",
            [literal, *params, worker_ids],
        )
        return [result_from_row(row) for row in cursor.fetchall()]


def playbook_list():
    return Playbook.objects.defer("query_embedding").select_related("order").order_by("-created_at")
