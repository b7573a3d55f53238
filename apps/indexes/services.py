"""Writes on vector indexes: registration, version bumps, reset, rebuild and re-embed (SPEC §3.4, §4.9).

The table is the source of truth and the HNSW index is derived from it: a reset empties the table and
leaves a working empty index; a rebuild re-derives the index with REINDEX CONCURRENTLY, so searches
keep working; a re-embed recomputes the vectors from each row's text with the current provider.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from apps.core.choices import JobStatus
from apps.core.errors import Conflict, InvalidInput
from apps.core.jobs import JobContext, enqueue_after_commit, run_job
from apps.indexes import version_mirror
from apps.indexes.choices import IndexJobKind, IndexState
from apps.indexes.models import IndexJob, VectorIndex
from apps.indexes.registry import all_specs, get_spec

logger = logging.getLogger(__name__)


def build_parameters(name: str) -> dict[str, int]:
    """The HNSW parameters index `name` is built with now: what a build or a rebuild applies."""
    return {"hnsw_m": settings.HNSW_M, "hnsw_ef_construction": getattr(settings, get_spec(name).ef_construction_setting)}


def ensure_vector_index(name: str) -> VectorIndex:
    """The registry row of a registered index, created on first use."""
    spec = get_spec(name)
    model = spec.model()
    index, _ = VectorIndex.objects.get_or_create(
        name=name,
        defaults={
            "table": model._meta.db_table,
            "column": spec.column,
            "index_name": spec.index_name,
            "dim": model._meta.get_field(spec.column).dimensions,
            # Counted once, at creation, in the caller's transaction; the table's trigger keeps it after.
            "row_count": model.objects.count if spec.keeps_row_count else None,
            **build_parameters(name),
        },
    )
    return index


def record_index_build(name: str) -> None:
    """The index was just (re)built with the current build parameters: the registry row says so."""
    VectorIndex.objects.filter(name=name).update(**build_parameters(name))


def ensure_all_vector_indexes() -> list[VectorIndex]:
    return [ensure_vector_index(spec.name) for spec in all_specs()]


def bump_index_version(name: str) -> int:
    """Bump the version inside the caller's transaction. Call it last: it takes the registry row lock,
    which also orders writers against a concurrent reset. (The workers table bumps its version from a
    trigger as well, so writes that bypass the services — admin edits, bulk updates — count too.)"""
    return _bump(name)[0]


def bump_counted_index_version(name: str) -> tuple[int, int]:
    """`bump_index_version`, and the rows in the index's table: the registry row's counter, which a
    trigger on the table keeps (VectorIndexSpec.keeps_row_count), read by the same UPDATE."""
    if not get_spec(name).keeps_row_count:
        raise ValueError(f"index {name!r} keeps no row count")
    return _bump(name)


def _bump(name: str) -> tuple[int, int | None]:
    bumped = _increment_version(name)
    if bumped is None:  # first use: create the registry row (an ORM get_or_create on every bump cost ~0.5 ms)
        ensure_vector_index(name)
        bumped = _increment_version(name)
    version_mirror.version_changing(name, bumped[0])
    return bumped


def _increment_version(name: str) -> tuple[int, int | None] | None:
    """The registry row's version + 1 and its row count, taking its row lock; None when the row does
    not exist yet."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE indexes_vectorindex SET version = version + 1, updated_at = now() WHERE name = %s RETURNING version, row_count", [name]
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def reset_index(name: str, *, confirm: str | None = None) -> VectorIndex:
    """Empty the index's table, leaving a working empty HNSW index; safe under concurrent writes.

    TRUNCATE waits for in-flight inserts and blocks new ones until commit; the version bump comes after
    it (same lock order as writers: table, then registry row), so writers whose version is above the
    reset's version are exactly the rows that survive.
    """
    spec = get_spec(name)
    if spec.reset_needs_confirmation and confirm != name:
        raise InvalidInput(
            f"Resetting {name!r} deletes its data; repeat the index name to confirm (confirm={name}).",
            code="confirmation_required",
            fields={"confirm": [f"must be {name!r}"]},
        )
    index = ensure_vector_index(name)
    if _live_job(index) is not None:
        raise Conflict(f"Index {name!r} is busy ({index.state}); try again when it is ready.", code="index_busy")
    with transaction.atomic():
        if spec.reset is not None:  # an optional column of a shared table: clear the column only
            spec.reset()
        else:
            with connection.cursor() as cursor:
                # Fire deferred FK checks now: TRUNCATE refuses to run with trigger events pending.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f'TRUNCATE TABLE "{index.table}"')
        reset_version = bump_index_version(name)
        VectorIndex.objects.filter(name=name).update(last_reset_at=timezone.now())
    index.refresh_from_db()
    # Report the reset's own version: writers committing right after it may already have bumped the
    # row again, and callers compare their versions against this one.
    index.version = reset_version
    return index


