"""Writes of the workers app: ingest (SPEC §4.1) and re-embedding.

Ingest streams the source in batches: read → normalize → reject bad rows (with line and reason) →
skip rows whose content_hash is unchanged → embed the rest → binary COPY into a staging table →
one upsert by worker_id. Every batch commits on its own and bumps the `workers` index version, so a
killed job loses at most its current batch and a re-run (same job or a new one) converges: the
upsert makes every good row land exactly once.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import psycopg
from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from pgvector import HalfVector
from pgvector.psycopg import register_vector

from apps.core.choices import TERMINAL_STATUSES
from apps.core.errors import InvalidInput
from apps.core.jobs import JobCancelled, JobContext, enqueue_after_commit, run_job
from apps.indexes.embedders import get_embedder, get_semantic_embedder, semantic_enabled
from apps.indexes.services import bump_index_version, record_index_build
from apps.workers.profile import profile_text
from apps.workers.choices import IngestFormat
from apps.workers.geo import zip_coordinates
from apps.workers.models import WORKER_EMBEDDING_INDEX, IngestJob, Worker
from apps.workers.normalize import NormalizedRow, Rejection, normalize_row
from apps.workers.sources import count_rows, detect_format, read_rows

logger = logging.getLogger(__name__)

# What a single bad value raises on the raw COPY connection: SQLSTATE class 22 (psycopg's DataError,
# or Django's when wrapped) and text psycopg cannot encode.
_REFUSED_VALUE = (psycopg.DataError, DataError, UnicodeEncodeError)

# The order a batch's rows are written in: the columns of the B-tree the exact path reads
# (worker_state_city_role), so the rows one filter keeps sit together in the heap.
INGEST_HEAP_ORDER = "state, city, role, worker_id"

# Columns written by ingest, in COPY order, with their PostgreSQL types for binary COPY.
_COLUMNS: list[tuple[str, str]] = [
    ("worker_id", "text"),
    ("first_name", "text"),
    ("last_name", "text"),
    ("email", "text"),
    ("phone", "text"),
    ("city", "text"),
    ("state", "text"),
    ("zip", "text"),
    ("role", "text"),
    ("skills", "text[]"),
    ("certifications", "text[]"),
    ("shift_preference", "varchar[]"),
    ("available_from", "date"),
    ("years_experience", "int4"),
    ("hourly_rate", "numeric"),
    ("reliability", "float8"),
    ("status", "text"),
    ("sms_opt_out", "bool"),
    ("bio", "text"),
    ("embedding", "halfvec"),
    ("embedding_model", "text"),
    ("content_hash", "text"),
    ("raw", "jsonb"),
    ("latitude", "float8"),
    ("longitude", "float8"),
    ("semantic_embedding", "vector"),
    ("semantic_model", "text"),
]
_DERIVED = {"embedding", "embedding_model", "content_hash", "raw", "latitude", "longitude", "semantic_embedding", "semantic_model"}
_FIELDS = [name for name, _ in _COLUMNS if name not in _DERIVED]


# ------------------------------------------------------------------------------------------ jobs


def resolve_ingest_path(path: str) -> Path:
    """A server-side path must resolve (after symlinks) inside one of INGEST_DIRS, and never inside
    KB_DIR (the evidence store sits under data/ by default and is not worker data)."""
    not_allowed = InvalidInput(
        "path must be a file inside one of the ingest directories",
        code="path_not_allowed",
        fields={"path": ["not a file inside an ingest directory"]},
    )
    try:
        resolved = Path(path).expanduser().resolve()
        allowed = any(resolved.is_relative_to(root) for root in settings.INGEST_DIRS)
        if not allowed or resolved.is_relative_to(settings.KB_DIR):
            raise not_allowed
        is_file = resolved.is_file()
    except (OSError, RuntimeError, ValueError):
        # A name too long for the filesystem (OSError), a symlink loop (RuntimeError), a NUL byte
        # (ValueError): the client named something that cannot be a file we read.
        raise not_allowed from None
    if not is_file:
        raise InvalidInput("no such file", code="invalid", fields={"path": ["does not exist or is not a file"]})
    return resolved


def _format_of(path: Path, fmt: str | None) -> str:
    try:
        fmt = fmt or detect_format(path)
    except ValueError as exc:
        raise InvalidInput(str(exc), fields={"format": [str(exc)]}) from None
    if fmt not in IngestFormat.values:
        raise InvalidInput(f"unknown format {fmt!r}", fields={"format": [f"must be one of {', '.join(IngestFormat.values)}"]})
    return fmt


def create_ingest_job(
    *,
    path: Path,
    fmt: str | None = None,
    drop: bool = False,
    limit: int | None = None,
    actor: str = "",
    dispatch: bool = True,
    retry_of: IngestJob | None = None,
) -> IngestJob:
    """Record a queued job and (after commit) hand it to the Celery worker."""
    fmt = _format_of(path, fmt)
    job = IngestJob.objects.create(source=str(path), format=fmt, drop=drop, limit=limit, created_by=actor, retry_of=retry_of)
    if dispatch:
        enqueue_after_commit(job)
    job.refresh_from_db()
    return job


def relaunch_ingest_job(job: IngestJob, actor: str) -> IngestJob:
    """A retry: the same file and options, as a new job (the job-kind registry's relaunch)."""
    return create_ingest_job(path=Path(job.source), fmt=job.format, drop=job.drop, limit=job.limit, actor=actor, retry_of=job)


@dataclass
class _Progress:
    rows_read: int = 0
    rows_written: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    texts_embedded: int = 0
    warnings_count: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: {"read_normalize_s": 0.0, "embed_s": 0.0, "write_s": 0.0, "index_s": 0.0})

    def reject(self, line: int, worker_id: str | None, reason: str) -> None:
        self.rows_rejected += 1
        if len(self.errors) < IngestJob.MAX_ERRORS:
            self.errors.append({"line": line, "worker_id": worker_id, "reason": reason})

    def warn(self, line: int, worker_id: str | None, reason: str) -> None:
        self.warnings_count += 1
        if len(self.warnings) < IngestJob.MAX_ERRORS:
            self.warnings.append({"line": line, "worker_id": worker_id, "reason": reason})


