"""Reads of the interaction log (operators' API and console, an order's history)."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.interactions.models import Interaction


def interaction_list() -> QuerySet[Interaction]:
    """Newest first; `seq` breaks ties between rows written in the same instant."""
    return Interaction.objects.order_by("-occurred_at", "-seq")


def interactions_about(
    queryset: QuerySet[Interaction] | None = None, *, order_id: str | None = None, worker_id: str | None = None
) -> QuerySet[Interaction]:
    """The rows about an order and/or a worker (the columns decisions set), newest first. Each filter
    is served by its partial index."""
    rows = interaction_list() if queryset is None else queryset
    if order_id:
        rows = rows.filter(order_id=order_id)
    if worker_id:
        # The partial GIN index's own condition, repeated so that PostgreSQL can use it.
        rows = rows.filter(worker_ids__len__gt=0, worker_ids__contains=[worker_id])
    return rows
