"""Reads of the vector index registry, with live stats from PostgreSQL's catalogs."""

from __future__ import annotations

from typing import Any

from django.db import connection

from apps.core.errors import NotFound
from apps.indexes.models import IndexJob, VectorIndex
from apps.indexes.registry import all_specs


def index_version(name: str) -> int:
    """The current version, read from the registry row (one indexed lookup): the database is where
    every write bumps it, so a cache keyed on it can never be stale."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM indexes_vectorindex WHERE name = %s", [name])
        row = cursor.fetchone()
    # No row yet (registry rows are created after migrate): nothing has bumped it.
    return row[0] if row else 0


def get_index(name: str) -> VectorIndex:
    """The registry row of a registered index (created after migrate, see IndexesConfig.ready)."""
    index = VectorIndex.objects.filter(name=name).first()
    if index is None:
        raise NotFound(f"Index {name!r} has no registry row yet; run migrate.")
    return index


def _stats(index: VectorIndex) -> dict[str, Any]:
    with connection.cursor() as cursor:
        # Rows that carry a vector: the whole table for a required column, the embedded rows for an
        # optional one (the workers' semantic vector).
        cursor.execute(f'SELECT count("{index.column}") FROM "{index.table}"')
        rows = cursor.fetchone()[0]
        cursor.execute(
            "SELECT coalesce(pg_total_relation_size(to_regclass(%s)), 0), coalesce(pg_relation_size(to_regclass(%s)), 0)",
            [index.table, index.index_name],
        )
        table_bytes, index_bytes = cursor.fetchone()
    return {"rows": rows, "size_bytes": int(index_bytes), "table_size_bytes": int(table_bytes)}


def describe_index(index: VectorIndex) -> dict[str, Any]:
    last_job = IndexJob.objects.filter(index=index).order_by("-created_at").first()
    return {
        "name": index.name,
        "dim": index.dim,
        "metric": index.metric,
        **_stats(index),
        "hnsw": {"m": index.hnsw_m, "ef_construction": index.hnsw_ef_construction},
        "version": index.version,
        "state": index.state,
        "last_reset_at": index.last_reset_at,
        "last_rebuilt_at": index.last_rebuilt_at,
        "last_job": None if last_job is None else describe_job(last_job),
    }


def list_indexes() -> list[dict[str, Any]]:
    registered = [spec.name for spec in all_specs()]
    return [describe_index(index) for index in VectorIndex.objects.filter(name__in=registered).order_by("name")]


def describe_job(job: IndexJob) -> dict[str, Any]:
    return {
        "job_id": job.pk,
        "index": job.index.name,
        "kind": job.kind,
        "status": job.status,
        "task_id": job.task_id,
        "progress": job.progress,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "only_missing": job.only_missing,
        "error": job.error,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "heartbeat_at": job.heartbeat_at,
        "retry_of": job.retry_of_id,
    }
