"""The Celery app: Redis broker, JSON only, time limits, and named queues.

Run state lives in database rows (IngestJob, MaterializeRun, ReplayBatch), not in the result backend;
the backend is there for callers that want to wait on a task (tests, `--sync` commands).
"""

from __future__ import annotations

import enum
import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")

app = Celery("lakehouse")
app.config_from_object("django.conf:settings", namespace="CELERY")


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


app.autodiscover_tasks()
