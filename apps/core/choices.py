from django.db import models


class JobStatus(models.TextChoices):
    """The one life of every job row (ingest, index, materialize, replay — SPEC §3.6): `queued`, then
    `running` (heartbeat and progress), then exactly one terminal state, set only by apps.core.jobs."""

    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"
    # A run that found another one of its kind running and did nothing (materialize).
    SKIPPED = "skipped", "skipped (busy)"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
TERMINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SKIPPED)
