from celery import shared_task

from apps.core.jobs import job_task_options
from apps.replay import services


# Not idempotent: a re-run would append a second set of replay_run lines. Acknowledged on receipt; a
# lost worker fails the batch ("worker lost") and an operator retries it as a new batch.
@shared_task(**job_task_options(idempotent=False))
def replay_batch_task(batch_id: str) -> None:
    services.run_batch(batch_id)
