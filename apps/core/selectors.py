"""Read-side checks of the platform's dependencies."""

from __future__ import annotations

from typing import Any

import redis
from django.db import connection

from apps.core.redis import get_redis


def pgvector_version() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    return row[0] if row else None


def check_health(*, celery_timeout_s: float = 1.0, redis_client: redis.Redis | None = None) -> dict[str, Any]:
    """Database (+pgvector version), Redis and the Celery workers that answer a ping.

    Each check is independent: one dependency being down never hides the state of the others.
    `redis_client` replaces the process-wide client (the dashboard probes with short timeouts).
    """
    down: list[str] = []
    report: dict[str, Any] = {}

    try:
        version = pgvector_version()
        report["database"] = {"ok": True, "pgvector": version}
        report["pgvector"] = version
        if version is None:
            down.append("pgvector")
    except Exception as exc:  # any failure here means "database down" to an operator
        report["database"] = {"ok": False, "error": str(exc).strip()[:300]}
        report["pgvector"] = None
        down.append("database")

    redis_ok = False
    try:
        redis_ok = bool((redis_client or get_redis()).ping())
        report["redis"] = {"ok": redis_ok}
    except Exception as exc:
        report["redis"] = {"ok": False, "error": str(exc).strip()[:300]}
    if not redis_ok:
        down.append("redis")

    workers = 0
    if redis_ok:
        from lakehouse.celery import app

        try:
            workers = len(app.control.ping(timeout=celery_timeout_s) or [])
            report["celery"] = {"ok": workers > 0, "workers": workers}
        except Exception as exc:
            report["celery"] = {"ok": False, "workers": 0, "error": str(exc).strip()[:300]}
    else:
        report["celery"] = {"ok": False, "workers": 0, "error": "broker (redis) is down"}
    report["celery_workers"] = workers
    if workers == 0:
        down.append("celery")

    report["status"] = "ok" if not down else "unavailable"
    report["down"] = down
    return report
