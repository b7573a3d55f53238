from celery import shared_task

from apps.core.jobs import job_task_options
from apps.core.errors import Conflict
from apps.evidence import retention, services


# Idempotent (deterministic evidence ids + ON CONFLICT DO NOTHING; a finished run returns at once; a
# run whose worker died starts over under the advisory lock): re-run after a lost worker.
@shared_task(**job_task_options(idempotent=True))
def materialize_task(run_id: str) -> None:
    services.run_materialize(run_id)


# Idempotent: each batch is its own transaction and a re-run finds only what is still past its cutoff.
@shared_task(**job_task_options(idempotent=True))
def retention_task(run_id: int) -> None:
    retention.run_retention(run_id)


@shared_task(ignore_result=True)
def scheduled_retention_task() -> None:
    """Celery beat, every RETENTION_INTERVAL_S: queue a run (a job row in the jobs list) unless one is
    already queued or running."""
    try:
        retention.start_retention_run(actor="celery beat")
    except Conflict:
        pass
