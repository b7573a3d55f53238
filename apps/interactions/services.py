"""Writes of the interaction log (SPEC §3.5): one row per coordinator workflow call or LLM call.

The log is off the request path. `log_interaction` scrubs the row, gives it its uuid (so the response
can carry `interaction_id` at once) and, in one Redis round trip (MULTI/EXEC), appends it as JSON to
QUEUE_KEY and records `id → kind` in PENDING_KEY. Redis runs with the append-only file, so an
acknowledged row survives a crash of any process (with `appendfsync everysec`, a power loss of the
machine may lose the last second, as it may for the queued Celery tasks). The worker drains the queue
in batches (`drain_interaction_queue`: Celery beat every INTERACTION_DRAIN_INTERVAL_S, and at once when
a push finds INTERACTION_DRAIN_BATCH rows waiting); the evidence materializer drains before it reads.

Draining is idempotent, so a drainer that dies anywhere loses and duplicates nothing: it reads the
head of the queue without removing it, inserts with ON CONFLICT (id) DO NOTHING, commits, and only
then removes exactly the entries it read (LREM by value, so entries pushed meanwhile stay) and their
PENDING_KEY ids. Dying before the commit leaves the entries queued; dying after it re-inserts nothing.
`seq` (the materializer's watermark) is taken when the row is inserted, so drained rows land above
every watermark already read.

Feedback names an id before its row may exist: `interaction_kind` looks in PENDING_KEY first, then the
table. In that order there is no gap: an id leaves PENDING_KEY only after its row committed.

Fallbacks. Inside a caller's transaction the row is inserted in that transaction (it commits or rolls
back with the caller's writes; a queued row could not). When Redis is down the row is inserted
synchronously — the log is PostgreSQL's, Redis only carries it, and a search or validation must not
fail because a cache and queue is down (SPEC §3.5: nothing acknowledged is lost); after a failure
Redis is skipped for a few seconds so an outage does not add a timeout to every request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import orjson
import redis
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from apps.core.redis import get_redis
from apps.interactions.log_queue import PENDING_KEY, QUEUE_KEY
from apps.interactions.models import Interaction
from apps.interactions.scrubber import scrub

logger = logging.getLogger(__name__)

_REDIS_ERRORS = (redis.exceptions.RedisError, OSError)
_REDIS_RETRY_AFTER_S = 5.0
_redis_down_until = float("-inf")
_redis_state = threading.Lock()
_TABLE = Interaction._meta.db_table
# Serializes drainers (a beat tick and a materialize run may drain at once); held only for a batch.
_DRAIN_LOCK_KEY = 0x4C48_494E_5452  # "LHINTR"

_INSERT_SQL = f"""
INSERT INTO {_TABLE} (id, kind, occurred_at, actor, request, response, ok, errors, latency_ms, model,
                      prompt_tokens, completion_tokens, order_id, worker_ids)
SELECT r.id, r.kind, r.occurred_at, r.actor, r.request, r.response, r.ok, r.errors, r.latency_ms, r.model,
       r.prompt_tokens, r.completion_tokens, coalesce(r.order_id, ''), coalesce(r.worker_ids, '{{}}')
