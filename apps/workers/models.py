from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from pgvector.django import HalfVectorField, HnswIndex, VectorField

from apps.core.models import Job
from apps.workers.choices import IngestFormat, WorkerStatus

WORKER_EMBEDDING_INDEX = "worker_embedding_hnsw"
WORKER_SEMANTIC_INDEX = "worker_semantic_hnsw"


class Worker(models.Model):
    """A worker profile (SPEC §3.1). The row is the source of truth; the HNSW index is derived."""

    worker_id = models.CharField(max_length=64, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, or empty when unparsable")
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip = models.CharField(max_length=10, blank=True)
    # From the ZIP at ingest (apps.workers.geo); null when the ZIP is empty or unknown (SPEC §4.3 `near`).
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    role = models.CharField(max_length=64, blank=True)
    skills = ArrayField(models.TextField(), default=list, blank=True)
    certifications = ArrayField(models.TextField(), default=list, blank=True)
    shift_preference = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    available_from = models.DateField(null=True, blank=True, help_text="null = available now")
    years_experience = models.PositiveIntegerField(null=True, blank=True)
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    reliability = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=WorkerStatus.choices, default=WorkerStatus.ACTIVE)
    sms_opt_out = models.BooleanField(default=False)
    bio = models.TextField(blank=True)
    # Half precision (issue 18): half the heap and index of `vector`, so the 100k working set fits in
    # shared buffers, with recall@10 unchanged at 100k (benchmarks/README.md). Query vectors bind as
    # `%s::halfvec` against it (apps.workers.selectors).
    embedding = HalfVectorField(dimensions=settings.EMBEDDING_DIM, null=True, blank=True)
    embedding_model = models.CharField(max_length=128, blank=True)
    # Optional second vector of the same profile text from SEMANTIC_EMBEDDING_PROVIDER (hybrid ranking,
    # issue 19); null when that provider is off. Never mixed with `embedding`: its own space and index.
    semantic_embedding = VectorField(dimensions=settings.SEMANTIC_EMBEDDING_DIM, null=True, blank=True)
    semantic_model = models.CharField(max_length=128, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["worker_id"]
        indexes = [
            HnswIndex(
                name=WORKER_EMBEDDING_INDEX,
                fields=["embedding"],
                m=settings.HNSW_M,
                ef_construction=settings.HNSW_EF_CONSTRUCTION,
                opclasses=["halfvec_cosine_ops"],
            ),
            HnswIndex(
                name=WORKER_SEMANTIC_INDEX,
                fields=["semantic_embedding"],
                m=settings.HNSW_M,
                ef_construction=settings.HNSW_EF_CONSTRUCTION,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["state", "city", "role"], name="worker_state_city_role"),
            models.Index(fields=["role"], name="worker_role"),
            # The exact path of a role filter reads the vectors from this index alone (an index-only
            # scan in role order) instead of one heap page per row: a role's rows are spread over the
            # heap, which is in (state, city, role) order. Figures in migration 0009's docstring.
            models.Index(
                fields=["role", "status"],
                include=["id", "embedding"],
                condition=models.Q(embedding__isnull=False),
                name="worker_role_embedding",
            ),
            # The bounding-box prefilter of radius search; exact great-circle miles are checked after it.
            models.Index(fields=["latitude", "longitude"], name="worker_lat_lon"),
            models.Index(fields=["status"], name="worker_status"),
            # Outreach validation looks up whose phone/email a draft mentions (PII_OTHER_WORKER).
            models.Index(fields=["phone"], name="worker_phone", condition=~models.Q(phone="")),
            models.Index(fields=["email"], name="worker_email", condition=~models.Q(email="")),
            GinIndex(fields=["skills"], name="worker_skills_gin"),
            GinIndex(fields=["certifications"], name="worker_certs_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.first_name} {self.last_name}".strip()


class IngestJob(Job):
    """One ingest run (SPEC §4.1). The Celery task updates it; the API, the command and the admin read it.

    Accounting invariant once finished: rows_read = rows_written + rows_unchanged + rows_rejected.
    """

    job_kind = "ingest"
    MAX_ERRORS = 1000

    source = models.CharField(max_length=1024)
    format = models.CharField(max_length=16, choices=IngestFormat.choices)
    drop = models.BooleanField(default=False)
    limit = models.PositiveIntegerField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True, help_text="rows in the file, for progress")
    rows_read = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    texts_embedded = models.PositiveIntegerField(default=0)
    warnings_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="first 1,000 rejected rows: line, worker_id, reason")
    warnings = models.JSONField(default=list, blank=True, help_text="first 1,000 warnings: line, worker_id, reason")
    rows_per_s = models.FloatField(default=0.0)
    timings = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return f"ingest job {self.pk}: {self.source.rsplit('/', 1)[-1]}"

    def job_counters(self) -> dict:
        return {
            "source": self.source, "format": self.format, "drop": self.drop, "limit": self.limit, "rows_total": self.rows_total,
            "rows_read": self.rows_read, "rows_written": self.rows_written, "rows_unchanged": self.rows_unchanged,
            "rows_rejected": self.rows_rejected, "texts_embedded": self.texts_embedded, "warnings_count": self.warnings_count,
            "errors": self.errors, "rows_per_s": self.rows_per_s,
        }
