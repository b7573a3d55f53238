from django.db import models


class JobStatus(models.TextChoices):
    """Life of a job row (ingest, index rebuild/re-embed): what the task sets and the API reports."""

    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