FROM jsonb_to_recordset(%s::jsonb) AS r(
    id uuid, kind text, occurred_at timestamptz, actor text, request jsonb, response jsonb, ok boolean,
    errors jsonb, latency_ms float8, model text, prompt_tokens int, completion_tokens int, order_id text,
    worker_ids text[]
)
ON CONFLICT (id) DO NOTHING
"""


def log_interaction(
    *,
    kind: str,
    actor: str = "",
    request: dict[str, Any],
    response: dict[str, Any],
    ok: bool = True,
    errors: list[Any] | None = None,
    latency_ms: float = 0.0,
    model: str = "",
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    order_id: str = "",
    worker_ids: list[str] | tuple[str, ...] = (),
    redis_writes: redis.client.Pipeline | None = None,
) -> Interaction:
    """Log one interaction, with secrets, SSNs and card numbers scrubbed from request, response and
    errors first. `order_id` and `worker_ids` name what the row is about (an order's history, a worker's
    decisions); they are scrubbed like the rest, since an id is whatever a caller typed. Returns the
    row; its `pk` is final at once, but a queued row is saved only when the worker drains the queue
    (see the module docstring), so `seq` may still be unset.

    `redis_writes`: the caller's own pending writes in a MULTI pipeline (a search's caches). The push
    joins them, so both take one round trip; they are written (best effort) when the row is not queued
    too, unless Redis is down."""
    interaction = Interaction(
        id=uuid.uuid4(),
        kind=kind,
        occurred_at=timezone.now(),
        actor=scrub(actor),
        request=scrub(request),
        response=scrub(response),
        ok=ok,
        errors=scrub(errors or []),
        latency_ms=round(latency_ms, 3),
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        order_id=scrub(order_id or ""),
        worker_ids=[scrub(str(w)) for w in worker_ids],
    )
    if settings.INTERACTION_LOG_QUEUE and not connection.in_atomic_block:
        if _enqueue(interaction, redis_writes):
            return interaction
    elif redis_writes is not None and len(redis_writes) and time.monotonic() >= _redis_down_until:
        try:
            redis_writes.execute()
        except _REDIS_ERRORS:
            logger.warning("interaction log: the caller's Redis writes failed", exc_info=True)
    interaction.save(force_insert=True)
    return interaction


_QUEUE_FALLBACK = DjangoJSONEncoder()


def _as_queue_entry(interaction: Interaction) -> bytes:
    # orjson: the stdlib encoder was a few per cent of a request's CPU (issue 18); DjangoJSONEncoder
    # still takes what orjson does not know (Decimal, lazy strings).
    return orjson.dumps(
        {
            "id": str(interaction.pk),
            "kind": interaction.kind,
            "occurred_at": interaction.occurred_at.isoformat(),
            "actor": interaction.actor,
            "request": interaction.request,
            "response": interaction.response,
            "ok": interaction.ok,
            "errors": interaction.errors,
            "latency_ms": interaction.latency_ms,
            "model": interaction.model,
            "prompt_tokens": interaction.prompt_tokens,
            "completion_tokens": interaction.completion_tokens,
            "order_id": interaction.order_id,
            "worker_ids": interaction.worker_ids,
        },
        default=_QUEUE_FALLBACK.default,
        option=orjson.OPT_NON_STR_KEYS,
    )


def _enqueue(interaction: Interaction, pipe: redis.client.Pipeline | None = None) -> bool:
    """Push the row (one round trip, with `pipe`'s writes if given); False when Redis is down (the
    caller inserts it instead)."""
    global _redis_down_until
    if time.monotonic() < _redis_down_until:
        return False
    if pipe is None:
        pipe = get_redis().pipeline(transaction=True)
    elif not pipe.transaction:
        raise ValueError("the queue push needs a MULTI pipeline: the entry and its pending id go together")
    try:
        pipe.rpush(QUEUE_KEY, _as_queue_entry(interaction))
        pipe.hset(PENDING_KEY, str(interaction.pk), interaction.kind)
        # A failed cache write of the caller's must not fail the push; a failed push must be seen.
        *callers, queued, pending = pipe.execute(raise_on_error=False)
        for result in (queued, pending):
            if isinstance(result, Exception):
                raise result
        failed = [result for result in callers if isinstance(result, Exception)]
        if failed:
            logger.warning("interaction log: %d Redis write(s) of the caller's failed: %s", len(failed), failed[0])
    except _REDIS_ERRORS as exc:
        with _redis_state:
            _redis_down_until = time.monotonic() + _REDIS_RETRY_AFTER_S
        logger.warning("interaction queue: Redis unavailable (%s: %s); writing the row synchronously", type(exc).__name__, exc)
        return False
    if queued == settings.INTERACTION_DRAIN_BATCH:
        _request_drain()
    return True


def _request_drain() -> None:
    """A full batch is waiting: ask the worker now instead of at the next beat tick."""
    from apps.interactions.tasks import drain_interactions_task

    try:
        drain_interactions_task.delay()
    except Exception:  # the beat tick drains it anyway; the row itself is already durable
        logger.warning("interaction queue: could not ask for a drain", exc_info=True)


def drain_interaction_queue(*, batch_size: int | None = None, max_batches: int | None = None) -> int:
    """Move queued rows into the table, batch by batch, until the queue is empty (or `max_batches`).
    Returns the number of rows inserted (rows another drainer inserted first are not counted)."""
    batch_size = batch_size or settings.INTERACTION_DRAIN_BATCH
    client = get_redis()
    inserted = batches = 0
    while max_batches is None or batches < max_batches:
        if not client.llen(QUEUE_KEY):  # the common beat tick: no transaction for an empty queue
            return inserted
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DRAIN_LOCK_KEY])
                entries = client.lrange(QUEUE_KEY, 0, batch_size - 1)
                if not entries:
                    return inserted
                rows, ids, bad = _decode_entries(entries)
                if rows:
                    cursor.execute(_INSERT_SQL, ["[" + ",".join(rows) + "]"])
                    inserted += cursor.rowcount
        # Committed: only now may the entries leave the queue (a crash before this re-inserts nothing).
        pipe = client.pipeline(transaction=False)
        for entry in entries:
            pipe.lrem(QUEUE_KEY, 1, entry)
        for entry in bad:
            pipe.rpush(f"{QUEUE_KEY}:unreadable", entry)
        if ids:
            pipe.hdel(PENDING_KEY, *ids)
        pipe.execute()
        batches += 1
    return inserted


def _decode_entries(entries: list[bytes]) -> tuple[list[str], list[str], list[bytes]]:
    """The entries that are JSON objects with an id, their ids, and the entries that are not (set aside,
    never retried: one unreadable entry must not block the queue)."""
    rows, ids, bad = [], [], []
    for entry in entries:
        try:
            text = entry.decode("utf-8")
            row_id = json.loads(text).get("id")
            if isinstance(row_id, str):
                rows.append(text)
                ids.append(row_id)
                continue
        except (UnicodeDecodeError, ValueError, AttributeError):
            pass
        logger.error("interaction queue: unreadable entry set aside in %s:unreadable", QUEUE_KEY)
        bad.append(entry)
    return rows, ids, bad
