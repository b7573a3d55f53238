from celery import shared_task

from apps.evidence import services
from lakehouse.celery import Queue


# Idempotent (deterministic evidence ids + ON CONFLICT DO NOTHING; a finished run returns at once; a
# run whose worker died starts over under the advisory lock), so redelivery is safe: acks_late.
@shared_task(queue=Queue.EVIDENCE.routing_name, acks_late=True, ignore_result=True)
def materialize_task(run_id: str) -> None:
    services.run_materialize(run_id)
