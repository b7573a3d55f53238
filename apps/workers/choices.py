from django.db import models

from apps.core.choices import JobStatus


class WorkerStatus(models.TextChoices):
    ACTIVE = "active", "active"
    INACTIVE = "inactive", "inactive"
    DO_NOT_CONTACT = "do_not_contact", "do not contact"


# An ingest job has the same life cycle as every other job row.
IngestStatus = JobStatus


class IngestFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"
    JSONL = "jsonl", "JSON Lines"
