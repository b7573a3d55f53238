from django.db import models

from apps.core.models import Job
from apps.indexes.choices import IndexJobKind, IndexState


class VectorIndex(models.Model):
    """Registry row of one vector index (SPEC §3.4). `version` is bumped by every write batch, reset
    and rebuild; result caches key on it, so no cached result survives a change of the data."""

    name = models.SlugField(max_length=64, unique=True)
    table = models.CharField(max_length=128)
    column = models.CharField(max_length=64)
    index_name = models.CharField(max_length=128)
    dim = models.PositiveIntegerField()
    metric = models.CharField(max_length=16, default="cosine")
    hnsw_m = models.PositiveIntegerField(default=16)
    hnsw_ef_construction = models.PositiveIntegerField(default=64)
    version = models.BigIntegerField(default=0)
    # Rows in the index's table, kept by a trigger on that table where a writer reports the size on
    # every write (the playbook memory: VectorIndexSpec.keeps_row_count); null where nothing keeps it.
    row_count = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=IndexState.choices, default=IndexState.READY)
    last_reset_at = models.DateTimeField(null=True, blank=True)
    last_rebuilt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "vector index"
        verbose_name_plural = "vector indexes"

    def __str__(self) -> str:
        return self.name


class IndexJob(Job):
    """A rebuild or re-embed run: the Celery task updates this row, the API and admin read it.
    (`kind` is the operation; the job kind in the registry is `index`.)"""

    job_kind = "index"
    job_select_related = ("index",)

    index = models.ForeignKey(VectorIndex, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=IndexJobKind.choices)
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(default=0)
    # A re-embed of only the rows whose vector is not from the current model (resumes an interrupted
    # one, or embeds the rows ingested before the provider was switched on).
    only_missing = models.BooleanField(default=False)

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk}"

    def job_counters(self) -> dict:
        return {"index": self.index.name, "operation": self.kind, "rows_done": self.rows_done, "rows_total": self.rows_total,
                "only_missing": self.only_missing}
