from celery import shared_task
from django.db import connection

from apps.core import services


@shared_task
def describe_worker_environment(token: str) -> dict:
    """Round-trip through a worker: echoes `token` and names the database the worker is using.
    Used by health tooling and by the tests that prove a real worker process runs our tasks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), (SELECT extversion FROM pg_extension WHERE extname = 'vector')")
        database, pgvector = cursor.fetchone()
    return {"token": token, "database": database, "pgvector": pgvector}


@shared_task(ignore_result=True)
def reap_dead_jobs_task() -> None:
    """Celery beat runs this every JOB_REAPER_INTERVAL_S (lakehouse/celery.py)."""
    services.reap_dead_jobs()
