"""The job base (SPEC §3.6): one lifecycle for every long-running job. Each kind's model inherits it
and adds its own inputs and typed counters; apps.core.jobs is the only code that moves the states."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from apps.core.choices import JobStatus


class Job(models.Model):
    """Common columns of a job row. `job_kind` names the kind in the registry (apps.core.job_kinds)."""

    job_kind: ClassVar[str] = ""

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="percent")
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True, help_text="why the job failed or stopped")
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Beaten by the runner while the job works; a running job whose heartbeat is older than
    # JOB_HEARTBEAT_LIMIT_S is dead (the reaper ends it).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Times the runner has started this row (redeliveries after a lost worker, retries after a
    # database error); the runner gives up past JOB_MAX_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set by a cancel of a running job; the job stops at its next safe point (a batch boundary).
    cancel_requested = models.BooleanField(default=False)
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def job_id(self) -> Any:
        return self.pk

    @property
    def is_finished(self) -> bool:
        return self.status not in (JobStatus.QUEUED, JobStatus.RUNNING)

    def job_counters(self) -> dict[str, Any]:
        """The kind's own typed counters for the detail shape (overridden by each kind)."""
        return {}

    def as_job_dict(self) -> dict[str, Any]:
        """The one detail shape of a job (SPEC §3.6): common fields plus the kind's counters."""
        return {
            "job_id": self.pk,
            "kind": self.job_kind,
            "status": self.status,
            "progress": round(self.progress or 0.0, 2),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "heartbeat_at": self.heartbeat_at,
            "error": self.error or None,
            "retry_of": self.retry_of_id,
            "task_id": self.task_id or None,
            "attempts": self.attempts,
            "cancel_requested": self.cancel_requested,
            **self.job_counters(),
        }
