"""The index versions mirrored in Redis, so a search reads them in the Redis round trip it makes anyway
instead of asking PostgreSQL on every request (issue 18). PostgreSQL stays the truth.

Freshness (read-your-writes across processes and nodes):
- A write that changes a version drops the mirror key before its transaction commits, and writes the
  committed version after (`transaction.on_commit`, before the writer's request answers). A reader
  in between finds no key and reads PostgreSQL — the version before the commit, which is still right.
- The mirror only ever moves up (a Lua compare-and-set: versions never go down), so a slow reader that
  read PostgreSQL before a commit can never overwrite the newer value the writer stored after it.
- Writes to the workers table bump its version through a trigger, whoever sends them; every Django
  connection watches its own statements for such writes (apps.workers.apps), so admin edits,
  QuerySet.update and raw SQL through Django move the mirror too.
- Every key expires after INDEX_VERSION_MIRROR_TTL_S: a write from outside Django (psql) or a writer
  that died between its commit and its on-commit hook is stale for at most that long.
- Redis down: readers ask PostgreSQL (as before this mirror), writers log and go on.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import transaction

from apps.core.redis import get_redis

logger = logging.getLogger(__name__)

_REDIS_ERRORS = (redis.exceptions.RedisError, OSError)
# SET key version EX ttl, unless the key already holds a higher version.
_SET_IF_HIGHER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def key(name: str) -> str:
    return f"idxver:{name}"


def parse(value: bytes | None) -> int | None:
    """A mirrored value as a version; None for a missing (or foreign) value."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def remember(name: str, version: int) -> None:
    """Store a version read from (or committed to) PostgreSQL, unless the mirror already holds a newer one."""
    try:
        get_redis().eval(_SET_IF_HIGHER, 1, key(name), int(version), settings.INDEX_VERSION_MIRROR_TTL_S)
    except _REDIS_ERRORS as exc:
        logger.warning("index version mirror: Redis unavailable (%s: %s)", type(exc).__name__, exc)


def version_changing(name: str, version: int | None = None) -> None:
    """Call inside a write that changes `name`'s version (before its commit): drops the mirror now and
    stores the committed version once the transaction commits (`version` if the caller knows it, else
    read back from PostgreSQL)."""
    try:
        get_redis().delete(key(name))
    except _REDIS_ERRORS as exc:
        logger.warning("index version mirror: Redis unavailable (%s: %s); stale for up to %ss",
                       type(exc).__name__, exc, settings.INDEX_VERSION_MIRROR_TTL_S)

    def committed() -> None:
        from apps.indexes.selectors import database_index_version

        remember(name, version if version is not None else database_index_version(name))

    transaction.on_commit(committed)
