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
from apps.core.selectors import check_health, list_jobs
from apps.evidence.models import EvidenceRecord, MaterializeRun
from apps.interactions.models import Interaction
from apps.indexes.models import VectorIndex
from apps.indexes.selectors import describe_index
from apps.replay.models import ReplayBatch

PROBE_TIMEOUT_S = 0.5
RECENT_JOBS = 8


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


def recent_jobs(limit: int = RECENT_JOBS, *, user: Any = None) -> list[JobLine]:
    """Running jobs, then the most recent, of every kind the user may view (all kinds without a user),
    from the job framework's one listing."""

    def visible(job: Any) -> bool:
        opts = job._meta
        return user is None or user.has_perm(f"{opts.app_label}.view_{opts.model_name}")

    seen: set[tuple[str, Any]] = set()
    lines: list[JobLine] = []
    for job in [*list_jobs(status="running", limit=limit), *list_jobs(limit=limit)]:
        key = (job.job_kind, job.pk)
        if key in seen or not visible(job):
            continue
        seen.add(key)
        lines.append(JobLine(job.job_kind, str(job), type(job), job.pk, job.status, job.progress, _summary(job), job.created_at, job.finished_at))
    return lines[:limit]


def _summary(job: Any) -> str:
    """The kind's first few numeric counters, as an operator reads them ("rows_written 1,200")."""
    counters = [(name, value) for name, value in job.job_counters().items() if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return ", ".join(f"{name.replace('_', ' ')} {value:,.0f}" for name, value in counters[:4])


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


def replay_cost_by_day(days: int = 7) -> list[dict[str, Any]]:
    """The model cost of replay per day (newest first), formatted; unpriced runs make it a lower bound."""
    from apps.replay.pricing import format_cost
    from apps.replay.selectors import cost_by_day

    return [{**row, "cost": format_cost(row["cost_usd"], row["unpriced_runs"])} for row in cost_by_day()[:days]]
