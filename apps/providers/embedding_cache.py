"""Embedding cache: a small in-process LRU in front of Redis, in front of the embedder.

Key: f"emb:{embedder.key}:{sha256(text)}" — the embedder key names provider, model and dimension,
so switching any of them can never serve a vector from the old space. Values are raw little-endian
float32 bytes with a TTL. The cache is an optimisation only: when Redis is down the vector is
computed and the failure counted and logged, so a search never fails because its cache did.
After a Redis failure the cache skips Redis for `redis_retry_after_s`: redis-py retries a dead
server with backoff, and paying that on every search during an outage would make each one slow.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis

from apps.providers.embeddings import Embedder

logger = logging.getLogger(__name__)

_WIRE_DTYPE = np.dtype("<f4")  # fixed byte order: any machine can read any other's values
_ERROR_LOG_INTERVAL_S = 30.0  # a Redis outage logs once per interval, not once per search
# Connection failures show up as redis errors, or as bare OSErrors from the socket layer.
_REDIS_ERRORS = (redis.exceptions.RedisError, OSError)

HIT = "hit"
MISS = "miss"
NOT_READ = object()  # embed_query's redis_value when the caller did not read Redis for it


@dataclass(frozen=True)
class CacheStats:
    """Counters since the cache was created (per process)."""

    lru_hits: int
    redis_hits: int
    misses: int
    redis_errors: int
    redis_skips: int  # Redis calls not attempted because it failed moments ago


class EmbeddingCache:
    """Caches `embedder` vectors by text.

    `redis_client` must return bytes (decode_responses=False); None means LRU only. Returned arrays
    are read-only because the same object may be handed to other callers — copy before mutating.
    """

    def __init__(
        self,
        embedder: Embedder,
        redis_client: redis.Redis | None,
        ttl_s: int = 7 * 86400,
        lru_size: int = 2048,
        *,
        key_prefix: str = "emb",
        redis_retry_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if redis_client is not None and _decodes_responses(redis_client):
            raise ValueError("EmbeddingCache needs a Redis client with decode_responses=False")
        self.embedder = embedder
        self.redis = redis_client
        self.ttl_s = int(ttl_s)
        self.key_prefix = key_prefix
        self.redis_retry_after_s = redis_retry_after_s
        self._clock = clock  # injectable so a test can step past the retry window without sleeping
        self._lru = _LRU(lru_size)
        self._value_bytes = embedder.dim * _WIRE_DTYPE.itemsize
        self._stats_lock = threading.Lock()
        self._lru_hits = self._redis_hits = self._misses = self._redis_errors = self._redis_skips = 0
        self._last_error_log = float("-inf")
        self._redis_down_until = float("-inf")

    def key_for(self, text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.key_prefix}:{self.embedder.key}:{digest}"

    def redis_key_to_read(self, text: str) -> str | None:
        """The Redis key `embed_query(text)` would read, or None when the in-process LRU has the vector
        or Redis is being skipped: lets a caller fold that read into its own Redis round trip."""
        key = self.key_for(text)
        if key in self._lru or self.redis is None or self._clock() < self._redis_down_until:
            return None
        return key

    def embed_query(
        self, text: str, *, redis_value: bytes | None | object = NOT_READ, pipeline: redis.client.Pipeline | None = None
    ) -> tuple[np.ndarray, str]:
        """The vector for one query text and whether it came from the cache ("hit"/"miss").
        `redis_value`: what the caller already read from Redis at `redis_key_to_read(text)`.
        `pipeline`: a pipeline the caller executes (and whose errors it handles); a new vector's write
        joins it instead of taking a round trip of its own."""
        key = self.key_for(text)
        vector = self._lru.get(key)
        if vector is not None:
            self._count(lru_hits=1)
            return vector, HIT
        vector = self._redis_get([key])[0] if redis_value is NOT_READ else self._decode(redis_value)
        if vector is not None:
            self._count(redis_hits=1)
            self._lru.put(key, vector)
            return vector, HIT
        vector = _read_only(self.embedder.embed([text])[0])
        self._count(misses=1)
        if pipeline is not None and self._redis_usable():
            pipeline.set(key, self._encode(vector), ex=self.ttl_s)
        else:
            self._redis_set({key: vector})
        self._lru.put(key, vector)
        return vector, MISS

    def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for many texts [n, dim]: one MGET, one embedder call for the distinct misses,
        one pipelined write. Reads the LRU but does not fill it, so a bulk call cannot evict the
        hot query vectors."""
        texts = list(texts)
        out = np.empty((len(texts), self.embedder.dim), dtype=np.float32)
        positions: dict[str, list[int]] = {}  # distinct keys not in the LRU -> rows of `out`
        texts_by_key: dict[str, str] = {}
        lru_hits = 0
        for row, text in enumerate(texts):
            key = self.key_for(text)
            vector = self._lru.get(key)
            if vector is not None:
                out[row] = vector
                lru_hits += 1
            else:
                positions.setdefault(key, []).append(row)
                texts_by_key.setdefault(key, text)
        keys = list(positions)
        missing: list[str] = []
        redis_hits = 0
        for key, vector in zip(keys, self._redis_get(keys)):
            if vector is None:
                missing.append(key)
                continue
            redis_hits += len(positions[key])
            out[positions[key]] = vector
        if missing:
            computed = self.embedder.embed([texts_by_key[key] for key in missing])
            for key, vector in zip(missing, computed):
                out[positions[key]] = vector
            self._redis_set({key: vector for key, vector in zip(missing, computed)})
        self._count(
            lru_hits=lru_hits,
            redis_hits=redis_hits,
            misses=sum(len(positions[key]) for key in missing),
        )
        return out

    @property
    def stats(self) -> CacheStats:
        with self._stats_lock:
            return CacheStats(
                self._lru_hits, self._redis_hits, self._misses, self._redis_errors, self._redis_skips
            )

    def clear_local(self) -> None:
        """Empty the in-process LRU (Redis entries expire by TTL or change of embedder key)."""
        self._lru.clear()

    # -- Redis, failing soft ----------------------------------------------------------------------

    def _redis_get(self, keys: list[str]) -> list[np.ndarray | None]:
        if not keys or not self._redis_usable():
            return [None] * len(keys)
        try:
            values = self.redis.mget(keys)
        except _REDIS_ERRORS as exc:
            self._redis_failed("read", exc)
            return [None] * len(keys)
        return [self._decode(value) for value in values]

    def _redis_set(self, vectors: dict[str, np.ndarray]) -> None:
        if not vectors or not self._redis_usable():
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key, vector in vectors.items():
                pipe.set(key, self._encode(vector), ex=self.ttl_s)
            pipe.execute()
        except _REDIS_ERRORS as exc:
            self._redis_failed("write", exc)

    def _redis_usable(self) -> bool:
        if self.redis is None:
            return False
        with self._stats_lock:
            if self._clock() < self._redis_down_until:
                self._redis_skips += 1
                return False
        return True

    @staticmethod
    def _encode(vector: np.ndarray) -> bytes:
        return np.asarray(vector, dtype=_WIRE_DTYPE).tobytes()

    def _decode(self, value: Any) -> np.ndarray | None:
        # Anything but exactly dim float32s (another writer, a truncated value) is a miss.
        if not isinstance(value, bytes) or len(value) != self._value_bytes:
            return None
        return _read_only(np.frombuffer(value, dtype=_WIRE_DTYPE).astype(np.float32, copy=False))

    def _redis_failed(self, operation: str, exc: BaseException) -> None:
        now = self._clock()
        with self._stats_lock:
            self._redis_errors += 1
            self._redis_down_until = now + self.redis_retry_after_s
            errors = self._redis_errors
            should_log = now - self._last_error_log >= _ERROR_LOG_INTERVAL_S
            if should_log:
                self._last_error_log = now
        if should_log:
            logger.warning(
                "embedding cache: Redis %s failed (%s: %s); computing embeddings without it, "
                "next Redis attempt in %.1fs (%d Redis errors so far)",
                operation, type(exc).__name__, exc, self.redis_retry_after_s, errors,
            )

    def _count(self, *, lru_hits: int = 0, redis_hits: int = 0, misses: int = 0) -> None:
        with self._stats_lock:
            self._lru_hits += lru_hits
            self._redis_hits += redis_hits
            self._misses += misses


class _LRU:
    """A thread-safe least-recently-used map; size 0 disables it."""

    def __init__(self, size: int) -> None:
        self.size = max(0, int(size))
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: np.ndarray) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _read_only(vector: np.ndarray) -> np.ndarray:
    vector = np.array(vector, dtype=np.float32, copy=True) if vector.flags.writeable else vector
    vector.flags.writeable = False
    return vector


def _decodes_responses(client: Any) -> bool:
    try:
        return bool(client.get_connection_kwargs().get("decode_responses"))
    except Exception:  # not a redis-py client we can inspect: trust the caller
        return False
