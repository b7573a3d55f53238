from celery import shared_task
from django.db import connection



@shared_task
def describe_worker_environment(token: str) -> dict:
    """Round-trip through a worker: echoes `token` and names the database the worker is using.
    Used by health tooling and by the tests that prove a real worker process runs our tasks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), (SELECT extversion FROM pg_extension WHERE extname = 'vector')")
        database, pgvector = cursor.fetchone()
    return {"token": token, "database": database, "pgvector": pgvector}