def run_ingest(job_id: int, *, on_progress: Callable[[IngestJob], None] | None = None) -> IngestJob:
    """Run (or re-run from the start) one ingest job through the job runner; safe to call again after
    a crash: every batch is an upsert, so a re-run converges on every good row exactly once. A cancel
    stops it at the next batch boundary; the batches already committed stay, counted."""

    def work(job: IngestJob, context: JobContext) -> None:
        started = time.monotonic()
        try:
            job.rows_total = count_rows(job.source)
            if job.limit:
                job.rows_total = min(job.rows_total, job.limit)
        except Exception:  # progress is a nicety; a file we cannot count is reported by the reader
            job.rows_total = None
        job.save(update_fields=["rows_total"])
        progress = _Progress()
        try:
            _ingest(job, progress, started, on_progress, context)
        finally:
            _save_progress(job, progress, started)

    job = run_job(IngestJob, job_id, work)
    release_upload(job)
    if on_progress:
        on_progress(job)
    return job


_PROGRESS_FIELDS = [
    "rows_read", "rows_written", "rows_unchanged", "rows_rejected", "texts_embedded", "warnings_count", "errors", "warnings",
    "timings", "rows_per_s", "progress",
]


def _save_progress(job: IngestJob, progress: _Progress, started: float) -> None:
    """The counters only: the job runner owns the status."""
    elapsed = max(time.monotonic() - started, 1e-6)
    for name in ("rows_read", "rows_written", "rows_unchanged", "rows_rejected", "texts_embedded", "warnings_count"):
        setattr(job, name, getattr(progress, name))
    job.errors, job.warnings = progress.errors, progress.warnings
    job.timings = {k: round(v, 3) for k, v in progress.timings.items()} | {"total_s": round(elapsed, 3)}
    job.rows_per_s = round(progress.rows_read / elapsed, 1)
    if job.rows_total:
        job.progress = round(min(100.0, 100.0 * progress.rows_read / job.rows_total), 2)
    job.save(update_fields=_PROGRESS_FIELDS)


