"""Index versions mirrored in Redis (apps.indexes.version_mirror) on the real PostgreSQL and Redis: a
search asks PostgreSQL for no version and makes one Redis round trip for its lookups, yet a version
bumped by another connection is seen by the very next search (read-your-writes across processes)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.indexes import version_mirror
from apps.indexes.selectors import database_index_version, index_version
from apps.indexes.services import bump_index_version
from apps.search.services import search_workers
from apps.workers.search import search_request_from_dict

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST = {"query": "forklift operator night shift", "k": 5}


@pytest.fixture
def small_corpus(transactional_db, tmp_path):
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.services import create_ingest_job, run_ingest

    path = tmp_path / "workers.parquet"
    write_workers(generate_workers(80, seed=5), path)
    job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    assert job.status == "succeeded", job.error


def _search() -> dict:
    return search_workers(search_request_from_dict(REQUEST))


def _commands(redis_client) -> dict[str, int]:
    stats = redis_client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def test_a_warm_search_asks_postgresql_for_no_version_and_redis_once(small_corpus, redis_client):
    first = _search()
    assert first["result_cache"] == "miss"

    before = _commands(redis_client)
    with CaptureQueriesContext(connection) as queries:
        again = _search()
    after = _commands(redis_client)

    assert again["result_cache"] == "hit" and again["index"]["version"] == first["index"]["version"]
    assert queries.captured_queries == []  # no version query, no kNN: served from the one MGET
    # commandstats is server-wide: count only what a search may send (a test's Celery worker sends others).
    assert {name: after.get(name, 0) - before.get(name, 0) for name in ("mget", "get", "set", "eval", "hget")} == {
        "mget": 1, "get": 0, "set": 0, "eval": 0, "hget": 0,
    }


def test_a_search_that_runs_its_knn_keeps_the_mirror(small_corpus, redis_client):
    """The kNN query reads the workers table inside a WITH: it must not count as a write that drops the
    mirror, or every search would send the next one to PostgreSQL for the version."""
    _search()
    before = _commands(redis_client)
    with CaptureQueriesContext(connection) as queries:
        miss = search_workers(search_request_from_dict({"query": "night shift custodian", "k": 5}))
    after = _commands(redis_client)

    assert miss["result_cache"] == "miss"
    sql = [q["sql"] for q in queries.captured_queries]
    assert any("workers_worker" in s for s in sql)  # the kNN ran …
    assert not any("indexes_vectorindex" in s for s in sql)  # … and no version came from PostgreSQL
    assert after.get("del", 0) - before.get("del", 0) == 0
    assert version_mirror.parse(redis_client.get(version_mirror.key("workers"))) == miss["index"]["version"]


def test_a_version_bumped_in_another_connection_is_seen_by_the_next_search(small_corpus):
    before = _search()
    bumped: list[int] = []

    def bump_elsewhere() -> None:  # another thread: its own database connection, its own transaction
        try:
            with transaction.atomic():
                bumped.append(bump_index_version("workers"))
        finally:
            connection.close()

    thread = threading.Thread(target=bump_elsewhere)
    thread.start()
    thread.join(timeout=60)

    after = _search()
    assert bumped == [before["index"]["version"] + 1]
    assert after["index"]["version"] == bumped[0] and after["result_cache"] == "miss"


def test_a_worker_saved_through_the_orm_moves_the_mirror_at_once(small_corpus):
    from apps.workers.models import Worker

    before = _search()["index"]["version"]
    worker = Worker.objects.order_by("worker_id").first()
    worker.reliability = 0.5
    worker.save()  # the table's trigger bumps the version; the post_save hook moves the mirror

    assert _search()["index"]["version"] == database_index_version("workers") > before


def test_a_write_the_app_cannot_see_shows_within_the_mirror_ttl(small_corpus, settings, redis_client):
    settings.INDEX_VERSION_MIRROR_TTL_S = 1
    redis_client.delete(version_mirror.key("workers"))
    before = _search()["index"]["version"]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as raw:  # raw SQL outside Django: only the trigger bumps
        raw.execute("UPDATE workers_worker SET reliability = reliability WHERE worker_id = (SELECT min(worker_id) FROM workers_worker)")

    deadline = time.monotonic() + 30
    while _search()["index"]["version"] == before:
        assert time.monotonic() < deadline, "the mirror never expired"
        time.sleep(0.05)
    assert _search()["index"]["version"] == database_index_version("workers")


def test_the_mirror_only_moves_up(redis_client):
    version_mirror.remember("workers", 7)
    version_mirror.remember("workers", 5)  # a reader that read PostgreSQL before a commit, arriving late

    assert index_version("workers") == 7
    assert redis_client.ttl(version_mirror.key("workers")) > 0


def test_with_redis_down_the_version_comes_from_postgresql(small_corpus, settings):
    from apps.core.redis import get_redis

    expected = database_index_version("workers")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    get_redis.cache_clear()
    try:
        body = _search()
    finally:
        get_redis.cache_clear()
    assert body["index"]["version"] == expected and len(body["results"]) == 5
