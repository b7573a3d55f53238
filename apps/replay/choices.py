from django.db import models

from apps.core.choices import JobStatus

# A batch has the life of every job row (a batch that used to say "finished" now says "succeeded").
BatchStatus = JobStatus


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
