from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from pgvector.django import HnswIndex, VectorField

from apps.playbooks.choices import Outcome

PLAYBOOK_EMBEDDING_INDEX = "playbook_embedding_hnsw"


class Playbook(models.Model):
    """A recorded fill (SPEC §3.3). The table is the playbook memory; its HNSW index is derived and
    can be reset or rebuilt without losing anything that matters."""

    query = models.TextField()
    query_embedding = VectorField(dimensions=settings.EMBEDDING_DIM)
    embedding_model = models.CharField(max_length=128, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    worker_ids = ArrayField(models.CharField(max_length=64))
    order = models.ForeignKey("orders.JobOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="playbooks")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            HnswIndex(
                name=PLAYBOOK_EMBEDDING_INDEX,
                fields=["query_embedding"],
                m=settings.HNSW_M,
                ef_construction=settings.PLAYBOOK_HNSW_EF_CONSTRUCTION,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["worker_ids"], name="playbook_workers_gin"),
            models.Index(fields=["outcome"], name="playbook_outcome"),
        ]

    def __str__(self) -> str:
        return f"playbook {self.pk} ({self.outcome}): {self.query[:60]}"


class ArchivedPlaybook(models.Model):
    """A playbook past the decay horizon (PLAYBOOK_ARCHIVE_AFTER_DAYS), moved out of the memory by the
    retention run: kept for the record under its original id, never read by a search. The vector is
    not kept (it would only cost space; the query is here to embed again if one is ever restored)."""

    id = models.BigIntegerField(primary_key=True, help_text="the playbook's id while it was in the memory")
    query = models.TextField()
    embedding_model = models.CharField(max_length=128, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    worker_ids = ArrayField(models.CharField(max_length=64))
    order = models.ForeignKey("orders.JobOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="archived_playbooks")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()
    archived_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"archived playbook {self.pk} ({self.outcome}): {self.query[:60]}"
