from django.db import models


class AlertKind(models.TextChoices):
    JOB_FAILED = "job_failed", "job failed"
    REPLAY_REGRESSIONS = "replay_regressions", "replay regressions"


class Delivery(models.TextChoices):
    PENDING = "pending", "pending"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"
    OFF = "off", "not configured"
