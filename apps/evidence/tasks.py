from celery import shared_task

from apps.evidence import services


# Idempotent (deterministic evidence ids + ON CONFLICT DO NOTHING; a finished run returns at once; a
# run whose worker died starts over under the advisory lock), so redelivery is safe: acks_late.
@shared_task(acks_late=True, ignore_result=True)
def materialize_task(run_id: str) -> None:
    services.run_materialize(run_id)
