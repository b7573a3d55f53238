"""Replay as a CI gate and what it costs (SPEC §4.8, issue 21): `manage.py replay` end to end against a
real OpenAI-shaped HTTP server (tests/providers/model_server.py) that regresses on purpose."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from apps.replay.gate import gate_exit_code
from apps.replay.local_drafter import LocalChat
from apps.replay.models import ReplayBatch, ReplayRun
from apps.replay.pricing import parse_chat_prices
from tests.providers.model_server import ModelServer
from tests.replay.test_replay import evidence  # noqa: F401 — the coordinator's evidence fixture, shared

TYPES = ["draft_sms", "propose_fill", "record_playbook"]  # two model tasks and one that is never replayed


def _regressing(messages, model) -> str:
    """A model that got worse: an SMS leaking an SSN, a fill with a worker from the wrong city."""
    if 'worker_ids' in messages[0]["content"]:
        return json.dumps({"worker_ids": ["W-0001", "W-0009"]})
    return "Hi Ana, your SSN 219-09-9999 is on file. Reply STOP to opt out"


def _well_behaved(messages, model) -> str:
    return LocalChat().complete(messages).text


def _gate(settings, url: str, junit=None, *extra: str) -> tuple[int, ReplayBatch]:
    """Run the real command; its exit code (CommandError.returncode, as manage.py exits) and its batch."""
    settings.CHAT_BASE_URL = url
    args = ["replay", "--provider", "openai", "--model", "gpt-4o-mini", "--concurrency", "1", "--fail-on-regression", *extra]
    for task_type in TYPES:
        args += ["--task-type", task_type]
    if junit is not None:
        args += ["--junit-xml", str(junit)]
    try:
        call_command(*args)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, ReplayBatch.objects.order_by("-created_at").first()


def _cases(path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and len(root) == 1
    return {case.get("classname"): case for case in root.iter("testcase")}


def test_a_regressing_model_exits_1_with_junit_failures_carrying_the_validator_codes(evidence, settings, tmp_path):
    settings.CHAT_PRICES = parse_chat_prices("gpt-4o-mini=0.15/0.6")
    junit = tmp_path / "ci" / "replay.xml"
    with ModelServer(chat_reply=_regressing) as server:
        code, batch = _gate(settings, server.url, junit)
    assert code == 1
    assert batch.status == "succeeded" and batch.regressions == 2 and batch.failed == 2

    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("3", "2", "0", "1")
    cases = _cases(junit)
    runs = {r.task_type: r for r in ReplayRun.objects.filter(batch=batch)}
    for task_type, code_expected in (("draft_sms", "PII_SSN"), ("propose_fill", "LOCATION_MISMATCH")):
        case, run = cases[task_type], runs[task_type]
        assert case.get("name") == f"{run.evidence_id} ({run.run_id})"
        failure = case.find("failure")
        assert code_expected in failure.get("type").split(",") and code_expected in failure.text
        assert failure.get("message").startswith("regression")
    assert cases["record_playbook"].find("skipped") is not None

    # cost: the server's token counts priced per 1,000 tokens
    expected = sum(Decimal(r.response["prompt_tokens"]) * Decimal("0.15") / 1000 + Decimal(r.response["completion_tokens"]) * Decimal("0.6") / 1000 for r in runs.values())
    assert expected > 0 and batch.cost_usd == expected.quantize(Decimal("0.00000001")) and batch.unpriced_runs == 0


def test_a_model_that_behaves_exits_0_and_an_unpriced_model_has_no_cost(evidence, settings, tmp_path, coordinator_client):
    settings.CHAT_PRICES = parse_chat_prices("llama3.1:8b=0/0")  # gpt-4o-mini is not listed: unpriced, not free
    junit = tmp_path / "replay.xml"
    with ModelServer(chat_reply=_well_behaved) as server:
        code, batch = _gate(settings, server.url, junit)
    assert code == 0 and batch.passed == 2 and batch.regressions == 0
    assert not [c for c in _cases(junit).values() if c.find("failure") is not None or c.find("error") is not None]

    assert batch.cost_usd is None and batch.unpriced_runs == 2
    body = coordinator_client.get(f"/api/v1/replay/batches/{batch.batch_id}/").json()
    assert body["cost_usd"] is None and body["unpriced"] is True and body["unpriced_runs"] == 2
    runs = coordinator_client.get("/api/v1/replay/runs/", {"batch": batch.batch_id}).json()["results"]
    assert {(r["cost_usd"], r["unpriced"]) for r in runs} == {(None, True)}


def test_a_model_server_that_is_down_exits_2_with_junit_errors(evidence, settings, tmp_path):
    junit = tmp_path / "replay.xml"
    code, batch = _gate(settings, "http://127.0.0.1:9", junit)  # discard port: nothing listens
    assert code == 2
    assert batch.status == "failed" and batch.pass_rate is None
    cases = _cases(junit)
    assert cases["draft_sms"].find("error") is not None and cases["propose_fill"].find("error") is not None
    assert batch.cost_usd == 0 and batch.unpriced_runs == 0  # no answer, no bill


def test_2_wins_over_1():
    assert gate_exit_code({"status": "failed", "regressions": 3}) == 2
    assert gate_exit_code({"status": "succeeded", "regressions": 1}) == 1
    assert gate_exit_code({"status": "succeeded", "regressions": 0}) == 0


def test_baseline_batch_compares_with_that_batchs_run_outcomes(evidence, settings, tmp_path):
    with ModelServer(chat_reply=_regressing) as server:
        code, bad = _gate(settings, server.url)
        assert code == 1  # against the evidence's own verdicts: regressions
        # Against a batch where the same records already failed: failing, but nothing regressed.
        code, again = _gate(settings, server.url, tmp_path / "again.xml", "--baseline-batch", bad.batch_id)
        assert code == 0 and again.failed == 2 and again.regressions == 0 and again.baseline_batch_id == bad.batch_id
        assert set(ReplayRun.objects.filter(batch=again).exclude(task_type="record_playbook").values_list("baseline_ok", flat=True)) == {False}
        assert "not a regression" in _cases(tmp_path / "again.xml")["draft_sms"].find("failure").get("message")

    with ModelServer(chat_reply=_well_behaved) as server:
        code, good = _gate(settings, server.url)
        assert code == 0
    with ModelServer(chat_reply=_regressing) as server:
        code, worse = _gate(settings, server.url, None, "--baseline-batch", good.batch_id)
    assert code == 1 and worse.regressions == 2

    code, _ = _gate(settings, "http://127.0.0.1:9", None, "--baseline-batch", "rb_nope")
    assert code == 3  # a usage mistake reads as neither a regression nor a dead model


@pytest.mark.django_db(transaction=True)  # committed evidence: the command runs in another process
def test_manage_py_replay_exits_with_the_gate_codes_as_a_real_process(coordinator_client, settings, tmp_path):
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    from apps.evidence.services import build_evidence_index
    from apps.workers.models import Worker
    from tests.conftest import BASE_DIR, _test_database_url
    from tests.replay.test_replay import _coordinator_work

    settings.KB_DIR = tmp_path / "kb"
    Worker.objects.all().delete()
    _coordinator_work(coordinator_client)
    assert build_evidence_index().status == "succeeded"
    env = dict(
        os.environ, DATABASE_URL=_test_database_url(), REDIS_URL=django_settings.REDIS_URL, DB_POOL="false", KB_DIR=str(tmp_path / "kb"),
        CHAT_RETRIES="0", CHAT_PRICES="gpt-4o-mini=0.15/0.6",
    )

    def manage_replay(url: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "replay", "--provider", "openai", "--model", "gpt-4o-mini", "--task-type", "draft_sms",
             "--concurrency", "1", "--fail-on-regression", "--junit-xml", str(tmp_path / "replay.xml")],
            cwd=BASE_DIR, env={**env, "CHAT_BASE_URL": url}, capture_output=True, text=True, timeout=300,
        )

    with ModelServer(chat_reply=_regressing) as server:
        regressed = manage_replay(server.url)
    assert regressed.returncode == 1, regressed.stderr
    assert "regression" in regressed.stderr and "cost $" in regressed.stdout
    assert _cases(tmp_path / "replay.xml")["draft_sms"].find("failure").get("type") == "PII_SSN"

    with ModelServer(chat_reply=_well_behaved) as server:
        assert manage_replay(server.url).returncode == 0

    down = manage_replay("http://127.0.0.1:9")
    assert down.returncode == 2 and "no run reached the model" in down.stderr
    assert _cases(tmp_path / "replay.xml")["draft_sms"].find("error") is not None