def _ingest(job: IngestJob, progress: _Progress, started: float, on_progress, context: JobContext) -> None:
    embedder = get_embedder()
    if job.drop:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE TABLE {Worker._meta.db_table}")
            bump_index_version("workers")
    # Loading into an empty table is far faster without the HNSW index (each insert walks the graph);
    # build it once at the end instead. A job killed in between leaves no index: the re-run rebuilds it.
    bulk_load = not Worker.objects.exists() or not _hnsw_index_exists()
    if bulk_load:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {WORKER_EMBEDDING_INDEX}")

    first_line: dict[str, int] = {}  # worker_id → line of its first occurrence in this file
    remaining = job.limit
    cancelled = False
    for source_batch in read_rows(job.source, fmt=job.format, batch_size=settings.INGEST_BATCH_SIZE):
        if remaining is not None:
            if remaining <= 0:
                break
            source_batch = source_batch[:remaining]
            remaining -= len(source_batch)
        t0 = time.monotonic()
        accepted: list[tuple[int, NormalizedRow]] = []
        for line, raw in source_batch:
            progress.rows_read += 1
            result = normalize_row(raw)
            if isinstance(result, Rejection):
                progress.reject(line, result.worker_id, result.reason)
                continue
            if result.worker_id in first_line:
                progress.reject(line, result.worker_id, f"duplicate worker_id {result.worker_id!r} (first seen on line {first_line[result.worker_id]})")
                continue
            first_line[result.worker_id] = line
            for warning in result.warnings:
                progress.warn(line, result.worker_id, warning)
            if result.zip and zip_coordinates(result.zip) is None:
                # Not a rejection: the worker is still searchable, just not by radius (SPEC §4.3).
                progress.warn(line, result.worker_id, f"zip {result.zip!r} is not a known US ZIP: no coordinates, not found by radius search")
            accepted.append((line, result))
        progress.timings["read_normalize_s"] += time.monotonic() - t0
        _write_batch(accepted, progress, embedder)
        _save_progress(job, progress, started)
        if on_progress:
            on_progress(job)
        if context.cancel_requested():  # a batch boundary: everything before it is committed
            cancelled = True
            break

    if bulk_load or not _hnsw_index_exists():  # a cancelled load still leaves a working index
        t0 = time.monotonic()
        build_worker_hnsw_index()
        progress.timings["index_s"] += time.monotonic() - t0
    if cancelled:
        raise JobCancelled()


def _write_batch(rows: list[tuple[int, NormalizedRow]], progress: _Progress, embedder) -> None:
    """Write the changed rows of one batch; rows are (line, row) so a row the database refuses can be
    rejected with its line."""
    if not rows:
        return
    existing = dict(
        Worker.objects.filter(worker_id__in=[row.worker_id for _, row in rows]).values_list("worker_id", "content_hash")
    )
    changed = [(line, row) for line, row in rows if existing.get(row.worker_id) != row.content_hash or not row.content_hash]
    progress.rows_unchanged += len(rows) - len(changed)
    if not changed:
        return
    t0 = time.monotonic()
    texts = [profile_text(row.worker_fields()) for _, row in changed]
    vectors = embedder.embed(texts)
    progress.texts_embedded += len(changed)
    progress.timings["embed_s"] += time.monotonic() - t0
    semantic, semantic_model = [None] * len(changed), ""
    if semantic_enabled():
        # A changed profile always gets a fresh semantic vector (or none): a stale one would rank it
        # by text it no longer has.
        t0 = time.monotonic()
        semantic_embedder = get_semantic_embedder()
        semantic, semantic_model = list(semantic_embedder.embed(texts)), semantic_embedder.key
        progress.timings["semantic_embed_s"] = progress.timings.get("semantic_embed_s", 0.0) + time.monotonic() - t0
    t0 = time.monotonic()
    try:
        _upsert([row for _, row in changed], vectors, embedder.key, semantic, semantic_model)
        progress.rows_written += len(changed)
    except _REFUSED_VALUE:
        # A value the normalizer let through but the database refuses (a name longer than its
        # column): the batch rolled back; write its rows one by one so only the bad ones are lost.
        for (line, row), vector, semantic_vector in zip(changed, vectors, semantic):
            try:
                _upsert([row], vector[None, :], embedder.key, [semantic_vector], semantic_model)
            except _REFUSED_VALUE as exc:
                progress.reject(line, row.worker_id, f"the database refused a value: {_first_line(exc)}")
            else:
                progress.rows_written += 1
    progress.timings["write_s"] += time.monotonic() - t0


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _raw_connection():
    connection.ensure_connection()
    conn = connection.connection
    if not getattr(conn, "_lakehouse_vector_registered", False):
        register_vector(conn)
        conn._lakehouse_vector_registered = True
    return conn


