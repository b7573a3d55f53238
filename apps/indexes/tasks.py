from celery import shared_task

from apps.indexes import services


# Idempotent: run_* returns at once for a job that already finished, and REINDEX / re-embed can be
# repeated safely, so a redelivery after a worker crash is harmless (acks_late).
@shared_task(acks_late=True, ignore_result=True)
def rebuild_index_task(job_id: int) -> None:
    services.run_rebuild(job_id)


@shared_task(acks_late=True, ignore_result=True)
def reembed_index_task(job_id: int) -> None:
    services.run_reembed(job_id)
