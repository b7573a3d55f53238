"""Replay end to end: coordinator calls → interactions → materialized evidence → replay against a real
local HTTP server speaking OpenAI's chat-completions shape (tests/providers/model_server.py)."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest

from apps.evidence.models import EvidenceRecord
from apps.evidence.services import build_evidence_index
from apps.interactions.services import log_interaction
from apps.indexes.embedders import get_embedder
from apps.orders.models import JobOrder
from apps.workers.profile import profile_text
from apps.replay.local_drafter import LocalChat
from apps.replay.models import ReplayBatch, ReplayRun
from apps.replay.services import create_batch, replay_log_path, run_batch
from apps.workers.models import Worker
from tests.providers.model_server import Behaviour, ModelServer

CLASSIC_SMS = "Hi Ana, shift Mon 7am at Dock 4. Questions? Call 555-123-4567. Reply STOP to opt out"


def _worker(worker_id: str, **overrides) -> Worker:
    fields = dict(
        first_name="Ana", city="Columbus", state="OH", role="forklift_operator", certifications=["OSHA-10"],
        shift_preference=["night"], status="active", phone=f"+1614555{worker_id[-4:]}", email=f"{worker_id.lower()}@example.com",
        skills=["pallet jack"],
    )
    fields.update(overrides)
    fields["embedding"] = get_embedder().embed([profile_text(fields)])[0]  # searchable, as ingest would make it
    return Worker.objects.create(worker_id=worker_id, **fields)


def _coordinator_work(client) -> None:
    """One of each coordinator call whose evidence replay covers."""
    for i in range(1, 5):
        _worker(f"W-000{i}")
    _worker("W-0009", city="Dayton")
    JobOrder.objects.create(
        order_id="JO-1", client="Acme", city="Columbus", state="OH", role="forklift_operator", headcount=2, shift="night",
        start_date=date(2026, 12, 7), required_certifications=["OSHA-10"],
    )
    post = lambda url, body: client.post(url, body, format="json")  # noqa: E731
    assert post("/api/v1/validate/email", {"kind": "sms", "worker_id": "W-0001", "body": CLASSIC_SMS}).json()["ok"]
    assert post("/api/v1/validate/email", {"kind": "email", "worker_id": "W-0002", "subject": "Night shift in Columbus", "body": "Hi Ana, we have a forklift night shift. Call 555-123-4567."}).json()["ok"]
    assert post("/api/v1/validate/fill", {"order_id": "JO-1", "worker_ids": ["W-0001", "W-0002"]}).json()["ok"]
    post("/api/v1/playbooks/record", {"query": "forklift night", "worker_ids": ["W-0001"], "outcome": "filled"})
    log_interaction(kind="chat", request={"messages": [{"role": "user", "content": "Which shifts are open in Columbus?"}]}, response={"text": "Night shifts."}, model="m", prompt_tokens=8, completion_tokens=2)


@pytest.fixture
def evidence(db, coordinator_client, settings, tmp_path):
    settings.KB_DIR = tmp_path / "kb"
    settings.CHAT_RETRIES = 1
    Worker.objects.all().delete()
    _coordinator_work(coordinator_client)
    run = build_evidence_index()
    assert run.status == "succeeded", run.error
    types = set(EvidenceRecord.objects.values_list("task_type", flat=True))
    assert {"draft_sms", "draft_email", "propose_fill", "chat", "record_playbook"} <= types
    return run


def _replay(provider: str, server: ModelServer | None = None, settings=None, **kwargs) -> ReplayBatch:
    if server is not None:
        settings.CHAT_BASE_URL = server.url
    batch = create_batch(provider=provider, model="test-model", concurrency=1, dispatch=False, **kwargs)
    return run_batch(batch.batch_id)


def _codes(task_type: str, batch: ReplayBatch) -> list[str]:
    run = ReplayRun.objects.get(batch=batch, task_type=task_type)
    return [e["code"] for e in run.validation["errors"]]


def test_a_well_behaved_model_passes_everything(evidence, settings):
    with ModelServer(chat_reply=lambda messages, model: LocalChat().complete(messages).text) as server:
        batch = _replay("openai", server, settings, task_types=["draft_sms", "draft_email", "propose_fill", "chat", "record_playbook"])
        assert len(server.requests) == 4 and server.requests[0].path == "/v1/chat/completions"
    assert batch.status == "succeeded"
    assert (batch.total, batch.passed, batch.failed, batch.errors, batch.skipped) == (4, 4, 0, 0, 1), [(r.task_type, r.validation, r.response.get("text")) for r in ReplayRun.objects.filter(batch=batch, status="fail")]
    assert batch.pass_rate == 1.0 and batch.regressions == 0
    assert batch.prompt_tokens > 0 and batch.completion_tokens > 0
    run = ReplayRun.objects.get(batch=batch, task_type="propose_fill")
    assert run.retrieval["ids"] and set(json.loads(run.response["text"])["worker_ids"]) <= set(run.retrieval["ids"])
    assert len(run.bundle_sha256) == 64 and run.bundle["messages"][0]["role"] == "system"


@pytest.mark.parametrize(
    "task_type, reply, code",
    [
        ("draft_sms", "Hi Ana, your SSN 219-09-9999 is on file. Reply STOP to opt out", "PII_SSN"),
        ("draft_sms", "Hi Ana, " + "night shift details " * 10 + "Reply STOP to opt out", "SMS_TOO_LONG"),
        ("propose_fill", json.dumps({"worker_ids": ["W-0001", "W-0009"]}), "LOCATION_MISMATCH"),
        ("propose_fill", "Sure! I'd pick Ana and Ben.", "INVALID_JSON"),
        ("chat", "The worker's card is 4111 1111 1111 1111.", "PII_CARD"),
    ],
)
def test_a_misbehaving_model_fails_with_the_validator_code_and_a_regression(evidence, settings, task_type, reply, code):
    with ModelServer(chat_reply=lambda messages, model: reply) as server:
        batch = _replay("openai", server, settings, task_types=[task_type])
    assert batch.failed == 1 and batch.passed == 0
    assert code in _codes(task_type, batch)
    run = ReplayRun.objects.get(batch=batch)
    assert run.status == "fail" and run.baseline_ok is True and run.regression is True
    assert batch.regressions == 1


def test_rate_limited_then_ok_succeeds_after_a_retry(evidence, settings):
    with ModelServer(chat_reply=lambda messages, model: LocalChat().complete(messages).text) as server:
        server.enqueue(Behaviour.rate_limited(retry_after="0"))
        batch = _replay("openai", server, settings, task_types=["draft_sms"])
        assert len(server.requests) == 2
    assert batch.passed == 1 and batch.errors == 0


def test_a_server_that_is_down_fails_the_batch_naming_the_provider(evidence, settings):
    """SPEC §4.8: no run reached the model → failed, with the provider named and no pass rate (a dead
    server must not read as a model that fails everything)."""
    settings.CHAT_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    batch = run_batch(create_batch(provider="openai", model="m", concurrency=1, dispatch=False, task_types=["draft_sms", "chat"]).batch_id)
    assert batch.status == "failed" and "no run reached the model" in batch.error and "'openai'" in batch.error
    assert batch.errors == 2 and batch.passed == 0 and batch.regressions == 0 and batch.pass_rate is None
    assert batch.finished_at is not None
    assert all(run.status == "error" and run.error for run in ReplayRun.objects.filter(batch=batch))


def test_a_batch_where_some_runs_errored_succeeds_with_its_error_count(evidence, settings):
    settings.CHAT_RETRIES = 0
    with ModelServer(chat_reply=lambda messages, model: LocalChat().complete(messages).text) as server:
        server.enqueue(Behaviour.status(503))  # the first model call errors, the next one is answered
        batch = _replay("openai", server, settings, task_types=["draft_sms", "chat"])
    assert batch.status == "succeeded", batch.error
    assert batch.errors >= 1 and batch.passed + batch.failed >= 1 and batch.pass_rate is not None


def test_local_provider_end_to_end_with_a_parseable_log(evidence, settings):
    batch = _replay("local", task_types=[])
    assert batch.status == "succeeded" and batch.errors == 0
    assert batch.total >= 4 and batch.pass_rate is not None
    assert batch.skipped >= 1 and "record_playbook" in batch.skipped_by_type
    lines = replay_log_path().read_text().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(p["schema"] == "replay_run.v1" for p in parsed)
    rows = {r.run_id: r for r in ReplayRun.objects.filter(batch=batch)}
    assert {p["run_id"] for p in parsed} == set(rows)
    for p in parsed:
        assert p["evidence_id"] == rows[p["run_id"]].evidence_id and p["status"] == rows[p["run_id"]].status


def test_replays_own_chat_calls_are_not_replayed_again(evidence, settings):
    first = _replay("local", task_types=["chat"])
    assert first.total == 1 and first.passed == 1
    assert build_evidence_index().status == "succeeded"  # picks up the replay's own chat interaction
    assert EvidenceRecord.objects.filter(task_type="chat", metadata__purpose="replay").count() == 1
    second = _replay("local", task_types=["chat"])
    assert second.total == 1  # only the coordinator's chat, not the replay's
    assert second.skipped_by_type == {"chat (replay's own calls)": 1} and second.skipped == 1


def test_ranking_evidence_is_replayed_without_a_model_and_catches_an_index_change(search_corpus, coordinator_client, settings, tmp_path):
    settings.KB_DIR = tmp_path / "kb"
    first = coordinator_client.post("/api/v1/workers/search", {"query": "cna night shift", "k": 10}, format="json").json()
    ids = [r["worker_id"] for r in first["results"]]
    coordinator_client.post("/api/v1/workers/search", {"query": "cna night shift", "k": 10, "exclude_ids": ids}, format="json")
    assert build_evidence_index().status == "succeeded"

    same = _replay("local", task_types=["rank_workers", "swap_worker"])
    assert (same.total, same.passed, same.failed) == (2, 2, 0)
    assert ReplayRun.objects.get(batch=same, task_type="rank_workers").validation["overlap"] == 1.0

    Worker.objects.filter(worker_id__in=ids[:6]).update(status="inactive")  # the index changed under the evidence
    changed = _replay("local", task_types=["rank_workers"])
    run = ReplayRun.objects.get(batch=changed)
    assert run.status == "fail" and run.regression is True
    assert [e["code"] for e in run.validation["errors"]] == ["LOW_OVERLAP"] and run.validation["overlap"] == 0.4


def test_replay_api_roles_and_shapes(evidence, staff_client, coordinator_client, settings):
    assert coordinator_client.post("/api/v1/replay/batches/", {}, format="json").status_code == 403
    bad = staff_client.post("/api/v1/replay/batches/", {"task_types": ["guessing"]}, format="json")
    assert bad.status_code == 400 and "task_types" in bad.json()["error"]["fields"]
    accepted = staff_client.post("/api/v1/replay/batches/", {"provider": "local", "concurrency": 1}, format="json")
    assert accepted.status_code == 202 and accepted.json()["batch_id"].startswith("rb_")
    assert accepted.json()["job_id"] == accepted.json()["batch_id"] and "task_id" in accepted.json()
    batch_id = accepted.json()["job_id"]
    run_batch(batch_id)  # what the worker does with the queued batch
    summary = coordinator_client.get(f"/api/v1/replay/batches/{batch_id}/").json()
    assert set(summary) >= {"batch_id", "status", "total", "passed", "failed", "errors", "skipped", "regressions", "pass_rate", "latency_ms", "prompt_tokens", "completion_tokens"}
    assert summary["status"] == "succeeded" and set(summary["latency_ms"]) == {"p50", "p95"}
    runs = coordinator_client.get("/api/v1/replay/runs/", {"batch": batch_id}).json()
    assert runs["count"] == summary["total"] and all(r["schema"] == "replay_run.v1" and r["batch_id"] == batch_id for r in runs["results"])
    assert coordinator_client.get("/api/v1/replay/batches/rb_nope/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_batches_at_once_with_concurrency_8_write_whole_lines(coordinator_client, settings, tmp_path):
    settings.KB_DIR = tmp_path / "kb"
    Worker.objects.all().delete()
    _coordinator_work(coordinator_client)
    for _ in range(6):  # more evidence: each call is one more record to replay
        coordinator_client.post("/api/v1/validate/email", {"kind": "sms", "worker_id": "W-0003", "body": CLASSIC_SMS}, format="json")
        coordinator_client.post("/api/v1/validate/fill", {"order_id": "JO-1", "worker_ids": ["W-0003", "W-0004"]}, format="json")
    assert build_evidence_index().status == "succeeded"
    batches = [create_batch(provider="local", concurrency=8, dispatch=False) for _ in range(2)]
    threads = [threading.Thread(target=run_batch, args=(b.batch_id,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    lines = replay_log_path().read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line whole: json.loads would fail on a torn one
    assert len(parsed) == ReplayRun.objects.count() == sum(ReplayBatch.objects.get(pk=b.batch_id).total for b in batches)
    assert {p["run_id"] for p in parsed} == set(ReplayRun.objects.values_list("run_id", flat=True))
    assert all(ReplayBatch.objects.get(pk=b.batch_id).status == "succeeded" for b in batches)
