"""Run inspection in a real browser: a regression is a red alert (never a green tick), the bundle
reads as a conversation with the candidates as a table, the batch groups its runs."""

from __future__ import annotations

import json

import pytest

from tests.admin.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _regressed_batch():
    from django.utils import timezone

    from apps.evidence.models import EvidenceRecord
    from apps.replay.bundles import build_bundle
    from apps.replay.models import ReplayBatch, ReplayRun
    from apps.workers.generator import generate_workers
    from apps.workers.models import Worker
    from apps.workers.normalize import normalize_row

    now = timezone.now()
    worker = Worker.objects.create(**normalize_row(next(generate_workers(1, seed=5))).worker_fields())
    record = EvidenceRecord.objects.create(
        evidence_id="ev_" + "a" * 32, day=now.date(), occurred_at=now, source_kind="interaction", source_id="x",
        transform="sms_draft", transform_version=1, task_type="draft_sms", verdict={"ok": True, "errors": []}, verdict_ok=True,
        output={"body": f"Hi {worker.first_name}, a forklift shift Monday 7am in {worker.city}. Reply STOP to opt out"},
    )
    batch = ReplayBatch.objects.create(batch_id="rb_regressed", status="finished", provider="local", model="local-chat", total=2,
                                       passed=1, failed=1, regressions=1, started_at=now, finished_at=now)
    candidate = {"worker_id": worker.worker_id, "first_name": worker.first_name, "city": worker.city, "state": worker.state, "role": worker.role}
    bundle = build_bundle("draft_sms", {"worker_id": worker.worker_id, "kind": "sms"}, {"candidates": [candidate]})
    errors = [{"code": "SMS_TOO_LONG", "message": "212 characters; at most 160."}, {"code": "SMS_NO_STOP", "message": "No opt-out line."}]
    regressed = ReplayRun.objects.create(
        run_id="rr_regressed", batch=batch, evidence_id=record.evidence_id, task_type="draft_sms", status="fail", provider="local",
        model="local-chat", bundle=bundle.to_dict(), bundle_sha256=bundle.sha256, retrieval={"index": "workers", "ids": [worker.worker_id], "took_ms": 1.5},
        response={"text": "Hello! " * 30, "prompt_tokens": 120, "completion_tokens": 60, "latency_ms": 12.5},
        validation={"ok": False, "errors": errors}, baseline_ok=True, regression=True, started_at=now, finished_at=now,
    )
    ReplayRun.objects.create(
        run_id="rr_fine", batch=batch, evidence_id=record.evidence_id, task_type="draft_sms", status="pass", provider="local",
        response={"text": "ok"}, validation={"ok": True, "errors": []}, baseline_ok=True, regression=False, started_at=now, finished_at=now,
    )
    return batch, regressed, worker


def test_a_regression_run_shows_an_alert_and_its_bundle_as_a_conversation(logged_in):
    batch, run, worker = _regressed_batch()
    page, url = logged_in

    page.goto(f"{url}/admin/replay/replayrun/")
    row = page.locator("#result_list tr:has-text('rr_regressed')")
    assert row.locator(".lh-alert-bad").inner_text() == "REGRESSION"
    fine = page.locator("#result_list tr:has-text('rr_fine')")
    assert fine.locator(".lh-alert-bad").count() == 0 and fine.locator("img[alt]").count() == 0  # no ✗ for a normal run
    screenshot(page, "replay-runs-list")

    page.goto(f"{url}/admin/replay/replayrun/{run.run_id}/change/")
    assert page.locator(".field-regression_display .lh-alert-bad").inner_text() == "REGRESSION"
    conversation = page.locator("#conversation")
    assert conversation.locator(".lh-role-system").count() == 1 and conversation.locator(".lh-role-user").count() == 1
    assert conversation.locator(".lh-role-assistant").count() == 1
    # The candidates are a table with a linked worker id, not an escaped JSON string.
    candidates = conversation.locator(".lh-candidates table")
    assert candidates.locator(f"a:has-text('{worker.worker_id}')").count() == 1
    assert '{\\"context' not in page.content() and '"candidates":' not in conversation.inner_text()
    assert page.locator("#validator-errors").inner_text().count("SMS_") == 2
    assert "Reply STOP" in page.locator("#baseline").inner_text()  # the baseline sits next to the response
    assert page.locator("a:has-text('rb_regressed')").count() >= 1 and page.locator("a:has-text('ev_')").count() >= 1
    assert page.locator("input[type=submit][name=_save]").count() == 0
    screenshot(page, "replay-run-regression")

    page.goto(f"{url}/admin/replay/replaybatch/{batch.batch_id}/change/")
    assert page.locator("#regressed-runs a:has-text('rr_regressed')").count() == 1
    assert "SMS_TOO_LONG" in page.locator("#runs-by-error_code").inner_text()
    assert "draft_sms" in page.locator("#runs-by-task_type").inner_text()
    assert page.locator(".field-regressions_display .lh-alert-bad").count() == 1
    screenshot(page, "replay-batch-grouped")
