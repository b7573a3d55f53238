"""Rows stored before the scrubber existed: the data migrations scrub them, and --rebuild-day rewrites
the day files already written, with a receipt that shows the old and the new sha256 (SPEC §3.5)."""

from __future__ import annotations

import hashlib
import importlib
import json
from datetime import date, datetime, timezone

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings

from apps.evidence.models import EvidenceRecord
from apps.evidence.services import build_evidence_index
from apps.interactions.models import Interaction
from apps.playbooks.models import Playbook

pytestmark = pytest.mark.django_db

KEY = "sk-live-abc123DEF456ghi789JKL012mno345"
DAY = date(2026, 11, 20)
AT = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def _run_data_migration(app: str, name: str) -> None:
    module = importlib.import_module(f"apps.{app}.migrations.{name}")
    module._scrub(django_apps, None)  # the live registry stands in for the historical one: same fields


def test_stored_interactions_and_playbooks_are_scrubbed_in_place():
    # Written the old way, straight to the table, as before the scrubber.
    kept = Interaction.objects.create(kind="search", occurred_at=AT, request={"query": "forklift"}, response={"results": []})
    leaky = Interaction.objects.create(
        kind="validate_sms", occurred_at=AT, actor="coord",
        request={"body": f"api_key={KEY} SSN 123-45-6789", "password": "hunter2"},
        response={"ok": False}, errors=[{"message": f"Bearer {KEY}"}],
    )
    playbook = Playbook.objects.create(
        query=f"forklift {KEY}", query_embedding=[0.0] * django_settings.EMBEDDING_DIM,
        filters={"note": "card 4111 1111 1111 1111"}, worker_ids=["W-000123"], outcome="filled",
    )

    _run_data_migration("interactions", "0002_scrub_stored_secrets")
    _run_data_migration("playbooks", "0003_scrub_stored_secrets")

    leaky.refresh_from_db()
    assert leaky.request == {"body": "api_key=[REDACTED] SSN [SSN]", "password": "[REDACTED]"}
    assert leaky.errors == [{"message": "Bearer [REDACTED]"}] and leaky.actor == "coord"
    playbook.refresh_from_db()
    assert playbook.query == "forklift [REDACTED]" and playbook.filters == {"note": "card [CARD]"}
    assert playbook.worker_ids == ["W-000123"]
    assert Interaction.objects.get(pk=kept.pk).request == {"query": "forklift"}  # clean rows untouched


def test_rebuild_day_rewrites_old_files_and_the_receipt_shows_both_hashes(settings, tmp_path):
    settings.KB_DIR = tmp_path / "kb"
    leaky = {"prompt": f"use {KEY} please"}
    record = EvidenceRecord.objects.create(
        evidence_id="ev_" + "0" * 32, day=DAY, occurred_at=AT, source_kind="chat_log", source_id="c.jsonl:1",
        transform="chat_completion", transform_version=1, task_type="chat", input=leaky, output={"text": "ok"},
        verdict={"ok": True, "errors": []}, verdict_ok=True,
    )
    old_file = settings.KB_DIR / "evidence" / f"day={DAY}" / "run-old.jsonl"
    old_file.parent.mkdir(parents=True)
    old_file.write_text(json.dumps({"evidence_id": record.evidence_id, "input": leaky}) + "\n", encoding="utf-8")
    old_sha = hashlib.sha256(old_file.read_bytes()).hexdigest()

    _run_data_migration("evidence", "0004_scrub_stored_secrets")
    record.refresh_from_db()
    assert record.input == {"prompt": "use [REDACTED] please"}

    run = build_evidence_index(rebuild_day=DAY)
    assert run.status == "succeeded", run.error
    [written] = run.files
    new_file = settings.KB_DIR / written["path"]
    assert not old_file.exists() and KEY not in new_file.read_text(encoding="utf-8")
    assert written["sha256"] == hashlib.sha256(new_file.read_bytes()).hexdigest() != old_sha
    assert written["previous"] == [{"path": f"evidence/day={DAY}/run-old.jsonl", "sha256": old_sha, "records": 1}]
    receipt = json.loads((settings.KB_DIR / "receipts" / f"materialize-{run.run_id}.json").read_text())
    assert receipt["files"][0]["previous"][0]["sha256"] == old_sha
