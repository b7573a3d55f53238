"""Replay end to end: coordinator calls → interactions → materialized evidence → replay against a real
local HTTP server speaking OpenAI's chat-completions shape (tests/providers/model_server.py)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date

import pytest

from apps.evidence.models import EvidenceRecord
from apps.evidence.services import build_evidence_index
from apps.evidence.transforms import evidence_id
from apps.core.detectors import mask_pii
from apps.interactions.services import log_interaction
from apps.indexes.embedders import get_embedder
from apps.orders.services import client_for_name
from apps.orders.models import JobOrder
from apps.workers.profile import profile_text
from apps.replay.bundles import SYSTEM_PROMPTS
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
        order_id="JO-1", client=client_for_name("Acme"), city="Columbus", state="OH", role="forklift_operator", headcount=2, shift="night",
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


def assert_counters_are_the_runs(batch: ReplayBatch) -> Counter:
    """The batch's counters are a tally of its runs, and its pass rate is passed over every run that
    was replayed (errors included: an error is not a pass); None when no run reached the model."""
    runs = ReplayRun.objects.filter(batch=batch)
    statuses = Counter(runs.values_list("status", flat=True))
    assert (batch.total, batch.passed, batch.failed, batch.errors) == (runs.count(), statuses["pass"], statuses["fail"], statuses["error"])
    assert batch.regressions == runs.filter(regression=True).count()
    reached = statuses["pass"] + statuses["fail"]
    assert batch.pass_rate == (round(statuses["pass"] / runs.count(), 4) if reached else None)
    return statuses


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
    assert assert_counters_are_the_runs(batch) == {"pass": 4}
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
    assert (batch.total, batch.passed, batch.failed, batch.errors) == (1, 0, 1, 0)
    assert batch.pass_rate == 0.0  # the model answered, and failed: a rate, not "unknown"
    assert code in _codes(task_type, batch)
    run = ReplayRun.objects.get(batch=batch)
    assert run.status == "fail" and run.baseline_ok is True and run.regression is True
    assert batch.regressions == 1


def test_rate_limited_then_ok_succeeds_after_a_retry(evidence, settings):
    with ModelServer(chat_reply=lambda messages, model: LocalChat().complete(messages).text) as server:
        server.enqueue(Behaviour.rate_limited(retry_after="0"))
        batch = _replay("openai", server, settings, task_types=["draft_sms"])
        assert len(server.requests) == 2
    assert (batch.total, batch.passed, batch.failed, batch.errors) == (1, 1, 0, 0) and batch.pass_rate == 1.0
    assert ReplayRun.objects.get(batch=batch).error is None  # the retry hid the 429 from the run


def test_a_server_that_is_down_fails_the_batch_naming_the_provider(evidence, settings):
    """SPEC §4.8: no run reached the model → failed, with the provider named and no pass rate (a dead
    server must not read as a model that fails everything)."""
    settings.CHAT_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    batch = run_batch(create_batch(provider="openai", model="m", concurrency=1, dispatch=False, task_types=["draft_sms", "chat"]).batch_id)
    assert batch.status == "failed" and "no run reached the model" in batch.error and "'openai'" in batch.error
    assert batch.errors == 2 and batch.passed == 0 and batch.regressions == 0 and batch.pass_rate is None
    assert batch.finished_at is not None
    assert assert_counters_are_the_runs(batch) == {"error": 2}
    assert all(run.error and "failed after 2 attempt(s)" in run.error for run in ReplayRun.objects.filter(batch=batch))


def test_a_batch_where_some_runs_errored_succeeds_with_its_error_count(evidence, settings):
    settings.CHAT_RETRIES = 0
    with ModelServer(chat_reply=lambda messages, model: LocalChat().complete(messages).text) as server:
        server.enqueue(Behaviour.status(503))  # the first model call errors, the next one is answered
        batch = _replay("openai", server, settings, task_types=["draft_sms", "chat"])
    assert batch.status == "succeeded", batch.error
    # concurrency 1: exactly the first of the two model calls got the 503
    assert (batch.total, batch.passed, batch.failed, batch.errors, batch.regressions) == (2, 1, 0, 1, 0)
    assert batch.pass_rate == 0.5  # 1 pass of 2 replayed: the error counts against the rate
    assert assert_counters_are_the_runs(batch) == {"pass": 1, "error": 1}
    errored = ReplayRun.objects.get(batch=batch, status="error")
    assert "HTTP 503" in errored.error and errored.regression is False and errored.response["text"] is None


def test_each_run_becomes_one_replay_result_evidence_record_carrying_its_outcome(evidence, settings):
    """SPEC §4.7 transform 9: a pass, a fail and an error run, materialized, are three `replay` records
    that say which evidence was replayed, what the model answered (masked) and how it was judged."""
    settings.CHAT_RETRIES = 0
    types = ["draft_sms", "propose_fill", "chat"]
    order = list(EvidenceRecord.objects.filter(task_type__in=types).order_by("day", "evidence_id").values_list("task_type", flat=True))

    def reply(messages, model) -> str:  # the SMS leaks an SSN; the chat answer is fine
        if messages[0]["content"] == SYSTEM_PROMPTS["draft_sms"]:
            return "Hi Ana, your SSN 219-09-9999 is on file. Reply STOP to opt out"
        return LocalChat().complete(messages).text

    with ModelServer(chat_reply=reply) as server:
        # concurrency 1 replays in `order`: the fill's call is the one answered 500
        server.enqueue(*(Behaviour.status(500) if task_type == "propose_fill" else Behaviour.normal() for task_type in order))
        batch = _replay("openai", server, settings, task_types=types)
    runs = {run.task_type: run for run in ReplayRun.objects.filter(batch=batch)}
    assert {t: r.status for t, r in runs.items()} == {"draft_sms": "fail", "propose_fill": "error", "chat": "pass"}
    assert (batch.status, batch.passed, batch.failed, batch.errors, batch.regressions, batch.pass_rate) == ("succeeded", 1, 1, 1, 1, 0.3333)

    materialized = build_evidence_index()
    assert materialized.status == "succeeded" and materialized.errors == [], materialized.errors
    assert materialized.per_transform["replay_result"] == {"written": 3, "duplicates": 0, "errors": 0}, materialized.errors
    records = {r.source_id: r for r in EvidenceRecord.objects.filter(transform="replay_result")}
    assert set(records) == {run.run_id for run in runs.values()}
    for run in runs.values():
        record = records[run.run_id]
        assert record.evidence_id == evidence_id("replay_result", 1, "replay_run", run.run_id)
        assert (record.source_kind, record.task_type) == ("replay_run", "replay")
        assert record.input["evidence_id"] == run.evidence_id and record.input["task_type"] == run.task_type
        assert record.input["bundle_sha256"] == run.bundle_sha256 and len(run.bundle_sha256) == 64
        assert record.labels == {"status": run.status, "regression": run.regression, "baseline_ok": True}
        assert record.metadata["batch_id"] == batch.batch_id and record.metadata["provider"] == "openai"
        assert record.verdict_ok is (run.status == "pass") and record.verdict["ok"] is record.verdict_ok
        assert record.prompt_tokens == run.response["prompt_tokens"]
    chat, sms, fill = records[runs["chat"].run_id], records[runs["draft_sms"].run_id], records[runs["propose_fill"].run_id]
    assert chat.output["text"] == mask_pii(runs["chat"].response["text"])[0] and chat.verdict["errors"] == []
    assert "PII_SSN" in [e["code"] for e in sms.verdict["errors"]] and sms.labels["regression"] is True
    assert "219-09-9999" not in json.dumps([sms.input, sms.output, sms.verdict])  # the leaked SSN is masked in evidence
    assert fill.output["text"] is None and fill.prompt_tokens == 0
    [error] = fill.verdict["errors"]
    assert error["code"] == "REPLAY_ERROR" and "HTTP 500" in error["message"] and "HTTP 500" in fill.metadata["error"]
    assert build_evidence_index().records_written == 0  # the same runs again: nothing new


def test_local_provider_end_to_end_with_a_parseable_log(evidence, settings):
    batch = _replay("local", task_types=[])
    assert batch.status == "succeeded" and batch.errors == 0
    # the coordinator's sms, email, fill and chat; the playbook record is never replayed
    assert (batch.total, batch.passed, batch.failed, batch.skipped) == (4, 4, 0, 1) and batch.pass_rate == 1.0
    assert batch.skipped_by_type == {"record_playbook": 1}
    assert assert_counters_are_the_runs(batch) == {"pass": 4}
    lines = replay_log_path().read_text().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert len(parsed) == 4 and all(p["schema"] == "replay_run.v1" and p["batch_id"] == batch.batch_id for p in parsed)
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
    for b in batches:
        b.refresh_from_db()
        assert b.status == "succeeded" and b.errors == 0
        assert assert_counters_are_the_runs(b) == {"pass": b.total}
    # both replayed the same selection: _coordinator_work's 4 records and 6 more SMS and 6 more fills
    assert [b.total for b in batches] == [16, 16]
