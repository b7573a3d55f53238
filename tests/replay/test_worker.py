"""Replay through a real Celery worker process (SPEC §4.8) against a real OpenAI-shaped HTTP server
(tests/providers/model_server.py): the batch row goes queued → running → succeeded with the counters
its runs add up to, and a model server answering 500 or not at all gives error runs and error counts —
a batch that ends, never a crashed or stuck job.

The worker is this module's own: it must know the model server's URL (CHAT_BASE_URL) and its KB_DIR
from its environment, so it consumes a replay queue of its own (a queue prefix these tests set)."""

from __future__ import annotations

import json
import os
import time
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.db import transaction

from apps.evidence.models import EvidenceRecord
from apps.evidence.services import build_evidence_index
from apps.replay.local_drafter import LocalChat
from apps.replay.models import ReplayBatch, ReplayRun
from apps.replay.services import create_batch
from apps.workers.models import Worker
from tests.conftest import running_celery_worker
from tests.providers.model_server import Behaviour, ModelServer
from tests.replay.test_replay import _coordinator_work, assert_counters_are_the_runs

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]  # the worker reads committed rows

# The worker's HTTP timeout per model call. A held request (never answered) times out after it, so the
# timeout test costs this long; a normal answer from the local server takes milliseconds of CPU, and
# this leaves it room for a machine saturated many times over (make test-under-load).
CHAT_TIMEOUT_S = 10
BOUND_S = 180  # how long a condition may take to come true on a slow machine before the test fails
MODEL_TYPES = ["draft_sms", "draft_email", "propose_fill", "chat"]


def _well_behaved(messages, model) -> str:
    return LocalChat().complete(messages).text


@pytest.fixture(scope="module")
def model_server():
    with ModelServer(chat_reply=_well_behaved) as server:
        yield server


@pytest.fixture(scope="module")
def replay_worker(django_db_setup, model_server, tmp_path_factory):
    kb_dir = tmp_path_factory.mktemp("replay-worker") / "kb"
    prefix = f"{django_settings.CELERY_QUEUE_PREFIX}replay-e2e-{os.getpid()}-"
    env = {
        "CHAT_BASE_URL": model_server.url, "KB_DIR": str(kb_dir), "CHAT_RETRIES": "0", "CHAT_TIMEOUT_S": str(CHAT_TIMEOUT_S),
        "CELERY_QUEUE_PREFIX": prefix,
    }
    with running_celery_worker([f"{prefix}replay"], name="replay", env=env, concurrency=1) as process:
        yield SimpleNamespace(process=process, kb_dir=kb_dir, queue_prefix=prefix)


@pytest.fixture
def server(model_server, replay_worker, settings):
    """The module's model server, scripted afresh; batches this test creates go to the module's worker."""
    model_server.reset()
    model_server.chat_reply = _well_behaved
    settings.KB_DIR = replay_worker.kb_dir
    settings.CELERY_QUEUE_PREFIX = replay_worker.queue_prefix  # routing reads it when a task is sent
    yield model_server
    model_server.release_held()  # a held request must not outlive its test


@pytest.fixture
def committed_evidence(server, coordinator_client) -> None:
    Worker.objects.all().delete()
    _coordinator_work(coordinator_client)
    run = build_evidence_index()
    assert run.status == "succeeded", run.error


def _wait_for(condition, what: str):
    deadline = time.monotonic() + BOUND_S
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}; see var/test-celery-replay.log"
        time.sleep(0.05)  # the poll interval: the bound above is what the test waits on
    return value


def _ended(batch_id: str) -> ReplayBatch:
    def ended() -> ReplayBatch | None:
        batch = ReplayBatch.objects.get(pk=batch_id)
        return batch if batch.status not in ("queued", "running") else None

    return _wait_for(ended, f"batch {batch_id} to end")


def _in_replay_order(task_types: list[str]) -> list[str]:
    """The task type of each record in the order a concurrency-1 batch replays them (day, evidence_id),
    so the server's scripted answers (first in, first out) land on the records meant."""
    return list(EvidenceRecord.objects.filter(task_type__in=task_types).order_by("day", "evidence_id").values_list("task_type", flat=True))


