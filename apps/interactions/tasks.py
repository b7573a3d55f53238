from celery import shared_task

from apps.interactions import services


# Idempotent by construction (see services.drain_interaction_queue): a lost run is simply the next one.
@shared_task(ignore_result=True)
def drain_interactions_task() -> None:
    """Celery beat runs this every INTERACTION_DRAIN_INTERVAL_S; a push that fills a batch sends it too."""
    services.drain_interaction_queue()
