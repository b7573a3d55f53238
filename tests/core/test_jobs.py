"""The job framework on the real database: one detail shape, the unified list, cancel and retry per
kind (SPEC §3.6), the reaper, and a broker that is down at launch."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote

from apps.core import selectors, services
from apps.core.jobs import JobLock
from apps.evidence.models import MaterializeRun
from apps.evidence.services import create_materialize_run, run_materialize
from apps.indexes.models import IndexJob
from apps.indexes.services import ensure_vector_index
from apps.replay.models import ReplayBatch, ReplayRun
from apps.replay.services import create_batch, run_batch
from apps.workers.generator import generate_workers, write_workers
from apps.workers.models import IngestJob, Worker
from apps.workers.services import create_ingest_job, run_ingest

COMMON = {"job_id", "kind", "status", "progress", "created_by", "created_at", "started_at", "finished_at", "heartbeat_at", "error", "retry_of"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(settings, tmp_path) -> Path:
    settings.KB_DIR = str(tmp_path / "kb")
    return tmp_path / "kb"


def test_every_kind_lists_newest_first_with_one_detail_shape(staff_client, kb, tmp_path):
    # Rows that tests with a real worker committed earlier in the session are counted, not assumed away.
    before = {kind: staff_client.get("/api/v1/jobs/", {"kind": kind}).json()["count"] for kind in ("ingest", "index", "materialize", "replay")}
    failed_before = staff_client.get("/api/v1/jobs/", {"status": "failed"}).json()["count"]
    path = tmp_path / "w.csv"
    write_workers(generate_workers(20, seed=1), path)
    ingest = create_ingest_job(path=path, dispatch=False)
    index = IndexJob.objects.create(index=ensure_vector_index("workers"), kind="rebuild")
    run = create_materialize_run()
    batch = create_batch(provider="local", dispatch=False)

    listing = staff_client.get("/api/v1/jobs/").json()
    assert [(r["kind"], str(r["job_id"])) for r in listing["results"][:4]] == [
        ("replay", batch.pk), ("materialize", run.pk), ("index", str(index.pk)), ("ingest", str(ingest.pk)),
    ]
    assert listing["count"] == sum(before.values()) + 4 and all(COMMON <= set(r) for r in listing["results"])
    assert staff_client.get("/api/v1/jobs/", {"kind": "replay"}).json()["count"] == before["replay"] + 1
    assert staff_client.get("/api/v1/jobs/", {"status": "failed"}).json()["count"] == failed_before
    page = staff_client.get("/api/v1/jobs/", {"page_size": 3}).json()
    assert len(page["results"]) == 3 and page["next"]
    assert staff_client.get("/api/v1/jobs/", {"kind": "nope"}).status_code == 400

    detail = staff_client.get(f"/api/v1/jobs/ingest/{ingest.pk}/").json()
    assert COMMON <= set(detail) and detail["status"] == "queued" and detail["rows_read"] == 0
    assert staff_client.get(f"/api/v1/jobs/replay/{batch.pk}/").json()["pass_rate"] is None
    assert staff_client.get("/api/v1/jobs/ingest/999999/").status_code == 404
    assert staff_client.get("/api/v1/jobs/bogus/1/").status_code == 404


def test_coordinators_cannot_see_or_touch_jobs(coordinator_client):
    assert coordinator_client.get("/api/v1/jobs/").status_code == 403
    assert coordinator_client.post("/api/v1/jobs/ingest/1/cancel/").status_code == 403


def test_a_queued_replay_is_cancelled_and_never_runs(staff_client, kb):
    batch = create_batch(provider="local", dispatch=False)
    response = staff_client.post(f"/api/v1/jobs/replay/{batch.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled" and response.json()["finished_at"]
    # The task arriving later (a revoke that came too late) finds a cancelled row and does nothing.
    assert run_batch(batch.pk).status == "cancelled"
    assert not ReplayRun.objects.filter(batch_id=batch.pk).exists()
    again = staff_client.post(f"/api/v1/jobs/replay/{batch.pk}/cancel/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"


def test_a_running_ingest_stops_at_the_next_batch_boundary_keeping_what_it_committed(staff_client, tmp_path, settings):
    Worker.objects.all().delete()
    settings.INGEST_BATCH_SIZE = 100
    path = tmp_path / "w.csv"
    write_workers(generate_workers(1000, seed=2), path)
    job = create_ingest_job(path=path, dispatch=False)
    responses = []

    def cancel_once(current: IngestJob) -> None:
        if not responses:  # after the first batch has committed
            responses.append(staff_client.post(f"/api/v1/jobs/ingest/{job.pk}/cancel/"))

    finished = run_ingest(job.pk, on_progress=cancel_once)
    assert responses[0].status_code == 200 and responses[0].json()["cancel_requested"] is True
    assert finished.status == "cancelled" and finished.finished_at and "cancelled" in finished.error
    assert finished.rows_read == 100 == finished.rows_written == Worker.objects.count()
    from apps.workers.services import _hnsw_index_exists

    assert _hnsw_index_exists()  # a cancelled bulk load still leaves a working index


def test_running_materialize_and_index_jobs_refuse_a_cancel_saying_why(staff_client, kb):
    run = create_materialize_run()
    MaterializeRun.objects.filter(pk=run.pk).update(status="running")
    response = staff_client.post(f"/api/v1/jobs/materialize/{run.pk}/cancel/")
    assert response.status_code == 409 and "cannot be cancelled" in response.json()["error"]["message"]
    job = IndexJob.objects.create(index=ensure_vector_index("workers"), kind="reembed", status="running")
    response = staff_client.post(f"/api/v1/jobs/index/{job.pk}/cancel/")
    assert response.status_code == 409 and "rebuild or re-embed" in response.json()["error"]["message"]


def test_a_failed_materialize_is_retried_as_a_new_run_pointing_at_it(staff_client, kb, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    failed = create_materialize_run()
    MaterializeRun.objects.filter(pk=failed.pk).update(kb_dir=str(blocker / "kb"))  # its receipt cannot be written
    failed = run_materialize(failed.pk)
    assert failed.status == "failed" and "receipt not written" in failed.error

    response = staff_client.post(f"/api/v1/jobs/materialize/{failed.pk}/retry/")
    assert response.status_code == 202 and set(response.json()) == {"job_id", "task_id"}
    retry = MaterializeRun.objects.get(pk=response.json()["job_id"])
    assert retry.retry_of_id == failed.pk and retry.status == "queued" and retry.pk != failed.pk
    assert run_materialize(retry.pk).status == "succeeded"
    assert staff_client.get(f"/api/v1/jobs/materialize/{retry.pk}/").json()["retry_of"] == failed.pk
    # Only failed or cancelled jobs are retried.
    assert staff_client.post(f"/api/v1/jobs/materialize/{retry.pk}/retry/").status_code == 409


def test_the_reaper_requeues_a_dead_idempotent_job_and_fails_a_dead_replay(tmp_path, kb):
    path = tmp_path / "w.csv"
    write_workers(generate_workers(10, seed=3), path)
    ingest = create_ingest_job(path=path, dispatch=False)
    batch = create_batch(provider="local", dispatch=False)
    live = create_batch(provider="local", dispatch=False)
    for model, pk in ((IngestJob, ingest.pk), (ReplayBatch, batch.pk), (ReplayBatch, live.pk)):
        model.objects.filter(pk=pk).update(status="running", attempts=1)  # as a runner that then died

    with _held_by_another_session("replay", live.pk):  # a live runner holds its lock and beats
        from django.utils import timezone

        ReplayBatch.objects.filter(pk=live.pk).update(heartbeat_at=timezone.now())
        reaped = {(r["kind"], str(r["job_id"])): r["action"] for r in services.reap_dead_jobs()}

    assert reaped == {("ingest", str(ingest.pk)): "requeued", ("replay", batch.pk): "failed"}
    ingest.refresh_from_db(), batch.refresh_from_db()
    assert ingest.status == "queued" and "worker was lost" in ingest.error and ingest.task_id
    assert batch.status == "failed" and batch.error.startswith("worker lost")
    assert ReplayBatch.objects.get(pk=live.pk).status == "running"


@contextmanager
def _held_by_another_session(kind: str, pk):
    import psycopg

    from tests.conftest import _test_database_url

    with psycopg.connect(_test_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext('lakehouse-job'), hashtext(%s))", [JobLock(kind, pk).key])
        yield


def test_job_admin_pages_show_status_and_offer_cancel_and_retry(client, kb):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("boss", password="pw")
    client.force_login(admin_user)
    batch = create_batch(provider="local", dispatch=False)
    page = client.get(f"/admin/replay/replaybatch/{batch.pk}/change/")
    assert page.status_code == 200 and b"Cancel job" in page.content and b'name="_save"' not in page.content
    response = client.post(f"/admin/replay/replaybatch/{batch.pk}/cancel/")
    assert response.status_code == 302 and ReplayBatch.objects.get(pk=batch.pk).status == "cancelled"
    response = client.post(f"/admin/replay/replaybatch/{batch.pk}/retry/")
    retry = ReplayBatch.objects.get(retry_of_id=batch.pk)
    assert response.status_code == 302 and response["Location"].endswith(f"/{quote(retry.pk)}/change/")
    listing = client.get("/admin/jobs/")
    assert listing.status_code == 200 and batch.pk.encode() in listing.content and b"job-status-cancelled" in listing.content


@pytest.mark.django_db(transaction=True)
def test_a_database_error_mid_ingest_queues_it_for_a_retry_that_lands_every_row(tmp_path, settings):
    """The job's database connection is killed between two batches (pg_terminate_backend from another
    session): ingest is idempotent, so the runner puts it back to `queued` and asks Celery to retry;
    the retry lands every row exactly once."""
    import psycopg
    from django.db import connection

    from apps.core.jobs import RetryJob
    from tests.conftest import _test_database_url

    Worker.objects.all().delete()
    settings.INGEST_BATCH_SIZE = 100
    path = tmp_path / "w.csv"
    write_workers(generate_workers(500, seed=6), path)
    job = create_ingest_job(path=path, dispatch=False)
    killed = []

    def kill_connection_once(current: IngestJob) -> None:
        if not killed:
            pid = connection.connection.info.backend_pid
            with psycopg.connect(_test_database_url(), autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [pid])
            killed.append(pid)

    with pytest.raises(RetryJob):
        run_ingest(job.pk, on_progress=kill_connection_once)
    job.refresh_from_db()
    assert job.status == "queued" and job.error.startswith("retrying after a database error") and job.attempts == 1

    finished = run_ingest(job.pk)
    assert finished.status == "succeeded" and finished.attempts == 2
    assert Worker.objects.count() == 500 == Worker.objects.values("worker_id").distinct().count()