def test_a_batch_runs_in_the_worker_queued_then_running_then_succeeded_with_its_counters(committed_evidence, server, replay_worker):
    server.enqueue(Behaviour.held())  # the first model call waits for the test: the batch is caught running
    with transaction.atomic():
        batch = create_batch(provider="openai", model="test-model", concurrency=1, task_types=[*MODEL_TYPES, "record_playbook"], actor="e2e")
        assert batch.status == "queued" and batch.task_id == ""  # sent only once the row commits
    batch.refresh_from_db()
    assert batch.status in ("queued", "running") and batch.task_id

    _wait_for(lambda: server.requests, "the worker's first model call")
    batch.refresh_from_db()
    assert batch.status == "running" and batch.started_at is not None and batch.finished_at is None
    assert (batch.total, batch.skipped) == (4, 1) and batch.passed + batch.failed + batch.errors == 0

    server.release_held()
    batch = _ended(batch.batch_id)
    assert batch.status == "succeeded", batch.error
    assert (batch.total, batch.passed, batch.failed, batch.errors, batch.skipped, batch.regressions) == (4, 4, 0, 0, 1, 0)
    assert batch.pass_rate == 1.0 and batch.progress == 100 and batch.error == ""
    assert assert_counters_are_the_runs(batch) == {"pass": 4}
    assert batch.prompt_tokens == sum(r.response["prompt_tokens"] for r in ReplayRun.objects.filter(batch=batch)) > 0
    # Every model task reached this server once, from the worker (this process never ran the batch).
    assert len(server.requests) == 4 and {(r.path, r.json["model"]) for r in server.requests} == {("/v1/chat/completions", "test-model")}

    # The worker appended its runs to the KB_DIR it was given, one whole line each.
    lines = [json.loads(line) for line in (replay_worker.kb_dir / "replay_runs.jsonl").read_text().splitlines()]
    run_ids = set(ReplayRun.objects.filter(batch=batch).values_list("run_id", flat=True))
    assert {line["run_id"] for line in lines if line["batch_id"] == batch.batch_id} == run_ids
    # ... and each run is replay_result evidence once materialized.
    assert build_evidence_index().status == "succeeded"
    assert set(EvidenceRecord.objects.filter(transform="replay_result").values_list("source_id", flat=True)) == run_ids


def test_a_500_and_a_timeout_are_error_runs_and_the_batch_succeeds_with_its_error_count(committed_evidence, server, staff_client, coordinator_client):
    types = ["draft_sms", "draft_email", "chat"]
    answers = {"draft_sms": Behaviour.status(500), "draft_email": Behaviour.held(), "chat": Behaviour.normal()}  # held: never answered
    server.enqueue(*(answers[task_type] for task_type in _in_replay_order(types)))
    accepted = staff_client.post("/api/v1/replay/batches/", {"provider": "openai", "model": "test-model", "task_types": types, "concurrency": 1}, format="json")
    assert accepted.status_code == 202, accepted.json()
    batch_id = accepted.json()["job_id"]

    _ended(batch_id)
    body = coordinator_client.get(f"/api/v1/replay/batches/{batch_id}/").json()
    assert body["status"] == "succeeded", body
    assert (body["total"], body["passed"], body["failed"], body["errors"], body["regressions"]) == (3, 1, 0, 2, 0)
    assert body["pass_rate"] == 0.3333  # 1 of 3: the errors count against the rate
    assert assert_counters_are_the_runs(ReplayBatch.objects.get(pk=batch_id)) == {"pass": 1, "error": 2}
    runs = {run.task_type: run for run in ReplayRun.objects.filter(batch_id=batch_id)}
    assert runs["chat"].status == "pass"
    assert runs["draft_sms"].status == "error" and "HTTP 500" in runs["draft_sms"].error
    assert runs["draft_email"].status == "error" and "timed out" in runs["draft_email"].error
    assert all(runs[t].response["text"] is None and runs[t].regression is False for t in ("draft_sms", "draft_email"))
    assert len(server.requests) == 3  # CHAT_RETRIES=0 in the worker: one attempt per record
    listed = coordinator_client.get("/api/v1/replay/runs/", {"batch": batch_id, "status": "error"}).json()
    assert listed["count"] == 2 and {r["task_type"] for r in listed["results"]} == {"draft_sms", "draft_email"}


def test_a_server_answering_only_500_fails_the_batch_by_name_and_the_worker_carries_on(committed_evidence, server, replay_worker):
    server.enqueue(Behaviour.status(500), Behaviour.status(500))
    batch = _ended(create_batch(provider="openai", model="test-model", concurrency=1, task_types=["draft_sms", "chat"]).batch_id)
    assert batch.status == "failed" and batch.finished_at is not None
    assert batch.error.startswith("no run reached the model: provider 'openai' is unreachable") and "HTTP 500" in batch.error
    assert (batch.total, batch.passed, batch.failed, batch.errors, batch.regressions) == (2, 0, 0, 2, 0) and batch.pass_rate is None
    assert assert_counters_are_the_runs(batch) == {"error": 2}

    # Not a crashed worker: it takes the next batch, and a healthy answer passes.
    assert replay_worker.process.poll() is None
    healthy = _ended(create_batch(provider="openai", model="test-model", concurrency=1, task_types=["chat"]).batch_id)
    assert (healthy.status, healthy.total, healthy.passed, healthy.errors) == ("succeeded", 1, 1, 0)
