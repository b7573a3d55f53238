"""Index operations through the API (SPEC §4.9, §5): list, reset, rebuild, re-embed."""

from __future__ import annotations

import threading
import time

import pytest

from apps.indexes.models import IndexJob, VectorIndex
from apps.workers.models import Worker


@pytest.fixture
def fresh_corpus(transactional_db, tmp_path):
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.services import create_ingest_job, run_ingest

    Worker.objects.all().delete()
    path = tmp_path / "w.parquet"
    write_workers(generate_workers(4000, seed=23), path)
    assert run_ingest(create_ingest_job(path=path, dispatch=False).pk).status == "succeeded"


def _wait_for_job(client, job_id: int, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/indexes/jobs/{job_id}/").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.django_db
def test_list_indexes_shows_stats_for_every_registered_index(staff_client, settings):
    body = staff_client.get("/api/v1/indexes/").json()
    names = {i["name"]: i for i in body}
    assert set(names) >= {"workers", "playbook_memory"}
    workers = names["workers"]
    assert workers["dim"] == 768 and workers["metric"] == "cosine"
    # Each index is built with its own ef_construction setting: the playbook memory with a cheaper one
    assert settings.HNSW_EF_CONSTRUCTION != settings.PLAYBOOK_HNSW_EF_CONSTRUCTION
    assert workers["hnsw"] == {"m": settings.HNSW_M, "ef_construction": settings.HNSW_EF_CONSTRUCTION}
    assert names["playbook_memory"]["hnsw"] == {"m": settings.HNSW_M, "ef_construction": settings.PLAYBOOK_HNSW_EF_CONSTRUCTION}
    assert workers["rows"] == Worker.objects.count()
    assert workers["size_bytes"] > 0 and workers["state"] == "ready"
    assert set(workers) >= {"name", "dim", "metric", "rows", "size_bytes", "hnsw", "version", "state", "last_reset_at", "last_rebuilt_at"}
    assert staff_client.get("/api/v1/indexes/nope/").status_code == 404


@pytest.mark.django_db
def test_resetting_workers_needs_the_typed_confirmation(staff_client, coordinator_client):
    from apps.workers.generator import generate_workers
    from apps.workers.normalize import normalize_row

    Worker.objects.all().delete()  # rolled back with the test: the session corpus survives
    row = normalize_row(next(generate_workers(1, seed=1)))
    Worker.objects.create(**row.worker_fields())
    refused = staff_client.delete("/api/v1/indexes/workers/")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "confirmation_required"
    assert staff_client.delete("/api/v1/indexes/workers/?confirm=playbook_memory").status_code == 400
    assert Worker.objects.exists()
    assert coordinator_client.delete("/api/v1/indexes/workers/?confirm=workers").status_code == 403
    done = staff_client.delete("/api/v1/indexes/workers/?confirm=workers")
    assert done.status_code == 200
    assert done.json()["rows"] == 0 and done.json()["last_reset_at"]
    assert not Worker.objects.exists()
    # the empty index still answers searches
    search = coordinator_client.post("/api/v1/workers/search", {"query": "welder"}, format="json")
    assert search.status_code == 200 and search.json()["results"] == []


@pytest.mark.django_db(transaction=True)
def test_rebuild_runs_in_the_worker_and_search_keeps_working_during_it(celery_worker_process, fresh_corpus, staff_client, coordinator_client, settings):
    from apps.indexes.services import run_rebuild

    version = VectorIndex.objects.get(name="workers").version
    # Through the API and the real worker:
    accepted = staff_client.post("/api/v1/indexes/workers/rebuild/")
    assert accepted.status_code == 202
    job = _wait_for_job(staff_client, accepted.json()["job_id"])
    assert job["status"] == "succeeded", job
    index = VectorIndex.objects.get(name="workers")
    assert index.version > version and index.last_rebuilt_at is not None and index.state == "ready"

    # And searches while a rebuild is in progress, on the graph being rebuilt. The overlap is made
    # certain, not hoped for: a transaction holding an old snapshot parks REINDEX CONCURRENTLY in
    # its "waiting for old snapshots" phase until the test lets it go.
    settings.SEARCH_EXACT_MAX_ROWS = 0  # the corpus is small: force the HNSW path
    import psycopg

    from tests.conftest import _test_database_url

    blocker = psycopg.connect(_test_database_url())
    blocker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    blocker.execute(f"SELECT count(*) FROM {Worker._meta.db_table}").fetchone()
    job = IndexJob.objects.create(index=index, kind="rebuild")
    def rebuild_in_a_thread() -> None:
        from django.db import connection

        try:
            run_rebuild(job.pk)
        finally:
            connection.close()  # the thread's own connection, or the test database cannot be dropped

    rebuild = threading.Thread(target=rebuild_in_a_thread)
    rebuild.start()
    try:
        with psycopg.connect(_test_database_url(), autocommit=True) as observer:
            deadline = time.monotonic() + 120
            while not observer.execute(
                "SELECT 1 FROM pg_stat_progress_create_index WHERE command = 'REINDEX CONCURRENTLY'"
            ).fetchone():
                assert rebuild.is_alive() and time.monotonic() < deadline, "the rebuild never started"
                time.sleep(0.05)
            for n in range(3):
                response = coordinator_client.post("/api/v1/workers/search", {"query": f"forklift operator {n}", "k": 10}, format="json")
                assert response.status_code == 200
                assert response.json()["index"]["path"] == "hnsw"
                assert len(response.json()["results"]) == 10
            assert observer.execute("SELECT 1 FROM pg_stat_progress_create_index").fetchone(), "the rebuild did not wait"
    finally:
        blocker.rollback()
        blocker.close()
        rebuild.join()
    assert IndexJob.objects.get(pk=job.pk).status == "succeeded"
    # a rebuild while another job is queued is refused with 409
    queued = IndexJob.objects.create(index=index, kind="rebuild", status="queued")
    busy = staff_client.post("/api/v1/indexes/workers/rebuild/")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "index_busy"
    queued.delete()


def _index_options(index_name: str) -> tuple[int, set[str]]:
    """The index's oid (a concurrent rebuild swaps in a new one) and its build options."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT oid, reloptions FROM pg_class WHERE relname = %s", [index_name])
        oid, options = cursor.fetchone()
        return oid, set(options or [])


def test_a_rebuild_applies_the_current_build_parameters(fresh_corpus, settings):
    from apps.indexes.services import ensure_vector_index, run_rebuild
    from apps.workers.models import WORKER_EMBEDDING_INDEX

    index = ensure_vector_index("workers")
    built, options = _index_options(WORKER_EMBEDDING_INDEX)
    assert options >= {f"m={settings.HNSW_M}", f"ef_construction={settings.HNSW_EF_CONSTRUCTION}"}  # as the ingest built it
    settings.HNSW_M, settings.HNSW_EF_CONSTRUCTION = 12, 40  # an operator changed them and rebuilds

    # Changing them locks the live index; behind a long transaction the job gives up fast, with the reason
    import psycopg

    from tests.conftest import _test_database_url

    with psycopg.connect(_test_database_url()) as reader:
        reader.execute(f"SELECT count(*) FROM {Worker._meta.db_table}").fetchone()  # planning opened the index
        started = time.monotonic()
        failed = run_rebuild(IndexJob.objects.create(index=index, kind="rebuild").pk)
        assert time.monotonic() - started < 30
        assert failed.status == "failed" and "long-running transaction" in failed.error, failed.error
    assert _index_options(WORKER_EMBEDDING_INDEX) == (built, options)

    assert run_rebuild(IndexJob.objects.create(index=index, kind="rebuild").pk).status == "succeeded"
    rebuilt, options = _index_options(WORKER_EMBEDDING_INDEX)
    assert rebuilt != built and options >= {"m=12", "ef_construction=40"}
    index.refresh_from_db()
    assert (index.hnsw_m, index.hnsw_ef_construction) == (12, 40)
    assert Worker.objects.count() == 4000


@pytest.mark.django_db(transaction=True)
def test_reembed_recomputes_vectors_with_progress(celery_worker_process, fresh_corpus, staff_client):
    Worker.objects.update(embedding_model="stale/provider/768")
    sample = Worker.objects.order_by("pk").values_list("worker_id", "embedding").first()
    Worker.objects.filter(worker_id=sample[0]).update(embedding=[0.0] * 767 + [1.0])
    accepted = staff_client.post("/api/v1/indexes/workers/reembed/")
    assert accepted.status_code == 202
    job = _wait_for_job(staff_client, accepted.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["rows_done"] == job["rows_total"] == Worker.objects.count() and job["progress"] == 100.0
    assert not Worker.objects.filter(embedding_model="stale/provider/768").exists()
    restored = Worker.objects.get(worker_id=sample[0]).embedding
    assert list(restored) == pytest.approx(list(sample[1]), abs=1e-6)


@pytest.mark.django_db
def test_admin_actions_queue_rebuild_and_reembed_jobs(client):
    from apps.core.services import issue_api_token

    issue_api_token(username="console", staff=True, password="pw-for-tests")
    assert client.login(username="console", password="pw-for-tests")
    client.get("/admin/indexes/vectorindex/")  # registers the indexes
    workers = VectorIndex.objects.get(name="workers")
    for action, kind in (("rebuild_selected", "rebuild"), ("reembed_selected", "reembed")):
        IndexJob.objects.filter(index=workers).delete()
        response = client.post("/admin/indexes/vectorindex/", {"action": action, "_selected_action": [workers.pk]}, follow=True)
        assert response.status_code == 200
        job = IndexJob.objects.get(index=workers)
        assert job.kind == kind and job.status == "queued" and job.created_by == "console"
        assert f'job <a href="/admin/indexes/indexjob/{job.pk}/change/">{job.pk}</a> queued' in response.content.decode()


@pytest.mark.django_db
def test_the_console_says_when_the_settings_differ_from_what_the_graph_was_built_with(client, settings):
    from apps.core.services import issue_api_token
    from apps.indexes.services import ensure_vector_index

    issue_api_token(username="console", staff=True, password="pw-for-tests")
    assert client.login(username="console", password="pw-for-tests")
    ensure_vector_index("workers")
    page = client.get("/admin/indexes/vectorindex/").content.decode()
    assert f"m={settings.HNSW_M}, ef_construction={settings.HNSW_EF_CONSTRUCTION}" in page and "rebuild to apply" not in page
    settings.HNSW_EF_CONSTRUCTION += 40  # the operator raised it; the graph is still the old one
    page = client.get("/admin/indexes/vectorindex/").content.decode()
    assert f"settings: m={settings.HNSW_M}, ef_construction={settings.HNSW_EF_CONSTRUCTION} · rebuild to apply" in page
    # the two workers indexes (lexical and semantic) share the setting; the playbook memory has its own
    assert page.count("rebuild to apply") == 2


@pytest.mark.django_db
def test_a_job_that_died_with_its_worker_does_not_block_the_index_forever(staff_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.indexes.services import ensure_vector_index

    index = ensure_vector_index("playbook_memory")
    live = IndexJob.objects.create(index=index, kind="rebuild", status="running")
    VectorIndex.objects.filter(pk=index.pk).update(state="rebuilding")
    assert staff_client.delete("/api/v1/indexes/playbook_memory/").status_code == 409

    IndexJob.objects.filter(pk=live.pk).update(created_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60))
    assert staff_client.delete("/api/v1/indexes/playbook_memory/").status_code == 200


def test_reads_never_create_registry_rows_migrate_does(db, admin_client):
    from django.core.management.sql import emit_post_migrate_signal

    from apps.indexes import selectors
    from apps.indexes.models import VectorIndex

    VectorIndex.objects.all().delete()
    assert selectors.list_indexes() == [] and selectors.index_version("workers") == 0
    assert admin_client.get("/admin/indexes/vectorindex/").status_code == 200
    assert not VectorIndex.objects.exists()  # neither the selector nor the admin list wrote a row

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert set(VectorIndex.objects.values_list("name", flat=True)) == {"playbook_memory", "workers", "workers_semantic"}
