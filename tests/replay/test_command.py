"""`manage.py replay` beyond the gate flags (test_gate.py): its selection options, its summary line,
its exit codes without --fail-on-regression, and bad arguments — a clear error, exit 3 (a usage
mistake, never read as 1 "regression" or 2 "model unreachable"), no traceback and no batch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from apps.evidence.models import EvidenceRecord
from apps.replay.choices import REPLAYED_TASK_TYPES
from apps.replay.models import ReplayBatch, ReplayRun
from tests.conftest import BASE_DIR, _test_database_url
from tests.providers.model_server import ModelServer
from tests.replay.test_gate import _regressing
from tests.replay.test_replay import assert_counters_are_the_runs, evidence  # noqa: F401 — the shared evidence fixture


def _replay(*args: str) -> tuple[str, ReplayBatch]:
    out = StringIO()
    call_command("replay", *args, stdout=out)
    return out.getvalue(), ReplayBatch.objects.order_by("-created_at").first()


def _summary_line(batch: ReplayBatch) -> str:
    """The line the command prints, built from the batch row (the source of truth)."""
    rate = batch.pass_rate
    return (
        f"{batch.batch_id} {batch.status}: total {batch.total}, passed {batch.passed}, failed {batch.failed}, errors {batch.errors}, "
        f"skipped {batch.skipped}, regressions {batch.regressions}, pass rate {rate}, "
        f"latency p50/p95 {batch.latency_p50_ms}/{batch.latency_p95_ms} ms, tokens {batch.prompt_tokens}+{batch.completion_tokens}, "
    )


def test_replay_runs_in_process_with_its_options_and_prints_the_batch(evidence):
    said, batch = _replay(
        "--provider", "local", "--model", "drafter-v2", "--concurrency", "1", "--task-type", "draft_sms", "--task-type", "chat", "--task-type", "record_playbook",
    )
    assert (batch.provider, batch.model, batch.concurrency, batch.created_by) == ("local", "drafter-v2", 1, "manage.py")
    assert batch.task_types == ["draft_sms", "chat", "record_playbook"] and batch.task_id == ""  # this process ran it: no task sent
    assert (batch.status, batch.total, batch.passed, batch.skipped, batch.skipped_by_type) == ("succeeded", 2, 2, 1, {"record_playbook": 1})
    assert assert_counters_are_the_runs(batch) == {"pass": 2}
    assert set(ReplayRun.objects.filter(batch=batch).values_list("task_type", flat=True)) == {"draft_sms", "chat"}
    assert said == _summary_line(batch) + "cost $0.000000\n"  # the local drafter is not billed


def test_replay_selects_by_day_range_and_limit(evidence):
    day = EvidenceRecord.objects.values_list("day", flat=True).distinct().get()  # the fixture's calls are one day's
    later, earlier = (day + timedelta(days=1)).isoformat(), (day - timedelta(days=1)).isoformat()

    for window in (["--day-from", later], ["--day-to", earlier]):
        said, batch = _replay("--provider", "local", "--concurrency", "1", *window)
        assert (batch.status, batch.total, batch.skipped, batch.pass_rate) == ("succeeded", 0, 0, None), window
        assert said.startswith(f"{batch.batch_id} succeeded: total 0,") and "pass rate None" in said

    _, limited = _replay("--provider", "local", "--concurrency", "1", "--day-from", day.isoformat(), "--day-to", day.isoformat(), "--limit", "2")
    replayable = EvidenceRecord.objects.filter(task_type__in=REPLAYED_TASK_TYPES).order_by("day", "evidence_id")
    assert replayable.count() == 4 and limited.total == 2 and limited.limit == 2
    assert set(ReplayRun.objects.filter(batch=limited).values_list("evidence_id", flat=True)) == set(replayable.values_list("evidence_id", flat=True)[:2])


def test_without_the_gate_a_regression_exits_0_and_a_dead_model_exits_1(evidence, settings):
    with ModelServer(chat_reply=_regressing) as server:
        settings.CHAT_BASE_URL = server.url
        said, batch = _replay("--provider", "openai", "--model", "m", "--concurrency", "1", "--task-type", "draft_sms")
    assert (batch.status, batch.failed, batch.regressions) == ("succeeded", 1, 1) and "regressions 1" in said

    settings.CHAT_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(CommandError) as raised:
        _replay("--provider", "openai", "--model", "m", "--concurrency", "1", "--task-type", "draft_sms")
    batch = ReplayBatch.objects.order_by("-created_at").first()
    assert raised.value.returncode == 1 and str(raised.value) == batch.error and batch.error.startswith("no run reached the model")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task-type", "guessing"], "argument --task-type: invalid choice: 'guessing'"),
        (["--provider", "gpt"], "argument --provider: invalid choice: 'gpt'"),
        (["--limit", "0"], "argument --limit: 0 is out of range: must be between 1 and 100000"),
        (["--limit", "x"], "argument --limit: 'x' is not an integer"),
        (["--concurrency", "0"], "argument --concurrency: 0 is out of range: must be between 1 and 32"),
        (["--concurrency", "33"], "argument --concurrency: 33 is out of range: must be between 1 and 32"),
        (["--day-from", "2026-02-30"], "argument --day-from: '2026-02-30' is not a date (YYYY-MM-DD)"),
        (["--day-from", "2026-12-02", "--day-to", "2026-12-01"], "--day-to 2026-12-01 is before --day-from 2026-12-02"),
        (["--baseline-batch", "rb_nope"], "--baseline-batch: no replay batch 'rb_nope'"),
    ],
    ids=["unknown task type", "unknown provider", "limit 0", "limit not a number", "concurrency 0", "concurrency 33", "no such day", "days reversed", "unknown baseline"],
)
def test_bad_arguments_are_a_usage_error_with_exit_3_and_no_batch(db, args, message):
    batches = ReplayBatch.objects.count()
    with pytest.raises(CommandError, match=re.escape(message)) as raised:
        call_command("replay", "--provider", "local", *args, "--fail-on-regression")
    assert raised.value.returncode == 3
    assert ReplayBatch.objects.count() == batches


@pytest.mark.django_db(transaction=True)  # a batch the process wrote by mistake would be committed: seen here, flushed after
def test_bad_arguments_exit_3_from_the_shell_without_a_traceback():
    env = dict(os.environ, DATABASE_URL=_test_database_url(), REDIS_URL=django_settings.REDIS_URL, DB_POOL="false")
    batches = ReplayBatch.objects.count()

    def manage_replay(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "replay", "--fail-on-regression", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
        )

    typo = manage_replay("--task-type", "draft_smss")
    assert typo.returncode == 3 and "Traceback" not in typo.stderr, typo.stderr
    assert "error: argument --task-type: invalid choice: 'draft_smss'" in typo.stderr and "usage: manage.py replay" in typo.stderr

    reversed_days = manage_replay("--day-from", "2026-12-02", "--day-to", "2026-12-01")
    assert reversed_days.returncode == 3 and "Traceback" not in reversed_days.stderr, reversed_days.stderr
    assert reversed_days.stderr.strip() == "CommandError: --day-to 2026-12-01 is before --day-from 2026-12-02"
    assert ReplayBatch.objects.count() == batches
