"""build_evidence_index on the real database: records, partitions, receipts, idempotency, watermark,
inbox, replay hook, and bad rows that are reported without aborting the run."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.evidence import selectors, services, transforms
from apps.evidence.models import EvidenceRecord, InboxFile, MaterializeRun
from apps.interactions.models import Interaction
from tests.evidence.conftest import AT, DAY, chat_log_line, partition_lines, write_inbox

pytestmark = pytest.mark.django_db

D = date.fromisoformat(DAY)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table_lines(day: date = D) -> list[str]:
    return list(selectors.iter_day_lines(day))


def _by_evidence_id(lines: list[str]) -> list[str]:
    return sorted(lines, key=lambda line: json.loads(line)["evidence_id"])


def test_a_run_writes_one_record_per_source_to_the_table_the_partition_and_the_receipt(kb_dir, every_kind):
    run = services.build_evidence_index(actor="tester")

    assert run.status == "succeeded", run.error
    assert run.sources_scanned == {"interaction": 9, "chat_log": 0, "replay_run": 0}
    assert run.records_written == 9 and run.duplicates_skipped == 0 and run.errors_count == 0
    assert {name: counts["written"] for name, counts in run.per_transform.items()} == {
        "search_session": 1, "profile_swap": 1, "playbook_search": 1, "email_draft": 1, "sms_draft": 1, "fill_proposal": 1,
        "playbook_record": 1, "chat_completion": 1, "feedback": 1,
    }
    assert run.per_day == {DAY: {"written": 9, "duplicates": 0}}
    assert EvidenceRecord.objects.filter(run=run).count() == 9

    # One file for the run in the day's partition; its lines are the table's records, byte for byte.
    path = kb_dir / "evidence" / f"day={DAY}" / f"run-{run.run_id}.jsonl"
    lines = path.read_text().splitlines()
    assert _by_evidence_id(lines) == _table_lines()
    assert run.files == [{"path": f"evidence/day={DAY}/run-{run.run_id}.jsonl", "sha256": _sha(path), "records": 9}]

    # The receipt file is the row's receipt.
    receipt = json.loads((kb_dir / "receipts" / f"materialize-{run.run_id}.json").read_text())
    assert receipt == json.loads(json.dumps(selectors.receipt(run)))
    assert receipt["schema"] == "materialize_receipt.v1" and receipt["status"] == "succeeded"
    assert receipt["watermark"] == {"from": 0, "to": Interaction.objects.order_by("-seq").first().seq}


def test_the_feedback_record_names_the_evidence_id_of_its_target(kb_dir, every_kind):
    services.build_evidence_index()
    search = EvidenceRecord.objects.get(transform="search_session")
    feedback = EvidenceRecord.objects.get(transform="feedback")
    assert feedback.labels["target_evidence_id"] == search.evidence_id
    assert feedback.labels["feedback"] == "accept"


def test_a_feedback_on_an_sms_validated_through_validate_email_points_at_the_sms_draft(kb_dir, make_interaction):
    target = make_interaction("validate_email", request={"kind": "sms", "worker_id": "W-1", "subject": None, "body": "Hi. Reply STOP"})
    make_interaction("feedback", request={"target_id": str(target.id), "verdict": "reject"})
    services.build_evidence_index()
    draft = EvidenceRecord.objects.get(source_id=str(target.id))
    feedback = EvidenceRecord.objects.get(transform="feedback")
    assert draft.transform == "sms_draft"
    assert (feedback.labels["target_transform"], feedback.labels["target_evidence_id"]) == ("sms_draft", draft.evidence_id)


def test_a_malformed_row_is_reported_and_skipped_and_the_run_still_succeeds(kb_dir, make_interaction):
    good = make_interaction("search")
    bad = make_interaction("validate_fill", request={"worker_ids": "W-000001"})
    run = services.build_evidence_index()
    assert run.status == "succeeded"
    assert run.records_written == 1 and run.errors_count == 1
    assert run.errors == [{"source_id": str(bad.id), "transform": "fill_proposal", "message": "request needs an order or an order_id"}]
    assert run.per_transform["fill_proposal"] == {"written": 0, "duplicates": 0, "errors": 1}
    assert EvidenceRecord.objects.get().source_id == str(good.id)


def test_error_messages_in_the_receipt_are_masked(kb_dir, make_interaction):
    make_interaction("search", request={"query": "x", "k": "219-09-9999"})
    run = services.build_evidence_index()
    assert run.errors_count == 1
    assert "219-09-9999" not in json.dumps(run.errors) and "[SSN]" in run.errors[0]["message"]


def test_rescanning_the_same_sources_writes_nothing_and_counts_the_duplicates(kb_dir, every_kind):
    first = services.build_evidence_index(day=D)
    second = services.build_evidence_index(day=D)
    assert first.records_written == 9
    assert second.status == "succeeded"
    assert second.records_written == 0 and second.duplicates_skipped == 9
    assert second.per_day == {DAY: {"written": 0, "duplicates": 9}}
    assert second.files == []  # nothing new, no file
    assert EvidenceRecord.objects.count() == 9
    assert len(partition_lines(kb_dir)) == 9


def test_a_second_incremental_run_skips_what_the_lookback_finds_already_materialized(kb_dir, make_interaction):
    rows = [make_interaction("search", occurred_at=timezone.now()) for _ in range(3)]
    first = services.build_evidence_index()
    second = services.build_evidence_index()
    assert first.records_written == 3
    assert second.watermark_from == first.watermark_to == second.watermark_to == max(r.seq for r in rows)
    assert (second.records_written, second.duplicates_skipped, second.sources_scanned["interaction"]) == (0, 3, 3)
    assert EvidenceRecord.objects.count() == 3


def test_the_watermark_moves_on_and_a_late_commit_below_it_is_caught_by_the_lookback(kb_dir, make_interaction):
    now = timezone.now()
    make_interaction("search", occurred_at=now)
    first = services.build_evidence_index()
    fresh = make_interaction("chat", occurred_at=now)
    # A row that took its seq before the first run read the table but committed after it: below the
    # watermark, occurred recently.
    late = make_interaction("validate_sms", occurred_at=now, seq=first.watermark_to - 1000)
    # The same late commit, but from a transaction that stayed open longer than the lookback.
    stale = make_interaction("validate_sms", occurred_at=now - services.LOOKBACK - timedelta(hours=1), seq=first.watermark_to - 2000)

    second = services.build_evidence_index()
    sources = set(EvidenceRecord.objects.filter(run=second).values_list("source_id", flat=True))
    assert sources == {str(fresh.id), str(late.id)}
    assert second.watermark_from == first.watermark_to and second.watermark_to == fresh.seq

    # Documented limit: only a range run (or --rebuild-day) picks the stale one up.
    day_run = services.build_evidence_index(day=stale.occurred_at.date())
    assert str(stale.id) in set(EvidenceRecord.objects.filter(run=day_run).values_list("source_id", flat=True))


def test_rebuilding_a_day_twice_gives_byte_identical_files_equal_to_what_was_appended(kb_dir, every_kind, make_interaction):
    write_inbox(kb_dir, "chats.jsonl", [chat_log_line("c-1"), chat_log_line("c-2")])
    services.build_evidence_index()
    later = make_interaction("search", occurred_at=AT + timedelta(minutes=5))
    services.build_evidence_index(day=D)  # a second run file in the same partition
    appended = _by_evidence_id(partition_lines(kb_dir))
    assert len(appended) == 12 and len(list((kb_dir / "evidence" / f"day={DAY}").glob("*.jsonl"))) == 2

    first = services.build_evidence_index(rebuild_day=D)
    path = kb_dir / "evidence" / f"day={DAY}" / "part-rebuild.jsonl"
    first_sha = _sha(path)
    second = services.build_evidence_index(rebuild_day=D)

    assert first.status == second.status == "succeeded"
    assert _sha(path) == first_sha == first.files[0]["sha256"] == second.files[0]["sha256"]
    assert [p.name for p in path.parent.glob("*.jsonl")] == ["part-rebuild.jsonl"]
    # The rebuilt file is the appended records, sorted by evidence id: nothing lost, nothing changed.
    assert path.read_text().splitlines() == appended
    assert second.records_written == 0 and second.duplicates_skipped == 12
    assert str(later.id) in path.read_text()


def test_rebuild_re_derives_records_missing_from_the_table_and_keeps_those_whose_source_is_gone(kb_dir, every_kind):
    services.build_evidence_index()
    EvidenceRecord.objects.filter(transform="sms_draft").delete()
    every_kind["chat"].delete()  # its evidence stays: evidence is append-only
    run = services.build_evidence_index(rebuild_day=D)
    assert run.records_written == 1 and run.per_transform["sms_draft"]["written"] == 1
    assert run.files[0]["records"] == 9
    transforms_in_file = {json.loads(line)["transform"] for line in partition_lines(kb_dir)}
    assert {"sms_draft", "chat_completion"} <= transforms_in_file


def test_rebuild_day_cannot_be_combined_with_a_range():
    from apps.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        services.build_evidence_index(rebuild_day=D, day=D)


# ----------------------------------------------------------------------------------- inbox


def test_an_inbox_file_is_read_once_and_its_malformed_lines_are_reported(kb_dir, db):
    write_inbox(kb_dir, "a.jsonl", [chat_log_line("c-1"), "{not json", chat_log_line("c-2"), "[1, 2]", {"schema": "chat_log.v1", "id": "c-3"}, chat_log_line("c-1")])
    first = services.build_evidence_index()
    assert first.status == "succeeded"
    assert first.sources_scanned["chat_log"] == 6
    assert (first.records_written, first.duplicates_skipped, first.errors_count) == (2, 1, 3)
    assert [(e["source_id"], e["transform"]) for e in first.errors] == [("a.jsonl:2", "chat_completion"), ("a.jsonl:4", "chat_completion"), ("a.jsonl:5", "chat_completion")]
    assert "not valid JSON" in first.errors[0]["message"] and "is not a JSON object" in first.errors[1]["message"]
    assert first.errors[2]["message"] == "response must be an object, got None"
    tracked = InboxFile.objects.get()
    assert (tracked.name, tracked.lines, tracked.records_written, tracked.errors_count, tracked.days) == ("a.jsonl", 6, 2, 3, [DAY])
    assert tracked.sha256 == _sha(kb_dir / "inbox" / "a.jsonl")

    second = services.build_evidence_index()
    assert second.sources_scanned["chat_log"] == 0 and second.inbox["files_skipped"] == 1 and second.errors_count == 0

    # New content under the same name is a new file: read again, only the new log is new evidence.
    write_inbox(kb_dir, "a.jsonl", [chat_log_line("c-1"), chat_log_line("c-9")])
    third = services.build_evidence_index()
    assert (third.records_written, third.duplicates_skipped) == (1, 1)
    assert InboxFile.objects.count() == 2


def test_a_range_run_reads_only_inbox_lines_in_its_range_and_does_not_mark_the_file(kb_dir, db):
    write_inbox(kb_dir, "b.jsonl", [chat_log_line("in"), chat_log_line("out", occurred_at="2026-11-21T01:00:00Z")])
    run = services.build_evidence_index(day=D)
    assert EvidenceRecord.objects.get().source_id == "in" and run.records_written == 1
    assert not InboxFile.objects.exists()
    assert services.build_evidence_index().records_written == 1  # the incremental run reads it whole


# ------------------------------------------------------------------------------ replay hook


def _replay_source(monkeypatch, reader) -> None:
    """Stand in for whatever app registered the replay_run source (apps.replay in production)."""
    from apps.evidence import registry

    if reader is None:
        monkeypatch.delitem(registry._SOURCES, "replay_run", raising=False)
    else:
        monkeypatch.setitem(registry._SOURCES, "replay_run", reader)


def test_the_replay_source_is_a_no_op_when_no_app_registers_it(kb_dir, db, monkeypatch):
    from apps.evidence.sources import iter_replay_runs

    _replay_source(monkeypatch, None)
    assert list(iter_replay_runs()) == []
    assert services.build_evidence_index().sources_scanned["replay_run"] == 0


def test_the_replay_app_registers_itself_as_an_evidence_source():
    from apps.evidence import registry
    from apps.replay.selectors import iter_replay_run_dicts

    assert registry.source_reader("replay_run") is iter_replay_run_dicts
    assert "replay_selected" in {action.name for action in registry.record_actions()}


def test_replay_runs_from_the_replay_app_become_replay_records(kb_dir, db, monkeypatch):
    from tests.evidence.test_transforms import REPLAY_RUN

    calls = []

    def iter_replay_run_dicts(*, since, until):
        calls.append((since, until))
        yield REPLAY_RUN
        yield {**REPLAY_RUN, "run_id": "rr_bad", "status": "unknown"}

    _replay_source(monkeypatch, iter_replay_run_dicts)

    run = services.build_evidence_index(day=D)
    assert calls == [(services._day_bounds(D)[0], services._day_bounds(D)[1])]
    assert run.sources_scanned["replay_run"] == 2 and run.records_written == 1
    assert run.errors[0]["source_id"] == "rr_bad" and run.errors[0]["transform"] == "replay_result"
    assert EvidenceRecord.objects.get().task_type == "replay"


def test_a_broken_replay_source_is_reported_not_fatal(kb_dir, make_interaction, monkeypatch):
    def iter_replay_run_dicts(*, since, until):
        raise ImportError("replay selectors unavailable")

    _replay_source(monkeypatch, iter_replay_run_dicts)
    make_interaction("search")
    run = services.build_evidence_index()
    assert run.status == "succeeded" and run.records_written == 1
    assert run.errors[0]["transform"] == "replay_result" and "replay selectors unavailable" in run.errors[0]["message"]


# ----------------------------------------------------------------------- storage edge cases


def test_a_record_the_database_refuses_fails_alone(kb_dir, db, monkeypatch):
    monkeypatch.setattr(transforms, "MAX_SOURCE_ID_CHARS", 1000)  # let a 300-char id through to the 200-char column
    write_inbox(kb_dir, "c.jsonl", [chat_log_line("ok-1"), chat_log_line("x" * 300), chat_log_line("ok-2")])
    run = services.build_evidence_index()
    assert run.status == "succeeded"
    assert run.records_written == 2 and run.errors_count == 1
    assert run.errors[0]["source_id"] == "x" * 300 and run.errors[0]["message"].startswith("not stored:")
    assert sorted(EvidenceRecord.objects.values_list("source_id", flat=True)) == ["ok-1", "ok-2"]
    assert len(partition_lines(kb_dir)) == 2


def test_a_run_that_cannot_get_the_lock_is_skipped_and_writes_nothing(kb_dir, make_interaction, other_connection_holding_the_lock):
    make_interaction("search")
    run = services.build_evidence_index()
    assert run.status == "skipped" and "busy" in run.error
    assert run.started_at is None and run.records_written == 0
    assert not EvidenceRecord.objects.exists()
    assert json.loads((kb_dir / "receipts" / f"materialize-{run.run_id}.json").read_text())["status"] == "skipped"
    assert services.running_materialize_run() == "(unknown)"


def test_a_finished_run_is_not_run_again(kb_dir, make_interaction):
    make_interaction("search")
    run = services.build_evidence_index()
    make_interaction("chat")
    again = services.run_materialize(run.run_id)
    assert again.records_written == 1 and EvidenceRecord.objects.count() == 1
    assert MaterializeRun.objects.count() == 1


def test_the_command_runs_in_process_with_sync(kb_dir, every_kind, capsys):
    from django.core.management import call_command

    call_command("materialize", "--sync", "--day", DAY)
    out = capsys.readouterr().out
    assert "succeeded (range)" in out and "written 9" in out and f"evidence/day={DAY}/run-" in out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="rebuild_day cannot be combined"):
        call_command("materialize", "--sync", "--day", DAY, "--rebuild-day", DAY)
