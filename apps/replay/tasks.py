from celery import shared_task

from apps.replay import services


# Not acks_late: a redelivered batch would append a second set of replay_run lines; a batch that
# dies with its worker is marked by the operator and re-launched instead.
@shared_task(ignore_result=True)
def replay_batch_task(batch_id: str) -> None:
    services.run_batch(batch_id)
