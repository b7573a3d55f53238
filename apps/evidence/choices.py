from django.db import models


class FeedbackVerdict(models.TextChoices):
    ACCEPT = "accept", "accept"
    REJECT = "reject", "reject"
    EDIT = "edit", "edit"


class SourceKind(models.TextChoices):
    """Where an evidence record came from."""

    INTERACTION = "interaction", "interaction"
    CHAT_LOG = "chat_log", "inbox chat log"
    REPLAY_RUN = "replay_run", "replay run"


class MaterializeStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    # Another run held the materialize lock when this one started; it wrote nothing.
    SKIPPED = "skipped", "skipped (busy)"


class MaterializeMode(models.TextChoices):
    INCREMENTAL = "incremental", "incremental (after the watermark)"
    RANGE = "range", "range (--since / --day)"
    REBUILD = "rebuild", "rebuild one day"
