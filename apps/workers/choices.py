from django.db import models


class WorkerStatus(models.TextChoices):
    ACTIVE = "active", "active"
    INACTIVE = "inactive", "inactive"
    DO_NOT_CONTACT = "do_not_contact", "do not contact"


class IngestStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"


class IngestFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"
    JSONL = "jsonl", "JSON Lines"
