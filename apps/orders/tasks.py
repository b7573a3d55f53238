from celery import shared_task

from apps.core.jobs import job_task_options
from apps.orders import services


# Idempotent (an existing order_id is left as it is): re-run after a lost worker or a database error.
@shared_task(**job_task_options(idempotent=True))
def import_orders_task(job_id: int) -> None:
    services.run_order_import(job_id)
