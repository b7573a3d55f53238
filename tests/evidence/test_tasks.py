"""End to end through a real Celery worker process, and two runs at once (committed data, threads)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from apps.evidence import services
from apps.evidence.models import EvidenceRecord, InboxFile, MaterializeRun
from apps.interactions.models import Interaction
from tests.evidence.conftest import AT, KINDS, chat_log_line, interaction_kwargs, partition_lines, write_inbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clean_evidence(db):
    """Transactional tests see rows other sessions committed; start from empty evidence tables."""
    for model in (EvidenceRecord, InboxFile, MaterializeRun, Interaction):
        model.objects.all().delete()
    yield


def _interactions(count: int) -> None:
    Interaction.objects.bulk_create(
        [
            Interaction(kind=kind, occurred_at=AT, actor="t", **{"ok": True, "errors": [], **interaction_kwargs(kind)})
            for kind in (KINDS[i % len(KINDS)] for i in range(count))
        ]
    )


@pytest.mark.celery_worker
def test_the_task_materializes_through_a_real_worker(kb_dir, clean_evidence, celery_worker_process):
    _interactions(16)
    write_inbox(kb_dir, "w.jsonl", [chat_log_line("c-1")])
    run = services.start_materialize_run(actor="e2e")  # autocommit: dispatched at once
    assert run.task_id

    deadline = time.monotonic() + 60
    while run.status in ("queued", "running"):
        assert time.monotonic() < deadline, f"run still {run.status}; see var/test-celery-worker.log"
        time.sleep(0.2)
        run.refresh_from_db()

    assert run.status == "succeeded", run.error
    assert run.records_written == 17 and run.sources_scanned["interaction"] == 16 and run.sources_scanned["chat_log"] == 1
    assert EvidenceRecord.objects.filter(run=run).count() == 17
    # The worker wrote into the KB_DIR the run was created with (this test's tmp dir).
    assert len(partition_lines(kb_dir)) == 17
    assert (kb_dir / "receipts" / f"materialize-{run.run_id}.json").exists()


def test_two_runs_at_once_do_not_double_write(kb_dir, clean_evidence):
    _interactions(600)
    start = threading.Barrier(2)
    runs: list[MaterializeRun] = []

    def materialize() -> None:
        try:
            start.wait()
            runs.append(services.build_evidence_index(actor=threading.current_thread().name))
        finally:
            connection.close()

    threads = [threading.Thread(target=materialize, name=f"t{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(run.status for run in runs)
    # Either the second found the lock taken (skipped) or it ran after the first and found nothing new.
    assert statuses in (["skipped", "succeeded"], ["succeeded", "succeeded"])
    assert sum(run.records_written for run in runs) == 600
    assert EvidenceRecord.objects.count() == 600
    assert len(partition_lines(kb_dir)) == 600
