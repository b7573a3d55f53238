import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from apps.interactions.choices import InteractionKind


class Interaction(models.Model):
    """One coordinator workflow call or LLM call (SPEC §3.5) — the evidence materializer's source rows.

    Never holds a secret, an SSN or a card number: `log_interaction` scrubs request, response and
    errors before saving (apps.interactions.scrubber).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150, blank=True)
    request = models.JSONField(default=dict)
    response = models.JSONField(default=dict)
    ok = models.BooleanField(default=True)
    errors = models.JSONField(default=list, blank=True)
    latency_ms = models.FloatField(default=0.0)
    model = models.CharField(max_length=128, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    # What a decision is about, as columns so an order's history and a worker's decisions are index
    # lookups rather than scans of the request JSON (empty on other rows, which the partial indexes
    # leave out: the hot path's inserts do not grow them).
    order_id = models.CharField(max_length=64, blank=True, default="")
    worker_ids = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    # Monotonic insertion order: the materializer's watermark (uuids and timestamps don't order writes).
    seq = models.BigIntegerField(
        unique=True,
        editable=False,
        db_default=models.Func(models.Value("evidence_interaction_seq"), function="nextval", output_field=models.BigIntegerField()),
    )

    class Meta:
        # The table (and its sequence) kept the name it had when the log lived in apps.evidence:
        # moving the model moved no data (migrations 0001 here and evidence 0003).
        db_table = "evidence_interaction"
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["kind", "occurred_at"], name="interaction_kind_time"),
            models.Index(fields=["order_id", "-occurred_at"], name="interaction_order_time", condition=~Q(order_id="")),
            # The selectors repeat this condition in their query: PostgreSQL uses a partial index only
            # when the query implies its predicate, and `@>` alone does not imply a non-empty array.
            GinIndex(fields=["worker_ids"], name="interaction_workers_gin", condition=Q(worker_ids__len__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d %H:%M:%S}"
