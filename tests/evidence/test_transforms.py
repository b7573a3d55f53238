"""The pure transforms: one source row in, one exact evidence_record.v1 out; malformed rows raise."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from apps.evidence import transforms
from apps.evidence.transforms import TransformError, dumps, materialize

AT = datetime(2026, 11, 20, 14, 30, 0, 250000, tzinfo=timezone.utc)
AT_TEXT = "2026-11-20T14:30:00.250000Z"
ID = "6f1c2a0e-8a57-4c1e-9d3b-2f0e4b7c9a10"
TARGET = "0d4b1e2c-3f5a-4b6c-8d7e-9fa0b1c2d3e4"
ENRICHMENTS = {"pii_redaction": 1, "token_accounting": 1}
NO_REDACTIONS = {"card": 0, "email": 0, "phone": 0, "ssn": 0}


def _ev(transform: str, version: int, source_kind: str, source_id: str) -> str:
    """The documented formula, computed independently of the module."""
    key = json.dumps([transform, version, source_kind, source_id], separators=(",", ":"))
    return "ev_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def interaction(kind: str, request: dict, response: dict, **columns) -> dict:
    return {
        "source_kind": "interaction", "id": ID, "kind": kind, "occurred_at": AT, "actor": "coord", "request": request,
        "response": response, "ok": True, "errors": [], "latency_ms": 3.5, "model": "", "prompt_tokens": None,
        "completion_tokens": None, **columns,
    }


def record(transform: str, task_type: str, *, source_kind: str = "interaction", source_id: str = ID, **fields) -> dict:
    """The expected record: the identity fields computed from the arguments, the rest given."""
    return {
        "schema": "evidence_record.v1",
        "evidence_id": _ev(transform, 1, source_kind, source_id),
        "day": "2026-11-20",
        "occurred_at": AT_TEXT,
        "source_kind": source_kind,
        "source_id": source_id,
        "transform": transform,
        "transform_version": 1,
        "task_type": task_type,
        "model": None,
        "latency_ms": 3.5,
        "verdict": {"ok": True, "errors": []},
        "labels": {},
        **fields,
    }


SEARCH_REQUEST = {"query": "forklift night", "k": 2, "filters": {"state": "OH"}, "exclude_ids": [], "use_playbook": False}
SEARCH_RESPONSE = {
    "results": [{"worker_id": "W-000001", "score": 0.91, "playbook_boost": 0.0}, {"worker_id": "W-000002", "score": 0.85, "playbook_boost": 0.0}],
    "index": {"name": "workers", "version": 3, "ef_search": 100, "path": "hnsw"},
    "embedding_cache": "hit",
    "playbooks_used": [],
}
INDEX = {"name": "workers", "version": 3, "ef_search": 100, "path": "hnsw"}


# ---------------------------------------------------------------------------- each transform


def test_search_session():
    got = materialize(interaction("search", SEARCH_REQUEST, SEARCH_RESPONSE))
    assert got == record(
        "search_session", "rank_workers",
        input={"query": "forklift night", "k": 2, "filters": {"state": "OH"}, "exclude_ids": [], "use_playbook": False},
        output={"results": SEARCH_RESPONSE["results"]},
        # "forklift night" + "OH" = 16 chars → 4; two 8-char worker ids → 4
        prompt_tokens=4, completion_tokens=4,
        metadata={"actor": "coord", "index": INDEX, "embedding_cache": "hit", "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": NO_REDACTIONS},
    )


def test_profile_swap_keeps_exclusions_and_fails_on_overlap():
    request = {**SEARCH_REQUEST, "exclude_ids": ["W-000002", "W-000009"]}
    got = materialize(interaction("profile_swap", request, SEARCH_RESPONSE))
    assert got == record(
        "profile_swap", "swap_worker",
        input={**request},
        output={"results": SEARCH_RESPONSE["results"]},
        verdict={"ok": False, "errors": [{"code": "SWAP_OVERLAP", "message": "Excluded workers were returned: W-000002."}]},
        prompt_tokens=8,  # 16 + two 8-char excluded ids = 32 chars
        completion_tokens=4,
        metadata={"actor": "coord", "index": INDEX, "embedding_cache": "hit", "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": NO_REDACTIONS},
    )


def test_playbook_search_records_boosts_and_playbooks_used():
    response = {**SEARCH_RESPONSE, "results": [{"worker_id": "W-000001", "score": 1.03, "playbook_boost": 0.8}], "playbooks_used": [17, 21]}
    got = materialize(interaction("playbook_search", {**SEARCH_REQUEST, "use_playbook": True}, response))
    assert got == record(
        "playbook_search", "rank_workers_with_memory",
        input={**SEARCH_REQUEST, "use_playbook": True},
        output={"results": [{"worker_id": "W-000001", "score": 1.03, "playbook_boost": 0.8}], "playbooks_used": [17, 21]},
        prompt_tokens=4, completion_tokens=2,
        metadata={"actor": "coord", "index": INDEX, "embedding_cache": "hit", "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": NO_REDACTIONS},
    )


def test_email_draft_masks_pii_and_keeps_the_validator_verdict():
    errors = [{"code": "PII_SSN", "message": "Contains a US Social Security number.", "start": 8, "end": 19}]
    request = {"kind": "email", "worker_id": "W-000001", "subject": "Shift", "body": "Your SSN 219-09-9999 is on file"}
    response = {"ok": False, "kind": "email", "errors": errors, "warnings": [], "stats": {"chars": 31}}
    got = materialize(interaction("validate_email", request, response, ok=False, errors=errors))
    assert got == record(
        "email_draft", "draft_email",
        input={"kind": "email", "worker_id": "W-000001"},
        output={"subject": "Shift", "body": "Your SSN [SSN] is on file"},
        verdict={"ok": False, "errors": errors},
        prompt_tokens=4,  # "email" + "W-000001" = 13 chars
        completion_tokens=9,  # "Shift" + the 31-char body as written = 36 chars
        metadata={"actor": "coord", "warnings": [], "stats": {"chars": 31}, "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": {**NO_REDACTIONS, "ssn": 1}},
    )


def test_sms_draft_from_validate_sms_and_from_a_validate_email_row_of_kind_sms():
    request = {"kind": "sms", "worker_id": "W-000001", "subject": None, "body": "Call 555-123-4567. Reply STOP"}
    response = {"ok": True, "kind": "sms", "errors": [], "warnings": [], "stats": {"chars": 29, "encoding": "GSM-7", "segments": 1}}
    expected = record(
        "sms_draft", "draft_sms",
        input={"kind": "sms", "worker_id": "W-000001"},
        output={"body": "Call [PHONE]. Reply STOP"},
        prompt_tokens=3, completion_tokens=8,
        metadata={"actor": "coord", "warnings": [], "stats": response["stats"], "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": {**NO_REDACTIONS, "phone": 1}},
    )
    assert materialize(interaction("validate_sms", request, response)) == expected
    assert materialize(interaction("validate_email", request, response)) == expected


def test_fill_proposal():
    order = {"city": "Columbus", "state": "OH", "role": "cna", "headcount": 2, "shift": "day", "start_date": "2026-12-01", "required_certifications": []}
    errors = [{"code": "HEADCOUNT_MISMATCH", "worker_id": None, "message": "1 worker for a headcount of 2."}]
    got = materialize(interaction("validate_fill", {"order": order, "worker_ids": ["W-000001"]}, {"ok": False, "errors": errors}, ok=False, errors=errors))
    assert got == record(
        "fill_proposal", "propose_fill",
        input={"order_id": None, "order": order},
        output={"worker_ids": ["W-000001"]},
        verdict={"ok": False, "errors": errors},
        prompt_tokens=7,  # Columbus OH cna day 2026-12-01 = 8+2+3+3+10 = 26 chars
        completion_tokens=2,
        metadata={"actor": "coord", "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": NO_REDACTIONS},
    )


def test_playbook_record():
    request = {"query": "cna days", "filters": {}, "worker_ids": ["W-000001", "W-000002"], "order_id": "O-7", "outcome": "filled"}
    response = {"id": 12, "index": {"name": "playbook_memory", "size": 5, "version": 8}}
    got = materialize(interaction("playbook_record", request, response))
    assert got == record(
        "playbook_record", "record_playbook",
        input={"query": "cna days", "filters": {}, "order_id": "O-7"},
        output={"worker_ids": ["W-000001", "W-000002"], "outcome": "filled", "playbook_id": 12},
        prompt_tokens=3, completion_tokens=6,
        metadata={"actor": "coord", "index": response["index"], "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": NO_REDACTIONS},
    )


def test_chat_completion_from_an_interaction_keeps_real_token_counts_and_judges_the_answer():
    request = {"messages": [{"role": "user", "content": "Card?"}], "provider": "openai", "purpose": "help"}
    got = materialize(
        interaction("chat", request, {"text": "Use 4111 1111 1111 1111"}, model="gpt-x", prompt_tokens=9, completion_tokens=11, latency_ms=250.0)
    )
    assert got == record(
        "chat_completion", "chat",
        input={"messages": [{"role": "user", "content": "Card?"}]},
        output={"text": "Use [CARD]"},
        model="gpt-x", prompt_tokens=9, completion_tokens=11, latency_ms=250.0,
        verdict={"ok": False, "errors": [{"code": "PII_CARD", "message": "Contains a payment card number."}]},
        metadata={"actor": "coord", "provider": "openai", "purpose": "help", "enrichments": ENRICHMENTS, "tokens_estimated": False, "redactions": {**NO_REDACTIONS, "card": 1}},
    )


def test_chat_completion_from_a_logged_interaction_still_fails_on_the_card_the_log_masked():
    # log_interaction stores "Use [CARD]" for "Use 4111 1111 1111 1111": the answer still gave a card.
    got = materialize(interaction("chat", {"messages": [{"role": "user", "content": "Card?"}]}, {"text": "Use [CARD] or [SSN]"}, model="m"))
    assert got["verdict"] == {
        "ok": False,
        "errors": [
            {"code": "PII_SSN", "message": "Contains a US Social Security number."},
            {"code": "PII_CARD", "message": "Contains a payment card number."},
        ],
    }


def test_chat_completion_from_an_inbox_chat_log():
    log = {
        "schema": "chat_log.v1", "id": "chat-abc", "occurred_at": "2026-11-20T09:30:00.250000-05:00", "model": "llama3.1:8b",
        "messages": [{"role": "user", "content": "Mail bob@example.com"}], "response": {"content": "Done."},
        "usage": {"prompt_tokens": 6}, "latency_ms": 80, "metadata": {"session": "s-9"},
    }
    got = materialize({"source_kind": "chat_log", "log": log, "origin": {"file": "day1.jsonl", "line": 3}})
    assert got == record(
        "chat_completion", "chat", source_kind="chat_log", source_id="chat-abc",
        input={"messages": [{"role": "user", "content": "Mail [EMAIL]"}]},
        output={"text": "Done."},
        model="llama3.1:8b", prompt_tokens=6, completion_tokens=2, latency_ms=80,  # "Done." = 5 chars → 2 (estimated)
        metadata={"chat_log": {"session": "s-9"}, "inbox_file": "day1.jsonl", "inbox_line": 3, "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": {**NO_REDACTIONS, "email": 1}},
    )


REPLAY_RUN = {
    "schema": "replay_run.v1", "run_id": "rr_0001", "batch_id": "rb_0001", "evidence_id": "ev_" + "a" * 32,
    "task_type": "draft_sms", "started_at": "2026-11-20T14:30:00.250000Z", "finished_at": "2026-11-20T14:30:01.5Z",
    "provider": "local", "model": "local-drafter", "retrieval": {"index": "workers", "ids": ["W-000001"], "took_ms": 2.0},
    "bundle_sha256": "b" * 64, "response": {"text": "Shift tonight. Reply STOP", "prompt_tokens": 40, "completion_tokens": 12, "latency_ms": 800.0},
    "validation": {"ok": True, "errors": []}, "baseline_ok": True, "regression": False, "status": "pass", "error": None,
}


def test_replay_result():
    got = materialize({"source_kind": "replay_run", "run": REPLAY_RUN})
    assert got == record(
        "replay_result", "replay", source_kind="replay_run", source_id="rr_0001", occurred_at="2026-11-20T14:30:01.500000Z",
        input={"evidence_id": "ev_" + "a" * 32, "task_type": "draft_sms", "retrieval": REPLAY_RUN["retrieval"], "bundle_sha256": "b" * 64},
        output={"text": "Shift tonight. Reply STOP"},
        model="local-drafter", prompt_tokens=40, completion_tokens=12, latency_ms=800.0,
        labels={"status": "pass", "regression": False, "baseline_ok": True},
        metadata={"batch_id": "rb_0001", "provider": "local", "started_at": AT_TEXT, "error": None, "enrichments": ENRICHMENTS, "tokens_estimated": False, "redactions": NO_REDACTIONS},
    )


def test_replay_result_of_a_run_that_errored_fails_its_verdict():
    run = {**REPLAY_RUN, "status": "error", "validation": None, "response": None, "error": "model server down", "regression": False}
    got = materialize({"source_kind": "replay_run", "run": run})
    assert got["verdict"] == {"ok": False, "errors": [{"code": "REPLAY_ERROR", "message": "model server down"}]}
    assert got["output"] == {"text": None}
    assert got["labels"]["status"] == "error"


def test_feedback_labels_its_target_with_the_targets_evidence_id():
    source = interaction("feedback", {"target_id": TARGET, "verdict": "edit", "edited_text": "Better: call 555-123-4567"}, {})
    source["target"] = {"kind": "validate_email", "request_kind": "sms"}
    got = materialize(source)
    assert got == record(
        "feedback", "feedback",
        input={"target_id": TARGET},
        output={"verdict": "edit", "edited_text": "Better: call [PHONE]"},
        labels={"feedback": "edit", "target_id": TARGET, "target_transform": "sms_draft", "target_evidence_id": _ev("sms_draft", 1, "interaction", TARGET)},
        prompt_tokens=9, completion_tokens=8,  # 36-char target id; "edit" + 25-char text = 29 chars
        metadata={"actor": "coord", "enrichments": ENRICHMENTS, "tokens_estimated": True, "redactions": {**NO_REDACTIONS, "phone": 1}},
    )


def test_feedback_whose_target_is_gone_still_labels_the_target_id():
    source = interaction("feedback", {"target_id": TARGET, "verdict": "reject"}, {})
    source["target"] = None
    got = materialize(source)
    assert got["labels"] == {"feedback": "reject", "target_id": TARGET, "target_transform": None, "target_evidence_id": None}


# ------------------------------------------------------------------------- malformed rows

MALFORMED = [
    (interaction("search", {**SEARCH_REQUEST, "query": "  "}, SEARCH_RESPONSE), "request.query must be a non-empty string"),
    (interaction("search", SEARCH_REQUEST, {**SEARCH_RESPONSE, "results": "W-1"}), "response.results must be a list"),
    (interaction("profile_swap", SEARCH_REQUEST, SEARCH_RESPONSE), "request.exclude_ids must be a non-empty list"),
    (interaction("playbook_search", {**SEARCH_REQUEST, "k": "ten"}, SEARCH_RESPONSE), "request.k must be an integer"),
    (interaction("validate_email", {"kind": "email", "body": 42}, {}), "request.body must be a string"),
    (interaction("validate_sms", {"kind": "sms", "body": "hi"}, {"warnings": "none"}), "response.warnings must be a list"),
    (interaction("validate_fill", {"worker_ids": ["W-1"]}, {}), "request needs an order or an order_id"),
    (interaction("playbook_record", {"query": "q", "worker_ids": [], "outcome": "filled"}, {}), "request.worker_ids must be a non-empty list"),
    (interaction("chat", {"messages": []}, {"text": "x"}), "request.messages must be a non-empty list"),
    (interaction("feedback", {"target_id": "nope", "verdict": "accept"}, {}), "request.target_id must be an interaction id"),
    (interaction("feedback", {"target_id": TARGET, "verdict": "maybe"}, {}), "request.verdict must be one of accept, reject, edit"),
    (interaction("feedback", {"target_id": TARGET, "verdict": "edit"}, {}), "request.edited_text is required"),
    (interaction("search", SEARCH_REQUEST, SEARCH_RESPONSE, occurred_at="2026-11-20T10:00:00"), "occurred_at must be a timestamp with a UTC offset"),
    (interaction("search", SEARCH_REQUEST, SEARCH_RESPONSE, latency_ms=float("nan")), "latency_ms must be a finite number"),
    (interaction("chat", {"messages": [{"role": "user", "content": "x"}]}, {"text": "y"}, model="m" * 200), "model must be at most 128 characters"),
    (interaction("teleport", {}, {}), "no transform reads interactions of kind 'teleport'"),
    ({"source_kind": "chat_log", "log": {"schema": "chat_log.v0", "id": "x"}}, "schema must be 'chat_log.v1'"),
    ({"source_kind": "chat_log", "log": {"schema": "chat_log.v1", "id": "c", "occurred_at": "2026-11-20T10:00:00Z", "messages": [{"role": "user", "content": "x"}], "response": {}}}, "response.content must be a string"),
    ({"source_kind": "chat_log", "log": {"schema": "chat_log.v1", "id": "ssn-219-09-9999", "occurred_at": "2026-11-20T10:00:00Z", "messages": [{"role": "user", "content": "x"}], "response": {"content": ""}}}, "id contains personal data"),
    ({"source_kind": "replay_run", "run": {**REPLAY_RUN, "status": "great"}}, "status must be one of pass, fail, error, skipped"),
    ({"source_kind": "replay_run", "run": {**REPLAY_RUN, "run_id": None}}, "run_id must be a non-empty string"),
    ({"source_kind": "carrier_pigeon"}, "no transform reads sources of kind 'carrier_pigeon'"),
]


@pytest.mark.parametrize(("source", "message"), MALFORMED, ids=[f"{s.get('kind') or s['source_kind']}-{i}" for i, (s, _) in enumerate(MALFORMED)])
def test_a_malformed_source_raises_a_transform_error_naming_the_field(source, message):
    with pytest.raises(TransformError) as raised:
        materialize(source)
    assert message in str(raised.value)


# ---------------------------------------------------------------------- registry, ids, bytes


def test_the_registry_holds_twelve_versioned_transforms_and_routes_every_interaction_kind():
    from apps.interactions.choices import DECISION_KINDS, InteractionKind

    assert len(transforms.REGISTRY) == 12
    assert [t.name for t in transforms.ENRICHMENTS] == ["token_accounting", "pii_redaction"]
    assert all(isinstance(t.version, int) and t.version >= 1 for t in transforms.REGISTRY.values())
    routed = {kind: transforms.transform_for_interaction(kind).name for kind in InteractionKind.values if kind not in DECISION_KINDS}
    # Decisions on orders are the audit trail: the materializer leaves them out (no transform).
    assert all(transforms.transform_for_interaction(kind) is None for kind in DECISION_KINDS)
    assert routed == {
        "search": "search_session", "profile_swap": "profile_swap", "validate_email": "email_draft", "validate_sms": "sms_draft",
        "validate_fill": "fill_proposal", "playbook_record": "playbook_record", "playbook_search": "playbook_search",
        "chat": "chat_completion", "feedback": "feedback",
    }


def test_evidence_id_depends_on_transform_version_kind_and_source_only():
    first = materialize(interaction("search", SEARCH_REQUEST, SEARCH_RESPONSE))
    changed = materialize(interaction("search", {**SEARCH_REQUEST, "query": "cna"}, SEARCH_RESPONSE, occurred_at=datetime(2025, 1, 1, tzinfo=timezone.utc)))
    assert first["evidence_id"] == changed["evidence_id"] == _ev("search_session", 1, "interaction", ID)
    assert transforms.evidence_id("search_session", 2, "interaction", ID) != first["evidence_id"]
    assert transforms.evidence_id("search_session", 1, "chat_log", ID) != first["evidence_id"]


def test_serialization_is_byte_identical_whatever_the_key_order():
    source = interaction("search", SEARCH_REQUEST, SEARCH_RESPONSE)
    shuffled = copy.deepcopy(source)
    shuffled["request"] = dict(reversed(list(shuffled["request"].items())))
    shuffled["response"]["index"] = dict(reversed(list(shuffled["response"]["index"].items())))
    line = dumps(materialize(source))
    assert line == dumps(materialize(shuffled))
    assert "\n" not in line and ": " not in line and ", " not in line
    assert list(json.loads(line)) == sorted(json.loads(line))


def test_the_transforms_do_not_mutate_their_source():
    source = interaction("validate_sms", {"kind": "sms", "worker_id": None, "subject": None, "body": "SSN 219-09-9999"}, {})
    before = copy.deepcopy(source)
    materialize(source)
    assert source == before


def test_redaction_walks_nested_values_and_keys_and_drops_characters_jsonb_cannot_store():
    log = {
        "schema": "chat_log.v1", "id": "c-1", "occurred_at": "2026-11-20T14:30:00.25Z",
        "messages": [{"role": "user", "content": "a\x00b \ud800 ana@example.com"}], "response": {"content": "ok"},
        "metadata": {"contacts": {"555-123-4567": ["078-05-1120", {"deep": "4111-1111-1111-1111"}]}},
    }
    got = materialize({"source_kind": "chat_log", "log": log, "origin": {"file": "f.jsonl", "line": 1}})
    assert got["input"]["messages"][0]["content"] == "a\ufffdb ? [EMAIL]"
    assert got["metadata"]["chat_log"] == {"contacts": {"[PHONE]": ["[SSN]", {"deep": "[CARD]"}]}}
    assert got["metadata"]["redactions"] == {"card": 1, "email": 1, "phone": 1, "ssn": 1}
    dumps(got).encode("utf-8")  # no lone surrogate left


def test_token_accounting_estimates_only_what_is_missing():
    source = interaction("chat", {"messages": [{"role": "user", "content": "x" * 10}]}, {"text": "y" * 9}, prompt_tokens=None, completion_tokens=5)
    got = materialize(source)
    assert (got["prompt_tokens"], got["completion_tokens"]) == (4, 5)  # ceil((4 + 10) / 4); 5 as logged
    assert got["metadata"]["tokens_estimated"] is True
    exact = materialize({**source, "prompt_tokens": 0, "completion_tokens": 0})
    assert (exact["prompt_tokens"], exact["completion_tokens"], exact["metadata"]["tokens_estimated"]) == (0, 0, False)


def test_the_transforms_module_is_pure_python():
    code = "import sys, apps.evidence.transforms; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"


def test_redaction_also_walks_mapping_and_sequence_subclasses():
    from collections import OrderedDict

    run = {**REPLAY_RUN, "retrieval": OrderedDict(index="workers", ids=("W-1", "call 555-123-4567"), took_ms=1.0)}
    got = materialize({"source_kind": "replay_run", "run": run})
    assert got["input"]["retrieval"] == {"index": "workers", "ids": ["W-1", "call [PHONE]"], "took_ms": 1.0}
    assert got["metadata"]["redactions"]["phone"] == 1
