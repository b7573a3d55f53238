"""Read-side checks of the platform's dependencies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from typing import Any

import redis
from django.db import connection

from apps.core.redis import get_redis


def pgvector_version() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    return row[0] if row else None


_pgvector_release: tuple[int, ...] | None = None


def pgvector_at_least(*release: int) -> bool:
    """Whether the installed pgvector is at least `release` (e.g. 0, 8, 4); read once per process."""
    global _pgvector_release
    if _pgvector_release is None:
        _pgvector_release = tuple(int(part) for part in (pgvector_version() or "0").split(".") if part.isdigit())
    return _pgvector_release >= release


# /healthz answers within 3 s whatever is down (SPEC §5): the database check runs beside the
# Redis/Celery checks and is reported down if it has not answered within this budget.
HEALTH_DATABASE_BUDGET_S = 2.5
_health_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")


def _check_database() -> dict[str, Any]:
    try:
        version = pgvector_version()
        return {"ok": True, "pgvector": version}
    except Exception as exc:  # any failure here means "database down" to an operator
        return {"ok": False, "error": str(exc).strip()[:300]}
    finally:
        connection.close()  # this thread's connection goes back to the pool


def check_health(*, celery_timeout_s: float = 1.0, redis_client: redis.Redis | None = None) -> dict[str, Any]:
    """Database (+pgvector version), Redis and the Celery workers that answer a ping.

    Each check is independent: one dependency being down never hides the state of the others, and
    the checks run side by side so a slow one does not add to the others' time. `redis_client` replaces
    the process-wide client (the dashboard probes with short timeouts).
    """
    down: list[str] = []
    report: dict[str, Any] = {}
    database_check = _health_executor.submit(_check_database)

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

    try:
        database = database_check.result(timeout=HEALTH_DATABASE_BUDGET_S)
    except FutureTimeout:
        database = {"ok": False, "error": f"no answer within {HEALTH_DATABASE_BUDGET_S} s"}
    report["database"] = database
    report["pgvector"] = database.get("pgvector")
    if not database["ok"]:
        down.insert(0, "database")
    elif database["pgvector"] is None:
        down.insert(0, "pgvector")

    report["status"] = "ok" if not down else "unavailable"
    report["down"] = down
    return report


# ---------------------------------------------------------------------------------------- jobs


def _job_queryset(kind_name: str, status: str | None):
    from apps.core.job_kinds import get_job_kind

    model = get_job_kind(kind_name).model()
    queryset = model.objects.select_related(*getattr(model, "job_select_related", ())).order_by("-created_at")
    return queryset.filter(status=status) if status else queryset


def _kind_names(kind: str | None) -> list[str]:
    from apps.core.job_kinds import all_job_kinds, get_job_kind

    return [get_job_kind(kind).name] if kind else [k.name for k in all_job_kinds()]


def count_jobs(*, kind: str | None = None, status: str | None = None) -> int:
    return sum(_job_queryset(name, status).count() for name in _kind_names(kind))


def list_jobs(*, kind: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0) -> list[Any]:
    """Jobs of every kind (or one), newest first: the newest offset+limit of each kind, merged."""
    newest: list[Any] = []
    for name in _kind_names(kind):
        newest.extend(_job_queryset(name, status)[: offset + limit])
    newest.sort(key=lambda job: job.created_at, reverse=True)
    return newest[offset : offset + limit]


def get_job(kind: str, job_id: Any) -> Any:
    """One job by kind and id; Http404 when there is no such kind or row."""
    from django.http import Http404

    try:
        queryset = _job_queryset(kind, None)
    except KeyError as exc:
        raise Http404(str(exc.args[0])) from None
    try:
        return queryset.get(pk=job_id)
    except (queryset.model.DoesNotExist, ValueError):
        raise Http404(f"No {kind} job {job_id}.") from None
