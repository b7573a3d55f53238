"""Writes of the playbook learning loop (SPEC §4.6): record a fill, re-embed the memory, archive
playbooks past the decay horizon."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable

import orjson
from django.db import connection, transaction
from django.utils import timezone

from apps.core.errors import InvalidInput
from apps.core.vectors import vector_literal
from apps.interactions.choices import InteractionKind
from apps.interactions.scrubber import scrub, scrub_text
from apps.interactions.services import log_interaction
from apps.indexes.embedders import embed_query, get_embedder
from apps.indexes.services import bump_counted_index_version, bump_index_version
from apps.orders.models import JobOrder
from apps.playbooks.models import ArchivedPlaybook, Playbook
from apps.workers.selectors import existing_worker_ids


_INSERT_SQL = f"""
INSERT INTO {Playbook._meta.db_table}
    (query, query_embedding, embedding_model, filters, worker_ids, order_id, outcome, created_by, created_at)
VALUES (%s, %s::vector, %s, %s::jsonb, %s::varchar[], %s, %s, %s, %s)
RETURNING id
"""


def record_playbook(
    *,
    query: str,
    worker_ids: list[str],
    outcome: str,
    filters: dict[str, Any] | None = None,
    order_id: str | None = None,
    actor: str = "",
) -> dict[str, Any]:
    """Store a fill in the playbook memory; returns the SPEC §4.6 201 body.

    Unknown worker ids or order → 400 with nothing written. The playbook row and the index version bump
    commit together, the interaction is logged after; the bump comes last because it takes the registry row lock
    that also orders records against a concurrent reset (see apps.indexes.services.reset_index).
    """
    started = time.perf_counter()
    # Scrubbed before anything is embedded or stored: a pasted key or SSN must not live in the memory.
    query, filters = scrub_text(query), scrub(filters or {})
    ids = list(dict.fromkeys(worker_ids))
    known = existing_worker_ids(ids)
    unknown = [w for w in ids if w not in known]
    if unknown:
        raise InvalidInput(
            f"Unknown worker ids: {', '.join(unknown[:10])}.", fields={"worker_ids": [f"unknown worker id {w!r}" for w in unknown[:20]]}
        )
    order = None
    if order_id:
        order = JobOrder.objects.filter(order_id=order_id).first()
        if order is None:
            raise InvalidInput(f"No job order {order_id!r}.", fields={"order_id": ["No such order."]})
    vector, _ = embed_query(query)

    with transaction.atomic():
        with connection.cursor() as cursor:
            # Plain SQL: the ORM's create cost ~0.5 ms of Python on every recorded fill (issue 18).
            cursor.execute(
                _INSERT_SQL,
                [query, vector_literal(vector), get_embedder().key, orjson.dumps(filters or {}).decode(), ids,
                 order.pk if order else None, outcome, actor, timezone.now()],
            )
            playbook_id = cursor.fetchone()[0]
        # Last: the bump holds the registry row lock until commit, so nothing slow may follow it. The
        # size is that row's counter, which the INSERT's trigger kept (a count(*) grew with the memory).
        version, size = bump_counted_index_version("playbook_memory")
        body = {"id": playbook_id, "index": {"name": "playbook_memory", "size": size, "version": version}}
    # After the commit, so the row can take the queue (apps.interactions.services) instead of adding an
    # INSERT to the transaction; a crash in between loses only a fill that was never acknowledged.
    log_interaction(
        kind=InteractionKind.PLAYBOOK_RECORD,
        actor=actor,
        request={"query": query, "filters": filters or {}, "worker_ids": ids, "order_id": order_id, "outcome": outcome},
        response=body,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return body


def reembed_playbooks(pks: list[int]) -> int:
    """Recompute query embeddings with the current provider (a batch of the re-embed job)."""
    embedder = get_embedder()
    playbooks = list(Playbook.objects.filter(pk__in=pks).order_by("pk"))
    vectors = embedder.embed([p.query for p in playbooks])
    for playbook, vector in zip(playbooks, vectors):
        playbook.query_embedding, playbook.embedding_model = vector, embedder.key
    Playbook.objects.bulk_update(playbooks, ["query_embedding", "embedding_model"], batch_size=500)
    return len(playbooks)


# ------------------------------------------------------------------------------------ retention

_ARCHIVE_BATCH_SQL = f"""
WITH moved AS (
    DELETE FROM {Playbook._meta.db_table}
    WHERE id IN (SELECT id FROM {Playbook._meta.db_table} WHERE created_at < %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
    RETURNING id, query, embedding_model, filters, worker_ids, order_id, outcome, created_by, created_at
)
INSERT INTO {ArchivedPlaybook._meta.db_table}
    (id, query, embedding_model, filters, worker_ids, order_id, outcome, created_by, created_at, archived_at)
SELECT id, query, embedding_model, filters, worker_ids, order_id, outcome, created_by, created_at, now() FROM moved
"""


def archive_playbooks(*, older_than: datetime, batch_size: int = 5000, on_batch: Callable[[int], None] | None = None) -> int:
    """Move playbooks created before `older_than` from the memory to the archive, in batches (one
    transaction each: a playbook is in exactly one of the two tables at any moment). Each batch bumps
    the playbook_memory version, so no cached boosted search outlives it. Returns the number moved."""
    moved = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_ARCHIVE_BATCH_SQL, [older_than, batch_size])
                count = cursor.rowcount
            if count:
                bump_index_version("playbook_memory")  # last: it takes the registry row lock
        moved += count
        if on_batch is not None and count:
            on_batch(moved)
        if count < batch_size:
            return moved
