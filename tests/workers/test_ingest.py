"""Ingest through the real service, API and Celery worker: dirty files, idempotency, kill-and-rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings

from apps.core.jobs import JobLock
from apps.workers.generator import generate_workers, planned_defects, write_workers
from apps.workers.models import IngestJob, Worker
from apps.workers.services import create_ingest_job, run_ingest

DIRTY_ROWS = 1600  # 8 blocks of 200: every defect kind at least once

# The words each kind's rejection reason must contain (the reason a coordinator reads).
REASON_WORDS = {
    "missing_worker_id": "worker_id",
    "bad_state": "state",
    "bad_date": "date",
    "duplicate_worker_id": "duplicate",
    "bad_years_experience": "years_experience",
    "bad_reliability": "reliability",
    "bad_hourly_rate": "hourly_rate",
}


@pytest.fixture(autouse=True)
def _no_session_corpus(request):
    """Start from an empty table. In `db` tests the delete is rolled back with the test, so the
    session-wide search corpus other tests use survives; transactional tests use `empty_corpus`."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and not marker.kwargs.get("transaction"):
        Worker.objects.all().delete()


def _line_of(index: int, fmt: str) -> int:
    """Physical line (CSV: after the header) or 1-based row number of the row at 0-based `index`."""
    return index + 2 if fmt == "csv" else index + 1


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_dirty_file_rejects_each_bad_row_with_line_and_reason_and_lands_every_good_row(tmp_path, fmt):
    path = tmp_path / f"dirty.{fmt}"
    rows = list(generate_workers(DIRTY_ROWS, seed=5, dirty=True))
    write_workers(rows, path)
    defects = planned_defects(DIRTY_ROWS, seed=5)
    assert set(defects.values()) == set(REASON_WORDS)

    job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)

    assert job.status == "succeeded", job.error
    assert job.rows_read == DIRTY_ROWS
    assert job.rows_read == job.rows_written + job.rows_unchanged + job.rows_rejected
    assert job.rows_rejected == len(defects)
    errors_by_line = {e["line"]: e for e in job.errors}
    for index, kind in defects.items():
        error = errors_by_line.get(_line_of(index, fmt))
        assert error is not None, f"{kind} at row {index} not reported"
        assert REASON_WORDS[kind] in error["reason"].lower(), (kind, error)
    good_ids = {r["worker_id"] for i, r in enumerate(rows) if i not in defects}
    assert set(Worker.objects.values_list("worker_id", flat=True)) == good_ids
    assert Worker.objects.count() == job.rows_written == len(good_ids)


def _good(worker_id: str) -> dict:
    return {"worker_id": worker_id, "first_name": "Ann", "city": "Columbus", "state": "OH", "role": "forklift_operator"}


@pytest.mark.django_db
def test_one_bad_row_is_a_rejected_row_not_a_failed_job_jsonl(tmp_path):
    bad_lines = {
        2: json.dumps(_good("W-NUL") | {"city": "Col\x00umbus"}),
        3: '{"worker_id": "W-SUR", "state": "OH", "bio": "\\ud800"}',
        4: '{"worker_id": "W-DEEP", "x": ' + "[" * 50_000 + "]" * 50_000 + "}",
        5: '{"worker_id": "W-BROKEN", ',
        6: json.dumps(_good("W-OBJ") | {"city": {"nested": ["Columbus"]}}),
        7: json.dumps(_good("W-LONG") | {"first_name": "A" * 500}),  # only the database knows the column is 100 long
        8: json.dumps(_good("W-UNKNOWN-NUL") | {"notes": "a\x00b"}),
    }
    good_lines = {1: _good("W-1"), 9: _good("W-9"), 10: _good("W-10")}
    lines = {number: json.dumps(row) for number, row in good_lines.items()} | bad_lines
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines[n].encode("utf-8", "surrogatepass") for n in sorted(lines)) + b"\n\xff\xfe broken\n")

    job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)

    assert job.status == "succeeded", job.error
    assert set(Worker.objects.values_list("worker_id", flat=True)) == {"W-1", "W-9", "W-10"}
    assert job.rows_read == 11 and job.rows_written == 3 and job.rows_rejected == 8
    assert job.rows_read == job.rows_written + job.rows_unchanged + job.rows_rejected
    reasons = {error["line"]: error["reason"] for error in job.errors}
    assert "NUL" in reasons[2] and "surrogate" in reasons[3] and "nested deeper" in reasons[4]
    assert "invalid JSON" in reasons[5] and "city must be a single value" in reasons[6]
    assert "refused" in reasons[7] and "NUL" in reasons[8] and "UTF-8" in reasons[11]
    assert not Worker.objects.filter(city__startswith="{").exists()


