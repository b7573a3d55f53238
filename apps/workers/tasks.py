from celery import shared_task

from apps.workers import services


# Idempotent (upsert by worker_id + content_hash; a finished job returns at once), so redelivery after
# a worker crash is safe: acks_late.
@shared_task(acks_late=True, ignore_result=True)
def ingest_workers_task(job_id: int) -> None:
    services.run_ingest(job_id)
