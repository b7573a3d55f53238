from django.contrib.postgres.fields import ArrayField
from django.db import models

from apps.core.models import Job
from apps.replay.choices import RunStatus


class ReplayBatch(Job):
    """One replay of selected evidence against the current model and retrieval stack (SPEC §4.8)."""

    job_kind = "replay"
    # What one launch may ask for, whichever door it comes through (API, console, manage.py replay).
    MAX_LIMIT = 100_000
    MAX_CONCURRENCY = 32

    batch_id = models.CharField(primary_key=True, max_length=40, editable=False)
    day_from = models.DateField(null=True, blank=True)
    day_to = models.DateField(null=True, blank=True)
    task_types = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    evidence_ids = ArrayField(models.CharField(max_length=40), default=list, blank=True, help_text="replay exactly these")
    limit = models.PositiveIntegerField(null=True, blank=True)
    provider = models.CharField(max_length=16)
    model = models.CharField(max_length=128, blank=True)
    concurrency = models.PositiveSmallIntegerField(default=4)
    total = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    skipped_by_type = models.JSONField(default=dict, blank=True)
    regressions = models.PositiveIntegerField(default=0)
    latency_p50_ms = models.FloatField(null=True, blank=True)
    latency_p95_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    # Sum of the priced runs' costs; null when runs reached the model and none of them was priced.
    cost_usd = models.DecimalField(max_digits=16, decimal_places=8, null=True, blank=True)
    unpriced_runs = models.PositiveIntegerField(default=0, help_text="runs whose model has no price in CHAT_PRICES")
    baseline_batch = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="compared_by",
        help_text="regressions against this batch's run outcomes instead of the evidence's own verdicts",
    )

    class Meta(Job.Meta):
        verbose_name_plural = "replay batches"

    @property
    def unpriced(self) -> bool:
        """The cost is unknown (null) or a lower bound: some runs' model is not in CHAT_PRICES."""
        return self.unpriced_runs > 0

    @property
    def pass_rate(self) -> float | None:
        # None when no run reached the model: a dead model server must not read as a model that fails.
        if not (self.passed or self.failed):
            return None
        return round(self.passed / (self.passed + self.failed + self.errors), 4)

    def __str__(self) -> str:
        return self.batch_id

    def job_counters(self) -> dict:
        return {
            "batch_id": self.batch_id, "total": self.total, "passed": self.passed, "failed": self.failed, "errors": self.errors,
            "skipped": self.skipped, "regressions": self.regressions, "pass_rate": self.pass_rate,
            "provider": self.provider, "model": self.model,
            "cost_usd": None if self.cost_usd is None else float(self.cost_usd), "unpriced": self.unpriced,
            "unpriced_runs": self.unpriced_runs, "baseline_batch": self.baseline_batch_id,
        }


class ReplayRun(models.Model):
    """One replayed evidence record: what was retrieved, the bundle, the model's answer, the verdict."""

    run_id = models.CharField(primary_key=True, max_length=40, editable=False)
    batch = models.ForeignKey(ReplayBatch, on_delete=models.CASCADE, related_name="runs")
    evidence_id = models.CharField(max_length=40, db_index=True)
    task_type = models.CharField(max_length=32)
    status = models.CharField(max_length=8, choices=RunStatus.choices)
    provider = models.CharField(max_length=16)
    model = models.CharField(max_length=128, blank=True)
    retrieval = models.JSONField(default=dict)
    bundle = models.JSONField(default=dict, blank=True)
    bundle_sha256 = models.CharField(max_length=64, blank=True)
    response = models.JSONField(default=dict)
    validation = models.JSONField(default=dict)
    baseline_ok = models.BooleanField(null=True)
    regression = models.BooleanField(default=False)
    error = models.TextField(null=True, blank=True)
    # USD of the model call; 0 when no model answered; null when the model is unpriced (not free).
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["batch", "status"], name="replay_run_batch_status")]

    def __str__(self) -> str:
        return self.run_id