@pytest.mark.django_db
def test_one_bad_row_is_a_rejected_row_not_a_failed_job_csv_with_broken_encodings(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"worker_id,first_name,city,state\n"
        b"W-1,Ann,Columbus,OH\n"
        b"W-2,An\x00n,Columbus,OH\n"  # NUL
        b"W-3,Ren\xe9e,Columbus,OH\n"  # Latin-1, not UTF-8
        b"W-4,\xff\xfe\x00A,Columbus,OH\n"  # UTF-16 debris
        b"W-5,Bo,Dayton,OH\n"
    )
    job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    assert job.status == "succeeded", job.error
    assert set(Worker.objects.values_list("worker_id", flat=True)) == {"W-1", "W-5"}
    assert (job.rows_read, job.rows_written, job.rows_rejected) == (5, 2, 3)
    assert {error["line"] for error in job.errors} == {3, 4, 5}


@pytest.mark.django_db
def test_reingesting_the_same_file_writes_and_embeds_nothing(tmp_path):
    path = tmp_path / "w.jsonl"
    write_workers(generate_workers(500, seed=9), path)
    first = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    stamps = dict(Worker.objects.values_list("worker_id", "updated_at"))
    second = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    assert first.rows_written == 500 and first.texts_embedded == 500
    assert second.rows_written == 0 and second.texts_embedded == 0 and second.rows_unchanged == 500
    assert dict(Worker.objects.values_list("worker_id", "updated_at")) == stamps  # not rewritten


