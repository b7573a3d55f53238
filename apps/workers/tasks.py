from celery import shared_task

from apps.core.jobs import job_task_options
from apps.workers import services


# Idempotent (upsert by worker_id + content_hash; a finished job returns at once): re-run after a
# lost worker or a database error.
@shared_task(**job_task_options(idempotent=True))
def ingest_workers_task(job_id: int) -> None:
    services.run_ingest(job_id)