def _upsert(rows: list[NormalizedRow], vectors: np.ndarray, embedding_model: str, semantic: list, semantic_model: str) -> None:
    """Binary COPY into a staging table, then one INSERT … ON CONFLICT: ~10x the ORM's row rate."""
    names = [name for name, _ in _COLUMNS]
    column_list = ", ".join(names)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names if name != "worker_id")
    table = Worker._meta.db_table
    with transaction.atomic():
        conn = _raw_connection()
        with conn.cursor() as cursor:
            # Column types only (no identity/NOT NULL); the session keeps it across batches (pooled connection).
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS worker_stage ON COMMIT DELETE ROWS AS SELECT {column_list} FROM {table} WITH NO DATA"
            )
            cursor.execute("TRUNCATE worker_stage")  # the batch may share an outer transaction with the last one
            with cursor.copy(f"COPY worker_stage ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([pg_type for _, pg_type in _COLUMNS])
                for row, vector, semantic_vector in zip(rows, vectors, semantic):
                    fields = row.worker_fields()
                    latitude, longitude = zip_coordinates(row.zip) or (None, None)
                    copy.write_row(
                        [fields[name] for name in _FIELDS]
                        + [HalfVector(vector), embedding_model, row.content_hash, _jsonb(row.raw), latitude, longitude]
                        + [semantic_vector, semantic_model if semantic_vector is not None else ""]
                    )
            # Rows land in the heap in filter order: a city's workers then share pages, so the exact
            # path of a city, role + city or radius search reads ~4 rows per page instead of one
            # (at 100k, one city's 2,930 rows sat on 2,900 pages; sorted, on ~750, and the exact
            # search ran in half the time — benchmarks/README.md, eighth pass).
            cursor.execute(
                f"INSERT INTO {table} ({column_list}, created_at, updated_at) "
                f"SELECT {column_list}, now(), now() FROM worker_stage ORDER BY {INGEST_HEAP_ORDER} "
                f"ON CONFLICT (worker_id) DO UPDATE SET {updates}, updated_at = now()"
            )
        bump_index_version("workers")


def _jsonb(value: dict):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _hnsw_index_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [WORKER_EMBEDDING_INDEX])
        return cursor.fetchone()[0]


def build_worker_hnsw_index() -> None:
    """(Re)create the HNSW index with the current build parameters (as the model defines it), using
    both cores.

    Two ingests finishing at once would race on CREATE INDEX IF NOT EXISTS; a transaction-scoped
    advisory lock makes the second one wait and then find the index there.
    """
    table = Worker._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [WORKER_EMBEDDING_INDEX])
        cursor.execute("SET LOCAL maintenance_work_mem = %s", [settings.PG_BUILD_MAINTENANCE_WORK_MEM])
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
        # Without this the parallel build silently gets 0 workers whenever the heap is < 8 MB.
        cursor.execute("SET LOCAL min_parallel_table_scan_size = 0")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {WORKER_EMBEDDING_INDEX} ON {table} USING hnsw (embedding halfvec_cosine_ops) "
            f"WITH (m = {int(settings.HNSW_M)}, ef_construction = {int(settings.HNSW_EF_CONSTRUCTION)})"
        )
        record_index_build("workers")
        bump_index_version("workers")


# ---------------------------------------------------------------------------------- coordinates


def backfill_worker_coordinates(conn=None) -> int:
    """Set latitude/longitude from the ZIP on every worker that has a ZIP but no coordinates (rows
    ingested before coordinates existed). One UPDATE over the distinct ZIPs; returns rows updated.
    ZIPs unknown to `zipcodes` stay without coordinates."""
    conn = conn or connection
    table = Worker._meta.db_table
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT zip FROM {table} WHERE latitude IS NULL AND zip <> ''")
        known = [(z, *coordinates) for (z,) in cursor.fetchall() if (coordinates := zip_coordinates(z))]
        if not known:
            return 0
        values = ", ".join(["(%s, %s::float8, %s::float8)"] * len(known))
        cursor.execute(
            f"UPDATE {table} AS w SET latitude = c.lat, longitude = c.lon FROM (VALUES {values}) AS c(zip, lat, lon) "
            f"WHERE w.zip = c.zip AND w.latitude IS NULL",
            [value for row in known for value in row],
        )
        return cursor.rowcount


# ------------------------------------------------------------------------------------ re-embed


def reembed_workers(pks: list[int]) -> int:
    """Recompute the embeddings of the given workers with the current provider (called per batch by
    the index re-embed job, inside its transaction)."""
    embedder = get_embedder()
    workers = list(Worker.objects.filter(pk__in=pks).order_by("pk"))
    vectors = embedder.embed([profile_text(worker_as_dict(worker)) for worker in workers])
    for worker, vector in zip(workers, vectors):
        worker.embedding = vector
        worker.embedding_model = embedder.key
    Worker.objects.bulk_update(workers, ["embedding", "embedding_model"], batch_size=500)
    return len(workers)


