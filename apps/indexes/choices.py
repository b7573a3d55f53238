from django.db import models

from apps.core.choices import JobStatus  # noqa: F401  (re-exported: index jobs share the job life cycle)


class IndexState(models.TextChoices):
    READY = "ready", "ready"
    REBUILDING = "rebuilding", "rebuilding"
    REEMBEDDING = "reembedding", "re-embedding"


class IndexJobKind(models.TextChoices):
    REBUILD = "rebuild", "rebuild"
    REEMBED = "reembed", "re-embed"
