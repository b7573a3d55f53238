"""Faults against real processes (SPEC §3.6): a killed pool process, a killed worker, a broker that is
down at launch. Each test runs its own Celery worker on its own queue with short heartbeat limits, so
no other worker takes its jobs and the bounds stay small."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from django.conf import settings as django_settings

from apps.workers.generator import generate_workers, write_workers
from apps.workers.models import IngestJob, Worker
from apps.workers.services import create_ingest_job

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROWS = 8000
BOUND_S = 120  # generous: the machine is shared; the README states the production bounds


@pytest.fixture
def empty_corpus(transactional_db):
    Worker.objects.all().delete()


@contextmanager
def _worker(name: str, queues: list[str], *, pool: str = "prefork", **extra_env: str):
    """A real `celery worker` in its own process group, on the test database."""
    from lakehouse.celery import app
    from tests.conftest import _test_database_url

    env = dict(
        os.environ, DATABASE_URL=_test_database_url(), REDIS_URL=django_settings.REDIS_URL, DB_POOL="false",
        INGEST_BATCH_SIZE="250", JOB_HEARTBEAT_S="0.5", JOB_HEARTBEAT_LIMIT_S="3", **extra_env,
    )
    hostname = f"{name}-{os.getpid()}@localhost"
    log = open(Path(django_settings.BASE_DIR) / "var" / f"test-{name}.log", "a")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lakehouse", "worker", "--queues", ",".join(queues), "--concurrency", "1",
         "--pool", pool, "--hostname", hostname, "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait(lambda: app.control.ping(destination=[hostname], timeout=0.5) or process.poll() is not None, 60, "worker did not start")
        assert process.poll() is None, "worker exited at start"
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def _wait(condition, bound_s: float, message: str):
    deadline = time.monotonic() + bound_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def _job(pk: int) -> IngestJob:
    return IngestJob.objects.get(pk=pk)


def _corpus(tmp_path: Path) -> Path:
    path = tmp_path / "w.parquet"
    write_workers(generate_workers(ROWS, seed=21), path)
    return path


def test_a_killed_pool_process_is_retried_and_the_ingest_lands_every_row_once(empty_corpus, tmp_path):
    from apps.workers.tasks import ingest_workers_task

    queue = f"faults-child-{os.getpid()}"
    with _worker("faults-child", [queue]) as worker:
        job = create_ingest_job(path=_corpus(tmp_path), dispatch=False)
        ingest_workers_task.apply_async((job.pk,), queue=queue)
        _wait(lambda: _job(job.pk).rows_written >= 1000, BOUND_S, "ingest made no progress")
        child = psutil.Process(worker.pid).children()[0]
        child.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        finished = _wait(lambda: (j := _job(job.pk)).is_finished and j, BOUND_S, "the job never ended")
        took = time.monotonic() - killed_at

    assert finished.status == "succeeded", finished.error
    assert finished.attempts >= 2  # the second attempt re-ran it from the start
    assert finished.rows_read == ROWS == finished.rows_written + finished.rows_unchanged + finished.rows_rejected
    assert Worker.objects.count() == ROWS == Worker.objects.values("worker_id").distinct().count()
    print(f"pool process SIGKILL → succeeded in {took:.1f}s")


def test_a_killed_worker_leaves_an_orphan_that_the_next_worker_reaps(empty_corpus, tmp_path):
    from apps.workers.tasks import ingest_workers_task
    from lakehouse.celery import Queue

    queue = f"faults-whole-{os.getpid()}"
    with _worker("faults-doomed", [queue]) as doomed:
        job = create_ingest_job(path=_corpus(tmp_path), dispatch=False)
        ingest_workers_task.apply_async((job.pk,), queue=queue)
        _wait(lambda: _job(job.pk).rows_written >= 1000, BOUND_S, "ingest made no progress")
        os.killpg(doomed.pid, signal.SIGKILL)  # the main process and its pool, at once
        doomed.wait(timeout=10)
    orphan = _job(job.pk)
    assert orphan.status == "running" and orphan.rows_written < ROWS

    # The next worker's reaper (at start) finds the job's runner gone and re-queues it (ingest is
    # idempotent); the re-queued task goes to the ingest queue, which this worker also serves.
    started_at = time.monotonic()
    with _worker("faults-heir", [queue, Queue.INGEST.routing_name]):
        finished = _wait(lambda: (j := _job(job.pk)).is_finished and j, BOUND_S, "the orphan was never reaped")
        took = time.monotonic() - started_at

    assert finished.status == "succeeded", finished.error
    assert Worker.objects.count() == ROWS == Worker.objects.values("worker_id").distinct().count()
    print(f"whole worker SIGKILL → reaped and succeeded {took:.1f}s after the new worker started")


@contextmanager
def _dead_broker():
    """Point this process's Celery app at a port where nothing listens, then restore it."""
    from lakehouse.celery import app

    def reset_pools() -> None:  # kombu keeps one pool per broker URL: the live one stays open for later
        app._pool = None
        app.amqp._producer_pool = None

    live = app.conf.broker_url
    reset_pools()
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    try:
        yield
    finally:
        reset_pools()
        app.conf.broker_url = live