@pytest.mark.django_db
def test_a_batch_lands_in_the_heap_in_filter_order(tmp_path, settings):
    """The rows of one batch are written sorted by state, city, role (the exact path's B-tree), so
    the workers of one city share heap pages; the file's own order is shuffled across cities."""
    from django.db import connection

    settings.INGEST_BATCH_SIZE = 1000
    with connection.cursor() as cursor:
        # A new, empty heap (rolled back with the test): rows go to consecutive pages, so their ctid
        # order is their write order, whatever free space the session corpus's pages have.
        cursor.execute("TRUNCATE workers_worker")
    path = tmp_path / "w.jsonl"
    write_workers(generate_workers(400, seed=13), path)
    run_ingest(create_ingest_job(path=path, dispatch=False).pk)

    def worker_ids(order_by: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT worker_id FROM workers_worker ORDER BY {order_by}")
            return [row[0] for row in cursor.fetchall()]

    in_heap, by_filter = worker_ids("ctid"), worker_ids("state, city, role, worker_id")
    assert len(in_heap) == 400 and in_heap == by_filter
    assert [row["worker_id"] for row in generate_workers(400, seed=13)] != by_filter  # the file was not already sorted


@pytest.mark.django_db
def test_the_same_row_in_three_formats_has_one_content_hash(tmp_path):
    rows = list(generate_workers(50, seed=21))
    for fmt in ("csv", "parquet", "jsonl"):
        write_workers(rows, tmp_path / f"w.{fmt}")
    jobs = [run_ingest(create_ingest_job(path=tmp_path / f"w.{fmt}", dispatch=False).pk) for fmt in ("csv", "parquet", "jsonl")]
    assert [j.rows_written for j in jobs] == [50, 0, 0]
    assert [j.rows_unchanged for j in jobs] == [0, 50, 50]


@pytest.mark.django_db
def test_drop_and_limit(tmp_path):
    path = tmp_path / "w.parquet"
    write_workers(generate_workers(300, seed=2), path)
    run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    job = run_ingest(create_ingest_job(path=path, drop=True, limit=120, dispatch=False).pk)
    assert job.rows_read == 120 and job.rows_written == 120
    assert Worker.objects.count() == 120


@pytest.mark.django_db
def test_ingest_api_validates_paths_sizes_and_roles(staff_client, coordinator_client, tmp_path, settings):
    settings.INGEST_DIRS = [tmp_path / "allowed"]
    (tmp_path / "allowed").mkdir()
    outside = tmp_path / "outside.csv"
    write_workers(generate_workers(5, seed=1), outside)
    link = tmp_path / "allowed" / "sneaky.csv"
    link.symlink_to(outside)

    jobs_before = IngestJob.objects.count()
    for path in (str(outside), str(link), "/etc/passwd", str(tmp_path / "allowed" / ".." / "outside.csv")):
        response = staff_client.post("/api/v1/ingest/", {"path": path}, format="json")
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "path_not_allowed"
    assert IngestJob.objects.count() == jobs_before

    assert staff_client.post("/api/v1/ingest/", {}, format="json").json()["error"]["fields"]["path"]
    assert coordinator_client.post("/api/v1/ingest/", {"path": str(outside)}, format="json").status_code == 403

    settings.INGEST_MAX_UPLOAD_MB = 1
    big = tmp_path / "big.csv"
    big.write_bytes(b"worker_id\n" + b"W-1\n" * 300_000)
    with open(big, "rb") as handle:
        response = staff_client.post("/api/v1/ingest/", {"file": handle}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.django_db
def test_paths_the_filesystem_cannot_resolve_and_the_evidence_store_are_path_not_allowed(staff_client, tmp_path, settings):
    settings.INGEST_DIRS = [tmp_path]
    settings.KB_DIR = tmp_path / "_kb"
    settings.KB_DIR.mkdir()
    write_workers(generate_workers(3, seed=1), settings.KB_DIR / "records.jsonl")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    cases = {
        "too long": str(tmp_path / ("x" * 300 + ".csv")),  # OSError (ENAMETOOLONG) from is_file()
        "symlink loop": str(tmp_path / "loop"),  # RuntimeError from resolve()
        "under KB_DIR": str(settings.KB_DIR / "records.jsonl"),
    }
    for case, path in cases.items():
        response = staff_client.post("/api/v1/ingest/", {"path": path}, format="json")
        assert response.status_code == 400, case
        error = response.json()["error"]
        assert error["code"] == "path_not_allowed", case
        assert str(tmp_path) not in json.dumps(error), case  # no server path in the answer


@pytest.fixture
def empty_corpus(transactional_db):
    """Transactional tests see committed data from session fixtures; start these from an empty table."""
    Worker.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_api_ingest_runs_through_the_celery_worker(celery_worker_process, empty_corpus, staff_client, tmp_path, settings):
    settings.INGEST_DIRS = [tmp_path]
    path = tmp_path / "w.csv"
    write_workers(generate_workers(400, seed=4, dirty=True), path)
    response = staff_client.post("/api/v1/ingest/", {"path": str(path)}, format="json")
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert response.json()["task_id"]
    deadline = time.monotonic() + 60
    while True:
        body = staff_client.get(f"/api/v1/ingest/{job_id}/").json()
        if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert body["status"] == "succeeded", body
    assert body["rows_read"] == 400 == body["rows_written"] + body["rows_unchanged"] + body["rows_rejected"]
    assert body["rows_rejected"] == len(planned_defects(400, seed=4))
    assert all(set(e) == {"line", "worker_id", "reason"} for e in body["errors"])
    assert Worker.objects.count() == body["rows_written"]
    listing = staff_client.get("/api/v1/ingest/").json()
    assert listing["results"][0]["job_id"] == job_id


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_ingest_and_the_job_rerun_lands_every_good_row_once(empty_corpus, tmp_path):
    """SIGKILL a real Celery worker in the middle of a job, then re-run the job."""
    from lakehouse.celery import app
    from tests.conftest import _test_database_url

    rows = 6000
    path = tmp_path / "w.parquet"
    write_workers(generate_workers(rows, seed=13, dirty=True), path)
    good = rows - len(planned_defects(rows, seed=13))
    env = dict(os.environ, DATABASE_URL=_test_database_url(), REDIS_URL=django_settings.REDIS_URL, DB_POOL="false", INGEST_BATCH_SIZE="200")
    hostname = f"doomed-{os.getpid()}@localhost"
    queue = f"doomed-{os.getpid()}"  # its own queue: no other test worker may pick the job up
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lakehouse", "worker", "--queues", queue,
         "--concurrency", "1", "--pool", "solo", "--hostname", hostname, "--without-gossip", "--without-mingle"],
        cwd=django_settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[hostname], timeout=0.5):
            assert time.monotonic() < deadline and worker.poll() is None, "worker did not start"
        from apps.workers.tasks import ingest_workers_task

        job = create_ingest_job(path=path, dispatch=False)
        ingest_workers_task.apply_async((job.pk,), queue=queue)
        deadline = time.monotonic() + 120
        while IngestJob.objects.get(pk=job.pk).rows_written < 1000:
            assert time.monotonic() < deadline, "ingest made no progress"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    killed = IngestJob.objects.get(pk=job.pk)
    assert killed.status == "running" and 0 < Worker.objects.count() < good
    # PostgreSQL frees the dead runner's job lock when its backend notices the closed socket, which can
    # be after the statement it was running ends; until then a re-delivery rightly does nothing.
    lock = JobLock(IngestJob.job_kind, job.pk)
    deadline = time.monotonic() + 30
    while not lock.acquire():
        assert time.monotonic() < deadline, "the killed runner's job lock was never released"
        time.sleep(0.05)
    lock.release()

    rerun = run_ingest(job.pk)

    assert rerun.status == "succeeded", rerun.error
    assert rerun.rows_read == rows == rerun.rows_written + rerun.rows_unchanged + rerun.rows_rejected
    assert Worker.objects.count() == good
    assert Worker.objects.values("worker_id").distinct().count() == good
    from apps.workers.services import _hnsw_index_exists

    assert _hnsw_index_exists()


