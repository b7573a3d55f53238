from celery import shared_task

from apps.core.jobs import job_task_options
from apps.evidence import services


# Idempotent (deterministic evidence ids + ON CONFLICT DO NOTHING; a finished run returns at once; a
# run whose worker died starts over under the advisory lock): re-run after a lost worker.
@shared_task(**job_task_options(idempotent=True))
def materialize_task(run_id: str) -> None:
    services.run_materialize(run_id)