def embed_semantic_column(pks: list[int]) -> int:
    """(Re)compute only the semantic vectors of the given workers (the lexical vector and everything
    else stay): what switching SEMANTIC_EMBEDDING_PROVIDER on, or changing its model, needs."""
    embedder = get_semantic_embedder()
    workers = list(Worker.objects.filter(pk__in=pks).defer("embedding").order_by("pk"))
    vectors = embedder.embed([profile_text(worker_as_dict(worker)) for worker in workers])
    for worker, vector in zip(workers, vectors):
        worker.semantic_embedding = vector
        worker.semantic_model = embedder.key
    Worker.objects.bulk_update(workers, ["semantic_embedding", "semantic_model"], batch_size=500)
    return len(workers)


def clear_semantic_column() -> None:
    """Reset of the `workers_semantic` index: every worker loses its semantic vector (searches rank by
    the lexical vector alone until a re-embed); the corpus stays."""
    Worker.objects.exclude(semantic_embedding=None, semantic_model="").update(semantic_embedding=None, semantic_model="")


def semantic_unavailable_reason() -> str | None:
    """Why the semantic column cannot be embedded now (None when it can)."""
    return None if semantic_enabled() else "SEMANTIC_EMBEDDING_PROVIDER is not set"


def semantic_stale_rows() -> Q:
    """Workers whose semantic vector is missing or from another model than the configured one."""
    return ~Q(semantic_model=get_semantic_embedder().key) | Q(semantic_embedding=None)


def worker_as_dict(worker: Worker) -> dict:
    """A worker as the plain dict the pure code (profile text, validators) works on."""
    return {
        "worker_id": worker.worker_id,
        "first_name": worker.first_name,
        "last_name": worker.last_name,
        "email": worker.email,
        "phone": worker.phone,
        "city": worker.city,
        "state": worker.state,
        "zip": worker.zip,
        "role": worker.role,
        "skills": list(worker.skills),
        "certifications": list(worker.certifications),
        "shift_preference": list(worker.shift_preference),
        "available_from": worker.available_from,
        "years_experience": worker.years_experience,
        "hourly_rate": worker.hourly_rate,
        "reliability": worker.reliability,
        "status": worker.status,
        "sms_opt_out": worker.sms_opt_out,
        "bio": worker.bio,
    }


# ------------------------------------------------------------------------------------- uploads

_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def sanitized_upload_name(name: str) -> str:
    """The client's file name reduced to something safe to store and show: its last path component,
    letters, digits, '.', '_' and '-' only, no leading dot, at most 100 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = _UNSAFE_NAME_CHARACTERS.sub("_", base).lstrip(".")[-100:].strip("_")
    return cleaned or "upload"


def create_upload_ingest_job(*, upload, fmt: str | None = None, drop: bool = False, limit: int | None = None, actor: str = "") -> IngestJob:
    """Store an uploaded file and queue its ingest. A rejected upload is not kept, and the error
    names only the client's own file name."""
    name = sanitized_upload_name(upload.name)
    fmt = _format_of(Path(name), fmt)
    path = save_upload(upload, name=name)
    try:
        return create_ingest_job(path=path, fmt=fmt, drop=drop, limit=limit, actor=actor)
    except BaseException:
        discard_upload(path)
        raise


def save_upload(upload, *, name: str | None = None) -> Path:
    """Store an uploaded ingest file as INGEST_UPLOAD_DIR/<random>/<sanitized name> (streamed in
    chunks, never read whole): the job's source keeps the name the operator knows the file by."""
    import uuid

    directory = settings.INGEST_UPLOAD_DIR / uuid.uuid4().hex
    directory.mkdir(parents=True)
    target = directory / (name or sanitized_upload_name(upload.name))
    with open(target, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return target


def discard_upload(path: Path) -> None:
    """Delete an uploaded file and its directory; anything outside INGEST_UPLOAD_DIR is left alone."""
    path = Path(path)
    if not path.resolve().is_relative_to(settings.INGEST_UPLOAD_DIR.resolve()):
        return
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:  # not empty, or already gone
        pass


def release_upload(job: IngestJob) -> None:
    """Once a job has ended its uploaded file has done its work (INGEST_KEEP_UPLOADS keeps it)."""
    if not settings.INGEST_KEEP_UPLOADS and job.status in TERMINAL_STATUSES:
        discard_upload(Path(job.source))