def test_upload_names_are_sanitized():
    from apps.workers.services import sanitized_upload_name

    assert sanitized_upload_name("workers.csv") == "workers.csv"
    assert sanitized_upload_name("../../etc/My Workers (1).CSV") == "My_Workers_1_.CSV"
    assert sanitized_upload_name("C:\\exports\\.hidden.jsonl") == "hidden.jsonl"
    assert sanitized_upload_name("") == sanitized_upload_name("///") == "upload"


@pytest.mark.django_db
def test_uploads_keep_their_name_are_deleted_when_rejected_or_done_and_empty_ones_say_so(staff_client, tmp_path, settings):
    import io

    settings.INGEST_UPLOAD_DIR = tmp_path / "uploads"

    def upload(name: str, content: bytes, **extra):
        handle = io.BytesIO(content)
        handle.name = name
        return staff_client.post("/api/v1/ingest/", {"file": handle, **extra}, format="multipart")

    def stored() -> list:
        return sorted(p for p in settings.INGEST_UPLOAD_DIR.rglob("*") if p.is_file()) if settings.INGEST_UPLOAD_DIR.exists() else []

    rejected = upload("../notes (final).txt", b"worker_id\nW-1\n")
    assert rejected.status_code == 400
    assert "notes_final_.txt" in rejected.json()["error"]["message"]
    assert str(tmp_path) not in rejected.content.decode() and "var/uploads" not in rejected.content.decode()
    assert stored() == []

    empty = upload("empty.csv", b"")
    assert empty.status_code == 400
    assert "empty" in empty.json()["error"]["fields"]["file"][0]
    nameless = staff_client.post("/api/v1/ingest/", {"drop": "false"}, format="multipart")
    assert "empty" in nameless.json()["error"]["fields"]["file"][0]

    write_workers(generate_workers(5, seed=3), tmp_path / "w.csv")
    accepted = upload("Week 48 workers.csv", (tmp_path / "w.csv").read_bytes())
    assert accepted.status_code == 202
    job = IngestJob.objects.get(pk=accepted.json()["job_id"])
    assert job.source.endswith("/Week_48_workers.csv")
    assert [p.name for p in stored()] == ["Week_48_workers.csv"]
    job = run_ingest(job.pk)
    assert job.status == "succeeded" and job.rows_written == 5
    assert stored() == []  # removed once the job ended

    settings.INGEST_KEEP_UPLOADS = True
    kept = IngestJob.objects.get(pk=upload("again.csv", (tmp_path / "w.csv").read_bytes()).json()["job_id"])
    run_ingest(kept.pk)
    assert [p.name for p in stored()] == ["again.csv"]
