from django.db import models


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    FINISHED = "finished", "finished"
    FAILED = "failed", "failed"


class RunStatus(models.TextChoices):
    PASS = "pass", "pass"
    FAIL = "fail", "fail"
    ERROR = "error", "error"


# SPEC §4.8: what each task type replays. Types not listed here are skipped and counted.
REPLAYED_TASK_TYPES = (
    "draft_email",
    "draft_sms",
    "propose_fill",
    "chat",
    "rank_workers",
    "swap_worker",
    "rank_workers_with_memory",
)
MODEL_TASK_TYPES = ("draft_email", "draft_sms", "propose_fill", "chat")
SKIPPED_TASK_TYPES = ("record_playbook", "feedback", "replay")
