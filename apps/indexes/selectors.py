"""Reads of the vector index registry, with live stats from PostgreSQL's catalogs."""

from __future__ import annotations

from typing import Any

import redis
from django.db import connection

from apps.core.errors import NotFound
from apps.core.redis import get_redis
from apps.indexes import version_mirror
from apps.indexes.models import IndexJob, VectorIndex
from apps.indexes.registry import all_specs

_UNREAD = object()


def index_version(name: str, *, mirrored: bytes | None | object = _UNREAD) -> int:
    """The current version: from its Redis mirror (apps.indexes.version_mirror), else from the registry
    row, which then refills the mirror. `mirrored` is the mirror's value when the caller already read it
    in its own Redis round trip (a search reads it with its cache lookups)."""
    if mirrored is _UNREAD:
        try:
            mirrored = get_redis().get(version_mirror.key(name))
        except (redis.exceptions.RedisError, OSError):
            mirrored = None  # Redis down: PostgreSQL answers, as it did before the mirror
    version = version_mirror.parse(mirrored)
    if version is None:
        version = database_index_version(name)
        version_mirror.remember(name, version)
    return version


def database_index_version(name: str) -> int:
    """The version in the registry row (one indexed lookup), the truth every write bumps."""
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
