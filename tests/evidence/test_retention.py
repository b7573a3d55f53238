"""Retention (issue 23, apps.evidence.retention) on the real database: only materialized interactions
past the horizon go, evidence and rebuilt days are untouched, old playbooks are archived and stop
boosting, and the run is a job with its counts."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone

import pytest
from django.core.management import call_command

from apps.core.job_kinds import get_job_kind
from apps.evidence import retention, services
from apps.evidence.models import EvidenceRecord, RetentionRun
from apps.interactions.models import Interaction
from apps.playbooks.boost import decay
from apps.playbooks.models import ArchivedPlaybook, Playbook
from tests.evidence.conftest import KINDS, interaction_kwargs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=120)  # past the 90-day horizon
RECENT = NOW - timedelta(days=30)  # inside it


def _sha_of_day(kb_dir, day: date) -> str:
    files = sorted((kb_dir / "evidence" / f"day={day.isoformat()}").glob("*.jsonl"))
    assert len(files) == 1, files
    return hashlib.sha256(files[0].read_bytes()).hexdigest()


def test_only_materialized_interactions_past_the_horizon_are_deleted(kb_dir, make_interaction, settings):
    settings.INTERACTION_RETENTION_DAYS = 90
    old_done = [make_interaction(kind, occurred_at=OLD) for kind in KINDS]
    recent_done = [make_interaction(kind, occurred_at=RECENT) for kind in KINDS]
    assert services.build_evidence_index(actor="t").status == "succeeded"
    old_pending = make_interaction("search", occurred_at=OLD)  # logged after the run: no evidence yet
    evidence_before = EvidenceRecord.objects.count()

    run = retention.apply_retention(actor="t", now=NOW)

    assert run.status == "succeeded", run.error
    assert run.interactions_deleted == len(old_done) and run.interactions_kept == 1
    assert "have no evidence record yet" in run.note
    remaining = set(Interaction.objects.values_list("id", flat=True))
    assert remaining == {row.id for row in recent_done} | {old_pending.id}
    # Evidence is never deleted: the records of the deleted sources are all still there.
    assert EvidenceRecord.objects.count() == evidence_before
    assert EvidenceRecord.objects.filter(source_id__in=[str(row.id) for row in old_done]).count() == len(old_done)

    # Materialized later, the old one goes on the next run.
    assert services.build_evidence_index(actor="t").status == "succeeded"
    again = retention.apply_retention(actor="t", now=NOW)
    assert again.interactions_deleted == 1 and again.interactions_kept == 0
    assert set(Interaction.objects.values_list("id", flat=True)) == {row.id for row in recent_done}


def test_a_rebuilt_day_past_the_horizon_is_byte_identical_before_and_after_its_sources_go(kb_dir, make_interaction):
    for kind in KINDS:
        make_interaction(kind, occurred_at=OLD)
    services.build_evidence_index(actor="t")
    before = services.build_evidence_index(rebuild_day=OLD.date())
    sha_before = _sha_of_day(kb_dir, OLD.date())

    assert retention.apply_retention(actor="t", now=NOW).interactions_deleted == len(KINDS)
    assert not Interaction.objects.exists()

    after = services.build_evidence_index(rebuild_day=OLD.date())
    assert before.status == after.status == "succeeded"
    assert _sha_of_day(kb_dir, OLD.date()) == sha_before
    assert after.files[0]["sha256"] == before.files[0]["sha256"] and after.files[0]["records"] == len(KINDS)


def test_no_interaction_is_deleted_while_a_materialize_run_holds_the_lock(kb_dir, make_interaction, other_connection_holding_the_lock):
    row = make_interaction("search", occurred_at=OLD)
    EvidenceRecord.objects.create(  # as if the running run had just inserted its record
        evidence_id="ev_" + "0" * 32, day=OLD.date(), occurred_at=OLD, source_kind="interaction", source_id=str(row.id),
        transform="search_session", transform_version=1, task_type="rank_workers", verdict_ok=True,
    )
    run = retention.apply_retention(actor="t", now=NOW)
    assert run.status == "succeeded" and run.interactions_deleted == 0
    assert "materialize run was executing" in run.note
    assert Interaction.objects.filter(pk=row.pk).exists()


def _playbook(worker_ids, *, age_days: float, query: str = "forklift operator night shift") -> Playbook:
    from apps.indexes.embedders import embed_query

    playbook = Playbook.objects.create(query=query, query_embedding=embed_query(query)[0], worker_ids=worker_ids, outcome="filled", filters={})
    Playbook.objects.filter(pk=playbook.pk).update(created_at=datetime.now(timezone.utc) - timedelta(days=age_days))
    return playbook


def test_playbooks_past_the_decay_horizon_are_archived_and_no_longer_boost(search_corpus, coordinator_client, settings):
    from tests.searching import search

    settings.PLAYBOOK_HALF_LIFE_DAYS = 30.0
    settings.PLAYBOOK_ARCHIVE_AFTER_DAYS = 300.0
    query = "forklift operator night shift"
    deep = search(coordinator_client, query=query, k=100, filters={"role": "forklift_operator"})["results"]
    old_workers, young_workers = [deep[-1]["worker_id"]], [deep[-2]["worker_id"]]
    old = _playbook(old_workers, age_days=301)
    young = _playbook(young_workers, age_days=299)
    assert decay(301, 30.0) < 0.001  # what "past the horizon" means: a weight below 1/1000

    def boosts() -> tuple[dict[str, float], set[int]]:
        body = search(coordinator_client, query=query, k=100, filters={"role": "forklift_operator"}, use_playbook=True)
        return {r["worker_id"]: r["playbook_boost"] for r in body["results"] if r["playbook_boost"]}, {p["id"] for p in body["playbooks_used"]}

    before, used_before = boosts()
    assert set(before) == {old_workers[0], young_workers[0]} and used_before == {old.pk, young.pk}

    run = retention.apply_retention(actor="t")
    assert run.playbooks_archived == 1
    archived = ArchivedPlaybook.objects.get(pk=old.pk)  # same id, same content, not deleted
    assert archived.query == query and archived.worker_ids == old_workers and archived.outcome == "filled"
    assert list(Playbook.objects.values_list("pk", flat=True)) == [young.pk]

    after, used_after = boosts()  # the memory's version moved: no cached boosted search survives
    assert set(after) == {young_workers[0]} and used_after == {young.pk}
    assert after[young_workers[0]] == pytest.approx(before[young_workers[0]])


def test_the_run_is_a_job_listed_with_its_counts_and_the_command_reports_them(kb_dir, make_interaction, staff_client, capsys, settings):
    settings.INTERACTION_RETENTION_DAYS = 1
    make_interaction("search", occurred_at=datetime.now(timezone.utc) - timedelta(days=3))
    services.build_evidence_index(actor="t")

    call_command("retention", "--sync")
    out = capsys.readouterr().out
    assert "succeeded: 1 interactions deleted" in out and "0 playbooks archived" in out

    run = RetentionRun.objects.get()
    listed = staff_client.get("/api/v1/jobs/", {"kind": "retention"}).json()
    assert listed["count"] == 1
    (row,) = listed["results"]
    assert row["kind"] == "retention" and row["status"] == "succeeded" and row["job_id"] == run.pk
    assert row["interactions_deleted"] == 1 and row["playbooks_archived"] == 0 and row["interactions_kept"] == 0
    kind = get_job_kind("retention")
    assert kind.idempotent and kind.cancel_running


def test_a_second_run_is_refused_while_one_is_queued(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    RetentionRun.objects.create(interaction_cutoff=NOW, playbook_cutoff=NOW)  # queued
    from apps.core.errors import Conflict

    with pytest.raises(Conflict):
        retention.start_retention_run(actor="t")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_retention_run_queued_like_beat_queues_it_runs_on_the_real_worker(kb_dir, celery_worker_process, settings):
    import time

    from apps.evidence.tasks import scheduled_retention_task

    for model in (EvidenceRecord, Interaction, RetentionRun):
        model.objects.all().delete()
    for kind in KINDS:
        Interaction.objects.create(kind=kind, occurred_at=OLD, actor="t", **{"ok": True, "errors": [], **interaction_kwargs(kind)})
    assert services.build_evidence_index(actor="t").status == "succeeded"
    # The worker has its own settings (90 days by default): OLD is past them.
    scheduled_retention_task()  # what Celery beat calls: queue a run
    run = RetentionRun.objects.get()
    assert run.created_by == "celery beat"
    deadline = time.monotonic() + 120
    while not run.is_finished:
        assert time.monotonic() < deadline, "the retention run never ended"
        time.sleep(0.2)
        run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.interactions_deleted == len(KINDS) and not Interaction.objects.exists()
    assert EvidenceRecord.objects.count() == len(KINDS)
