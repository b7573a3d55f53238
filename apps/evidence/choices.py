from django.db import models

from apps.core.choices import JobStatus


class FeedbackVerdict(models.TextChoices):
    ACCEPT = "accept", "accept"
    REJECT = "reject", "reject"
    EDIT = "edit", "edit"


class SourceKind(models.TextChoices):
    """Where an evidence record came from."""

    INTERACTION = "interaction", "interaction"
    CHAT_LOG = "chat_log", "inbox chat log"
    REPLAY_RUN = "replay_run", "replay run"


# A run has the life of every job row; `skipped`: another run held the materialize lock when this
# one started, and it wrote nothing.
MaterializeStatus = JobStatus


class MaterializeMode(models.TextChoices):
    INCREMENTAL = "incremental", "incremental (after the watermark)"
    RANGE = "range", "range (--since / --day)"
    REBUILD = "rebuild", "rebuild one day"
