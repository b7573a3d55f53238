"""What the console's home page shows: the platform's health and the state of its work, read in one
place. This module composes every app's read side, so it lives in the project package (the
composition root) rather than in `apps.core`, which no domain app may be imported by.

Reads only. Every dependency check has a short timeout so a dead Redis or an absent Celery worker
shows red within about a second instead of hanging the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from apps.core.admin_display import admin_url
from apps.core.selectors import check_health
from apps.evidence.models import EvidenceRecord, MaterializeRun
from apps.interactions.models import Interaction
from apps.indexes.models import IndexJob, VectorIndex
from apps.indexes.selectors import describe_index
from apps.replay.models import ReplayBatch
from apps.workers.models import IngestJob

PROBE_TIMEOUT_S = 0.5
RECENT_JOBS = 8
IN_FLIGHT = ("queued", "running")


def _redis_probe() -> redis.Redis:
    # A throwaway client read from settings on every call (not the process-wide pool): short timeouts,
    # no retry, and a changed REDIS_URL takes effect at once.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=PROBE_TIMEOUT_S)


def dependency_health() -> dict[str, Any]:
    """PostgreSQL (+ server and pgvector versions), Redis (+ version), Celery workers and queue depth."""
    probe = _redis_probe()
    try:
        report = check_health(celery_timeout_s=PROBE_TIMEOUT_S, redis_client=probe)
        if report["database"]["ok"]:
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                report["database"]["server_version"] = cursor.fetchone()[0].split(" ")[0]
        report["queues"] = {}
        if report["redis"]["ok"]:
            try:
                report["redis"]["version"] = probe.info("server").get("redis_version")
                from lakehouse.celery import all_queue_names

                report["queues"] = {queue: probe.llen(queue) for queue in all_queue_names()}
            except redis.RedisError as exc:
                report["redis"] = {"ok": False, "error": str(exc)[:300]}
    finally:
        probe.close()
    return report


@dataclass(frozen=True)
class JobLine:
    """One job of any kind, as the dashboard's jobs panel lists it."""

    kind: str
    label: str
    model: type
    pk: Any
    status: str
    progress: float | None
    detail: str
    created_at: Any
    finished_at: Any

    @property
    def url(self) -> str | None:
        return admin_url(self.model, self.pk)


# ---------------------------------------------------------------------------------------------------
# JOBS PANEL SOURCE — a stand-in over the four job models until the unified `list_jobs()` of the jobs
# framework lands; swap this function for it at merge (the template reads only JobLine's fields).
# ---------------------------------------------------------------------------------------------------
def recent_jobs(limit: int = RECENT_JOBS, *, user: Any = None) -> list[JobLine]:
    """Running and recent jobs of every kind the user may view (all kinds without a user)."""

    def visible(model: type) -> bool:
        return user is None or user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")

    lines: list[JobLine] = []
    for job in IngestJob.objects.order_by("-created_at").defer("errors", "warnings")[:limit if visible(IngestJob) else 0]:
        lines.append(JobLine("ingest", f"ingest {job.pk}", IngestJob, job.pk, job.status, job.progress,
                             f"{job.source.rsplit('/', 1)[-1]}: {job.rows_written:,} written, {job.rows_rejected:,} rejected",
                             job.created_at, job.finished_at))
    for job in IndexJob.objects.select_related("index").order_by("-created_at")[:limit if visible(IndexJob) else 0]:
        lines.append(JobLine(job.kind, f"{job.kind} {job.index.name} {job.pk}", IndexJob, job.pk, job.status, job.progress,
                             f"{job.rows_done:,} / {job.rows_total:,} rows", job.created_at, job.finished_at))
    for run in MaterializeRun.objects.order_by("-created_at").only(
        "run_id", "status", "mode", "records_written", "errors_count", "created_at", "finished_at"
    )[:limit if visible(MaterializeRun) else 0]:
        lines.append(JobLine("materialize", run.run_id, MaterializeRun, run.pk, run.status, None,
                             f"{run.mode}: {run.records_written:,} records, {run.errors_count:,} errors", run.created_at, run.finished_at))
    for batch in ReplayBatch.objects.order_by("-created_at")[:limit if visible(ReplayBatch) else 0]:
        done = batch.passed + batch.failed + batch.errors + batch.skipped
        lines.append(JobLine("replay", batch.batch_id, ReplayBatch, batch.pk, batch.status,
                             100.0 * done / batch.total if batch.total else None,
                             f"{done:,} / {batch.total:,} runs, {batch.regressions:,} regressions", batch.created_at, batch.finished_at))
    # In-flight first, then newest.
    lines.sort(key=lambda line: (line.status not in IN_FLIGHT, -line.created_at.timestamp()))
    return lines[:limit]


def corpus() -> dict[str, Any]:
    """Sizes of what the platform holds and the version of every vector index."""
    return {
        "indexes": [describe_index(index) for index in VectorIndex.objects.order_by("name")],
        "evidence_records": EvidenceRecord.objects.count(),
        "interactions": _estimated_rows(Interaction._meta.db_table),
    }


def _estimated_rows(table: str) -> int:
    # The planner's estimate: the interaction log grows without bound and an exact count is a full scan.
    with connection.cursor() as cursor:
        cursor.execute("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def last_materialize_run() -> MaterializeRun | None:
    return MaterializeRun.objects.order_by("-created_at").first()


def last_replay_batch() -> ReplayBatch | None:
    return ReplayBatch.objects.order_by("-created_at").first()
