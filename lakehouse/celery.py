"""The Celery app: Redis broker, JSON only, time limits, and named queues.

Run state lives in database rows (IngestJob, MaterializeRun, ReplayBatch), not in the result backend;
the backend is there for callers that want to wait on a task (tests, `--sync` commands).
"""

from __future__ import annotations

import enum
import os

from celery import Celery, signals
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")

app = Celery("lakehouse")
app.config_from_object("django.conf:settings", namespace="CELERY")


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _scrub_worker_logs(logger, **kwargs) -> None:
    """The worker installs its own handlers: they get the same secret scrubber as settings.LOGGING's."""
    from apps.interactions.scrubber import ScrubSecretsFilter

    for handler in logger.handlers:
        if not any(isinstance(existing, ScrubSecretsFilter) for existing in handler.filters):
            handler.addFilter(ScrubSecretsFilter())


class Queue(str, enum.Enum):
    """Work is split by how long it runs, so a long ingest never delays a short job."""

    DEFAULT = "default"
    INGEST = "ingest"
    INDEX = "index"
    EVIDENCE = "evidence"
    REPLAY = "replay"

    @property
    def routing_name(self) -> str:
        return f"{settings.CELERY_QUEUE_PREFIX}{self.value}"


def all_queue_names() -> list[str]:
    return [queue.routing_name for queue in Queue]


# Each app's tasks go to the queue of its kind of work (resolved when a task is sent, so the test
# prefix applies).
_QUEUE_BY_MODULE = {
    "apps.workers.tasks": Queue.INGEST,
    "apps.indexes.tasks": Queue.INDEX,
    "apps.evidence.tasks": Queue.EVIDENCE,
    "apps.replay.tasks": Queue.REPLAY,
}


def route_task(name: str, args, kwargs, options, task=None, **kw) -> dict[str, str]:
    module = name.rsplit(".", 1)[0]
    return {"queue": _QUEUE_BY_MODULE.get(module, Queue.DEFAULT).routing_name}


app.conf.task_routes = (route_task,)
app.autodiscover_tasks()

# The job reaper (apps.core.services.reap_dead_jobs): `celery beat` runs it every JOB_REAPER_INTERVAL_S
# (workers also run it when they start), so a job whose worker died ends within
# JOB_HEARTBEAT_LIMIT_S + JOB_REAPER_INTERVAL_S.
app.conf.beat_schedule = {
    "reap-dead-jobs": {"task": "apps.core.tasks.reap_dead_jobs_task", "schedule": settings.JOB_REAPER_INTERVAL_S},
    # The interaction log's queue (apps.interactions.services): a tick that finds it empty costs one LLEN.
    # Expires with its interval, so ticks missed while the worker was down do not pile up.
    "drain-interactions": {
        "task": "apps.interactions.tasks.drain_interactions_task",
        "schedule": settings.INTERACTION_DRAIN_INTERVAL_S,
        "options": {"expires": settings.INTERACTION_DRAIN_INTERVAL_S * 5},
    },
}
# Retention (apps.evidence.retention): a job row in the jobs list, with its counts, once a day.
if settings.RETENTION_INTERVAL_S:
    app.conf.beat_schedule["retention"] = {"task": "apps.evidence.tasks.scheduled_retention_task", "schedule": settings.RETENTION_INTERVAL_S}
