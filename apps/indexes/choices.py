from django.db import models


class IndexState(models.TextChoices):
    READY = "ready", "ready"
    REBUILDING = "rebuilding", "rebuilding"
    REEMBEDDING = "reembedding", "re-embedding"


class IndexJobKind(models.TextChoices):
    REBUILD = "rebuild", "rebuild"
    REEMBED = "reembed", "re-embed"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