def _live_job(index: VectorIndex) -> IndexJob | None:
    """A queued or running job of this index that can still be alive. A job older than the Celery
    hard time limit died with its worker: it no longer blocks the index (nor does the state it left)."""
    cutoff = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    return index.jobs.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], created_at__gte=cutoff).first()


def _start_job(name: str, kind: str, actor: str, retry_of: IndexJob | None = None, *, only_missing: bool = False, dispatch: bool = True) -> IndexJob:
    index = ensure_vector_index(name)
    with transaction.atomic():
        locked = VectorIndex.objects.select_for_update().get(pk=index.pk)
        if _live_job(locked) is not None:
            raise Conflict(f"Index {name!r} already has a job running; try again when it is ready.", code="index_busy")
        job = IndexJob.objects.create(index=locked, kind=kind, created_by=actor, retry_of=retry_of, only_missing=only_missing)
        if dispatch:
            enqueue_after_commit(job)
    job.refresh_from_db()
    return job


def start_rebuild(name: str, *, actor: str = "", retry_of: IndexJob | None = None) -> IndexJob:
    return _start_job(name, IndexJobKind.REBUILD, actor, retry_of)


def start_reembed(
    name: str, *, actor: str = "", retry_of: IndexJob | None = None, only_missing: bool = False, dispatch: bool = True
) -> IndexJob:
    """Queue a re-embed of every row (or, `only_missing`, of the rows whose vector is not from the
    current model) with the index's configured provider. 400 when the index cannot be re-embedded,
    its provider is not configured, or the provider's dimension is not the stored one."""
    spec = get_spec(name)
    if spec.reembed is None:
        raise InvalidInput(f"Index {name!r} cannot be re-embedded.", code="not_supported")
    reason = spec.unavailable_reason() if spec.unavailable_reason else None
    if reason:
        raise InvalidInput(f"Index {name!r} cannot be re-embedded now: {reason}.", code="provider_not_configured")
    if only_missing and spec.stale_rows is None:
        raise InvalidInput(
            f"Index {name!r} re-embeds every row; it cannot tell which are missing.", code="not_supported",
            fields={"only_missing": ["not supported by this index"]},
        )
    index = ensure_vector_index(name)
    dim = getattr(settings, spec.dim_setting)
    if index.dim != dim:
        raise InvalidInput(
            f"{spec.dim_setting} is {dim} but index {name!r} stores {index.dim}-dim vectors; "
            "changing the dimension needs a migration of the column and a fresh embedding.",
            code="dimension_mismatch",
        )
    return _start_job(name, IndexJobKind.REEMBED, actor, retry_of, only_missing=only_missing, dispatch=dispatch)


def relaunch_index_job(job: IndexJob, actor: str) -> IndexJob:
    """A retry: the same operation on the same index (and the same rows), as a new job."""
    if job.kind == IndexJobKind.REBUILD:
        return start_rebuild(job.index.name, actor=actor, retry_of=job)
    return start_reembed(job.index.name, actor=actor, retry_of=job, only_missing=job.only_missing)


def _run_job(job_id: int, state: str, work) -> IndexJob:
    """The job runner around an index operation; the index says `state` while it works."""

    def work_with_state(job: IndexJob, context: JobContext) -> None:
        VectorIndex.objects.filter(pk=job.index_id).update(state=state)
        try:
            work(job)
        finally:
            VectorIndex.objects.filter(pk=job.index_id).update(state=IndexState.READY)

    return run_job(IndexJob, job_id, work_with_state)


