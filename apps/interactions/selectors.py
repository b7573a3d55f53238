"""Reads of the interaction log (operators' API and console, an order's history, a worker's page)."""

from __future__ import annotations

import uuid

import redis
from django.conf import settings
from django.db.models import QuerySet

from apps.core.errors import DependencyDown
from apps.core.redis import get_redis
from apps.interactions.choices import InteractionKind
from apps.interactions.log_queue import PENDING_KEY
from apps.interactions.models import Interaction


def interaction_list() -> QuerySet[Interaction]:
    """Newest first; `seq` breaks ties between rows written in the same instant."""
    return Interaction.objects.order_by("-occurred_at", "-seq")


def interaction_kind(interaction_id: uuid.UUID) -> str | None:
    """The kind of a logged interaction, None if there is none — also for a row still in the queue
    (apps.interactions.services), so feedback on an id a response just returned is accepted at once.

    The queue's index is read first: an id leaves it only after its row committed, so one of the two
    reads always finds it. DependencyDown (503) when Redis cannot be asked and the table has no row: the
    id may be queued, and "no such interaction" would be a wrong answer.
    """
    redis_error = None
    try:
        pending = get_redis().hget(PENDING_KEY, str(interaction_id))
    except (redis.exceptions.RedisError, OSError) as exc:
        pending, redis_error = None, exc
    if pending is not None:
        return pending.decode()
    kind = Interaction.objects.filter(pk=interaction_id).values_list("kind", flat=True).first()
    if kind is None and redis_error is not None and settings.INTERACTION_LOG_QUEUE:
        raise DependencyDown("Redis is unavailable: cannot tell whether this interaction is still queued.") from redis_error
    return kind


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


# How far back a worker's page looks for outreach validations: the interaction log has no index on
# the recipient, so the lookup reads at most this many of the newest validations (kind+time index).
OUTREACH_LOOKBACK_ROWS = 5000


def recent_outreach_for(worker_id: str, *, limit: int = 10) -> list[Interaction]:
    """The worker's latest email/SMS validations among the newest OUTREACH_LOOKBACK_ROWS validations."""
    kinds = [InteractionKind.VALIDATE_EMAIL, InteractionKind.VALIDATE_SMS]
    window = Interaction.objects.filter(kind__in=kinds).order_by("-occurred_at").values("pk")[:OUTREACH_LOOKBACK_ROWS]
    return list(Interaction.objects.filter(pk__in=window, request__worker_id=worker_id).order_by("-occurred_at")[:limit])
