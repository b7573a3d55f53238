"""Retention of the interaction log and the playbook memory (issue 23): both grow with every request,
and under steady load they would grow without bound. A retention run (job kind `retention`) bounds
them without giving up what SPEC §3.5, §4.6 and §4.7 promise:

- **Interactions** that occurred more than INTERACTION_RETENTION_DAYS ago are deleted only when they
  have an evidence record, and only while this run holds the materializer's lock — so every record
  counted belongs to a run that has ended and written its receipt. An interaction without evidence
  (never materialized, or its transform failed) is kept however old it is, and counted as kept.
  Evidence records are never deleted, and `--rebuild-day` writes a day's partition from the evidence
  table, so a rebuilt day stays byte-identical on either side of the horizon.
- **Playbooks** created more than PLAYBOOK_ARCHIVE_AFTER_DAYS ago (default ten half-lives: decay
  below 1/1000) move to the archive table (apps.playbooks.ArchivedPlaybook), where no search reads
  them. None is deleted.

What changes at the horizon: a day past it can no longer be re-derived from its sources — a range run
(`--since`/`--day`) over it finds no interactions, so a new transform version does not reach it (its
records keep the version they were written with); `GET /api/v1/interactions/{id}` answers 404 for a
deleted row; and a feedback on a deleted interaction is still recorded but cannot name its target's
evidence id.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.errors import Conflict
from apps.core.jobs import JobContext, JobOutcome, enqueue_after_commit, run_job
from apps.core.choices import ACTIVE_STATUSES
from apps.evidence.choices import SourceKind
from apps.evidence.models import EvidenceRecord, RetentionRun
from apps.evidence.services import release_materialize_lock, try_materialize_lock
from apps.interactions.models import Interaction
from apps.playbooks.services import archive_playbooks

logger = logging.getLogger(__name__)

_HAS_EVIDENCE = f"""
EXISTS (SELECT 1 FROM {EvidenceRecord._meta.db_table} e
        WHERE e.source_kind = '{SourceKind.INTERACTION}' AND e.source_id = i.id::text)
"""
# Oldest first, a batch per transaction; SKIP LOCKED: a row some transaction holds is left for next time.
_DELETE_BATCH_SQL = f"""
DELETE FROM {Interaction._meta.db_table} WHERE id IN (
    SELECT i.id FROM {Interaction._meta.db_table} i
    WHERE i.occurred_at < %s AND {_HAS_EVIDENCE}
    ORDER BY i.occurred_at LIMIT %s FOR UPDATE SKIP LOCKED
)
"""
_COUNT_KEPT_SQL = f"SELECT count(*) FROM {Interaction._meta.db_table} i WHERE i.occurred_at < %s AND NOT {_HAS_EVIDENCE}"


def retention_cutoffs(now: datetime | None = None) -> tuple[datetime, datetime]:
    """(interaction cutoff, playbook cutoff) from the settings, relative to `now`."""
    now = now or timezone.now()
    return (
        now - timedelta(days=settings.INTERACTION_RETENTION_DAYS),
        now - timedelta(days=settings.PLAYBOOK_ARCHIVE_AFTER_DAYS),
    )


def create_retention_run(*, actor: str = "", now: datetime | None = None, retry_of: RetentionRun | None = None) -> RetentionRun:
    """A queued run whose cutoffs are fixed now (a retry or a late start removes nothing newer)."""
    interaction_cutoff, playbook_cutoff = retention_cutoffs(now)
    return RetentionRun.objects.create(
        interaction_cutoff=interaction_cutoff, playbook_cutoff=playbook_cutoff, created_by=actor, retry_of=retry_of
    )


def start_retention_run(*, actor: str = "", retry_of: RetentionRun | None = None) -> RetentionRun:
    """Queue a run on the evidence queue; 409 `retention_busy` while another is queued or running."""
    with transaction.atomic():
        with connection.cursor() as cursor:  # two launches at once: the second waits, then sees the first
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('lakehouse-retention-start'))")
        busy = RetentionRun.objects.filter(status__in=ACTIVE_STATUSES).first()
        if busy is not None:
            raise Conflict(f"Retention run {busy.pk} is {busy.status}; try again when it has finished.", code="retention_busy")
        run = create_retention_run(actor=actor, retry_of=retry_of)
        enqueue_after_commit(run)
    run.refresh_from_db()
    return run


def relaunch_retention_run(run: RetentionRun, actor: str) -> RetentionRun:
    """A retry: a new run with cutoffs computed now (never older rows than the settings allow)."""
    return start_retention_run(actor=actor, retry_of=run)


def apply_retention(*, actor: str = "", now: datetime | None = None) -> RetentionRun:
    """Create a run and execute it in this process (`manage.py retention --sync`, tests, benchmarks)."""
    run = create_retention_run(actor=actor, now=now)
    return run_retention(run.pk)


def run_retention(run_id: int) -> RetentionRun:
    """The task's body, through the job runner. Idempotent: each batch is one transaction and a re-run
    finds only what is still past its cutoff. A cancel stops it at the next batch boundary."""

    def work(run: RetentionRun, context: JobContext) -> JobOutcome:
        notes: list[str] = []
        if try_materialize_lock():
            try:
                deleted = _delete_materialized_interactions(run, context)
                with connection.cursor() as cursor:
                    cursor.execute(_COUNT_KEPT_SQL, [run.interaction_cutoff])
                    kept = cursor.fetchone()[0]
            finally:
                release_materialize_lock()
            RetentionRun.objects.filter(pk=run.pk).update(interactions_deleted=deleted, interactions_kept=kept)
            if kept:
                notes.append(f"{kept} interactions past the horizon have no evidence record yet and were kept (run materialize)")
        else:
            notes.append("a materialize run was executing: no interaction was deleted this time")
        context.set_progress(50.0)

        def archived_so_far(count: int) -> None:
            RetentionRun.objects.filter(pk=run.pk).update(playbooks_archived=count)
            context.raise_if_cancelled()

        archived = archive_playbooks(older_than=run.playbook_cutoff, batch_size=settings.RETENTION_BATCH_SIZE, on_batch=archived_so_far)
        return JobOutcome(fields={"playbooks_archived": archived, "note": "; ".join(notes)})

    run = run_job(RetentionRun, run_id, work)
    logger.info(
        "retention run %s %s: %s interactions deleted, %s kept, %s playbooks archived",
        run.pk, run.status, run.interactions_deleted, run.interactions_kept, run.playbooks_archived,
    )
    return run


def _delete_materialized_interactions(run: RetentionRun, context: JobContext) -> int:
    deleted = 0
    batch = settings.RETENTION_BATCH_SIZE
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_DELETE_BATCH_SQL, [run.interaction_cutoff, batch])
            count = cursor.rowcount
        deleted += count
        if count:
            RetentionRun.objects.filter(pk=run.pk).update(interactions_deleted=deleted)
        if count < batch:
            return deleted
        context.raise_if_cancelled()
