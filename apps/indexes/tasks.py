from celery import shared_task

from apps.core.jobs import job_task_options
from apps.indexes import services


# Idempotent: REINDEX and re-embed can be repeated safely, and the runner returns at once for a job
# that already ended, so a re-run after a lost worker or a database error is harmless.
@shared_task(**job_task_options(idempotent=True))
def index_job_task(job_id: int) -> None:
    """The `index` kind's task: the row says which operation (rebuild or re-embed) to run."""
    services.run_index_job(job_id)