def test_a_broker_down_at_launch_is_a_503_and_leaves_no_queued_row(empty_corpus, staff_client, tmp_path, settings):
    settings.INGEST_DIRS = [tmp_path]
    path = tmp_path / "w.csv"
    write_workers(generate_workers(10, seed=5), path)
    started = time.monotonic()
    with _dead_broker():
        response = staff_client.post("/api/v1/ingest/", {"path": str(path)}, format="json")
        materialize = staff_client.post("/api/v1/evidence/materialize/", {}, format="json")
    assert time.monotonic() - started < 10
    assert response.status_code == 503, response.json()
    assert response.json()["error"]["code"] == "broker_unavailable"
    assert materialize.status_code == 503, materialize.json()
    job = IngestJob.objects.get()
    assert job.status == "failed" and "broker" in job.error and job.finished_at
    from apps.evidence.models import MaterializeRun

    assert not IngestJob.objects.filter(status="queued").exists()
    assert not MaterializeRun.objects.filter(status="queued").exists()


def test_a_replay_batch_whose_pool_process_dies_fails_with_worker_lost(transactional_db, tmp_path):
    """Replay is not idempotent (a re-run would log its runs twice): a lost worker fails the batch."""
    from django.utils import timezone

    from apps.evidence.models import EvidenceRecord
    from apps.replay.models import ReplayBatch
    from apps.replay.services import create_batch
    from apps.replay.tasks import replay_batch_task
    from tests.providers.model_server import Behaviour, ModelServer

    for i in range(3):
        EvidenceRecord.objects.create(
            evidence_id=f"ev_{i:032x}", day=timezone.now().date(), occurred_at=timezone.now(), source_kind="interaction",
            source_id=f"chat-{i}", transform="chat_completion", transform_version=1, task_type="chat",
            input={"messages": [{"role": "user", "content": "hello"}]}, output={"content": "hi"}, verdict={"ok": True, "errors": []},
            verdict_ok=True,
        )
    queue = f"faults-replay-{os.getpid()}"
    with ModelServer() as server:
        server.enqueue(Behaviour.slow(20))  # the first model call hangs: the batch is mid-run when killed
        with _worker("faults-replay", [queue], CHAT_BASE_URL=server.url, KB_DIR=str(tmp_path / "kb")) as worker:
            batch = create_batch(provider="openai", model="m", concurrency=1, task_types=["chat"], dispatch=False)
            replay_batch_task.apply_async((batch.pk,), queue=queue)
            _wait(lambda: server.requests and ReplayBatch.objects.get(pk=batch.pk).status == "running", BOUND_S, "batch never reached the model")
            psutil.Process(worker.pid).children()[0].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            finished = _wait(lambda: (b := ReplayBatch.objects.get(pk=batch.pk)).is_finished and b, BOUND_S, "the batch never ended")
            took = time.monotonic() - killed_at
    assert finished.status == "failed" and finished.error.startswith("worker lost"), finished.error
    assert finished.finished_at is not None
    print(f"replay pool process SIGKILL → failed in {took:.1f}s")