# How long a rebuild waits to change an index's build options (see _set_build_options).
BUILD_OPTIONS_LOCK_TIMEOUT = "2s"


def _set_build_options(cursor, index_name: str, parameters: dict[str, int]) -> None:
    """Give the index the build options a concurrent rebuild should use: it copies the old index's.

    Only when they differ: changing them takes an ACCESS EXCLUSIVE lock on the live index, which waits
    for every open transaction that has used it, and searches queue behind the waiting lock. So it
    waits BUILD_OPTIONS_LOCK_TIMEOUT at most, and the job fails with the reason rather than stall
    searches. (The old graph keeps working meanwhile: pgvector reads m from its meta page.)
    """
    wanted = [f"ef_construction={int(parameters['hnsw_ef_construction'])}", f"m={int(parameters['hnsw_m'])}"]
    cursor.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", [index_name])
    row = cursor.fetchone()
    if row is not None and set(wanted) <= set(row[0] or []):
        return
    options = ", ".join(wanted)
    cursor.execute(f"SET lock_timeout = '{BUILD_OPTIONS_LOCK_TIMEOUT}'")
    try:
        cursor.execute(f'ALTER INDEX "{index_name}" SET ({options})')
    except OperationalError as error:
        raise Conflict(
            f"index {index_name} is held by a long-running transaction, so its new build options "
            f"({options}) could not be set within {BUILD_OPTIONS_LOCK_TIMEOUT}; retry the rebuild ({error})",
            code="index_busy",
        ) from error
    finally:
        cursor.execute("RESET lock_timeout")


def run_rebuild(job_id: int) -> IndexJob:
    """REINDEX INDEX CONCURRENTLY with the current build parameters (HNSW_M and the index's
    ef_construction setting): the old index serves searches until the new one is swapped in."""

    def work(job: IndexJob) -> None:
        index = job.index
        parameters = build_parameters(index.name)
        with connection.cursor() as cursor:
            _set_build_options(cursor, index.index_name, parameters)
            # The 768-dim vectors live out of line (TOAST), which leaves the heap under PostgreSQL's
            # minimum size for a parallel scan; allowing it halves the HNSW build on 2 cores.
            cursor.execute("SET maintenance_work_mem = %s", [settings.PG_BUILD_MAINTENANCE_WORK_MEM])
            cursor.execute("SET min_parallel_table_scan_size = 0")
            cursor.execute(f'REINDEX INDEX CONCURRENTLY "{index.index_name}"')
            cursor.execute("RESET min_parallel_table_scan_size")
            cursor.execute("RESET maintenance_work_mem")
        with transaction.atomic():
            bump_index_version(index.name)
            VectorIndex.objects.filter(pk=index.pk).update(last_rebuilt_at=timezone.now(), **parameters)

    return _run_job(job_id, IndexState.REBUILDING, work)


def run_reembed(job_id: int, *, batch_size: int | None = None) -> IndexJob:
    """Recompute every row's vector with the current provider, in primary-key batches with progress."""

    def work(job: IndexJob) -> None:
        spec = get_spec(job.index.name)
        model = spec.model()
        rows = model.objects.filter(spec.stale_rows()) if job.only_missing else model.objects.all()
        size = batch_size or settings.INDEX_REEMBED_BATCH_SIZE
        total = rows.count()
        IndexJob.objects.filter(pk=job.pk).update(rows_total=total)
        done, last_pk, started = 0, 0, time.monotonic()
        while True:
            pks = list(rows.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:size])
            if not pks:
                break
            with transaction.atomic():
                spec.reembed(pks)
                bump_index_version(spec.name)
            done += len(pks)
            last_pk = pks[-1]
            IndexJob.objects.filter(pk=job.pk).update(rows_done=done, progress=round(100.0 * done / max(total, 1), 2))
        logger.info("re-embedded %s rows of %s in %.1fs", done, spec.name, time.monotonic() - started)

    return _run_job(job_id, IndexState.REEMBEDDING, work)


def run_index_job(job_id: int) -> IndexJob:
    """Run a rebuild or re-embed job, whichever the row is."""
    if IndexJob.objects.filter(pk=job_id, kind=IndexJobKind.REEMBED).exists():
        return run_reembed(job_id)
    return run_rebuild(job_id)
