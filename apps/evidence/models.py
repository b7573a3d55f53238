from django.db import models
from django.db.models.functions import Now

from apps.core.models import Job
from apps.evidence.choices import MaterializeMode, MaterializeStatus, SourceKind


class MaterializeRun(Job):
    """One run of the evidence materializer and its receipt (materialize_receipt.v1, SPEC §4.7).

    The task updates the row as it goes (counts double as progress); the API and admin read it, and
    the finished receipt is also written to ``<kb_dir>/receipts/materialize-<run_id>.json``.
    """

    job_kind = "materialize"
    MAX_ERRORS = 1000  # kept on the row and in the receipt; errors_count has the full number

    run_id = models.CharField(primary_key=True, max_length=40, editable=False)
    mode = models.CharField(max_length=16, choices=MaterializeMode.choices)
    since = models.DateTimeField(null=True, blank=True)
    day = models.DateField(null=True, blank=True)
    rebuild_day = models.DateField(null=True, blank=True)
    # Where this run reads its inbox and writes partitions and its receipt, fixed when it is created,
    # like an ingest job's source path: the process that runs it writes where the requester asked.
    kb_dir = models.CharField(max_length=1024)
    # Interaction.seq range covered by an incremental run: rows with seq <= watermark_to are done
    # (late commits below it are caught by the next run's lookback).
    watermark_from = models.BigIntegerField(null=True, blank=True)
    watermark_to = models.BigIntegerField(null=True, blank=True)
    sources_scanned = models.JSONField(default=dict, blank=True)
    inbox = models.JSONField(default=dict, blank=True)
    records_written = models.BigIntegerField(default=0)
    duplicates_skipped = models.BigIntegerField(default=0)
    errors_count = models.BigIntegerField(default=0)
    per_transform = models.JSONField(default=dict, blank=True)
    per_day = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    files = models.JSONField(default=list, blank=True)
    receipt_path = models.CharField(max_length=1024, blank=True)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["mode", "status", "watermark_to"], name="materialize_watermark")]

    def __str__(self) -> str:
        return f"{self.run_id} ({self.status})"

    def job_counters(self) -> dict:
        return {
            "mode": self.mode, "records_written": self.records_written, "duplicates_skipped": self.duplicates_skipped,
            "errors_count": self.errors_count, "receipt_path": self.receipt_path or None,
        }


class RetentionRun(Job):
    """One run of the retention policy (issue 23; apps.evidence.retention): interactions past
    INTERACTION_RETENTION_DAYS that have their evidence are deleted, playbooks past
    PLAYBOOK_ARCHIVE_AFTER_DAYS are archived. The counts are the operator's record of what went."""

    job_kind = "retention"

    interaction_cutoff = models.DateTimeField(help_text="interactions that occurred before this may go")
    playbook_cutoff = models.DateTimeField(help_text="playbooks created before this are archived")
    interactions_deleted = models.BigIntegerField(default=0)
    # Past the horizon but without an evidence record (never materialized, or a transform error): kept.
    interactions_kept = models.BigIntegerField(default=0, help_text="past the horizon, kept: no evidence record yet")
    playbooks_archived = models.BigIntegerField(default=0)
    note = models.TextField(blank=True)

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return f"retention run {self.pk} ({self.status})"

    def job_counters(self) -> dict:
        return {
            "interaction_cutoff": self.interaction_cutoff, "playbook_cutoff": self.playbook_cutoff,
            "interactions_deleted": self.interactions_deleted, "interactions_kept": self.interactions_kept,
            "playbooks_archived": self.playbooks_archived, "note": self.note or None,
        }


class EvidenceRecord(models.Model):
    """One evidence_record.v1 (SPEC §4.7). Append-only: the materializer inserts with
    ON CONFLICT (evidence_id) DO NOTHING and never updates a record."""

    evidence_id = models.CharField(max_length=35)
    day = models.DateField()
    occurred_at = models.DateTimeField()
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source_id = models.CharField(max_length=200)
    transform = models.CharField(max_length=32)
    transform_version = models.PositiveSmallIntegerField()
    task_type = models.CharField(max_length=32)
    input = models.JSONField(default=dict)
    output = models.JSONField(default=dict)
    model = models.CharField(max_length=128, null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(null=True, blank=True)
    verdict = models.JSONField(default=dict)
    # verdict["ok"], as a column so "failed evidence" is an indexable filter (admin, replay selection).
    verdict_ok = models.BooleanField()
    labels = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(MaterializeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="records")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-day", "evidence_id"]
        # Constraint and Meta indexes rather than unique=/db_index=: a CharField's own index comes
        # with a second varchar_pattern_ops copy that nothing here queries and every insert pays for.
        constraints = [models.UniqueConstraint(fields=["evidence_id"], name="evidence_record_evidence_id_uniq")]
        indexes = [
            models.Index(fields=["day", "evidence_id"], name="evidence_record_day"),
            models.Index(fields=["task_type", "day"], name="evidence_record_task_type"),
            models.Index(fields=["transform", "day"], name="evidence_record_transform"),
            models.Index(fields=["source_kind", "source_id"], name="evidence_record_source"),
            models.Index(fields=["verdict_ok", "day"], name="evidence_record_verdict_ok"),
        ]

    def __str__(self) -> str:
        return f"{self.evidence_id} {self.transform} {self.day}"


class InboxFile(models.Model):
    """A chat_log.v1 file from ``KB_DIR/inbox/`` that a run has read completely. The same name with
    the same content is never read again; new content under an old name is a new file."""

    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    lines = models.PositiveIntegerField(default=0)
    records_written = models.PositiveIntegerField(default=0)
    duplicates_skipped = models.PositiveIntegerField(default=0)
    errors_count = models.PositiveIntegerField(default=0)
    # Days its lines belong to: --rebuild-day re-reads only the files that hold that day.
    days = models.JSONField(default=list, blank=True)
    run = models.ForeignKey(MaterializeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbox_files")
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-processed_at"]
        constraints = [models.UniqueConstraint(fields=["name", "sha256"], name="evidence_inbox_file_uniq")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"
