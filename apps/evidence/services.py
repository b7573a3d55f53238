"""Writes of the evidence app: coordinator feedback and the evidence materializer (SPEC §4.7). The
interaction log itself (SPEC §3.5) is apps.interactions.

The materializer reads its sources (apps.evidence.sources), runs the pure transforms
(apps.evidence.transforms) and writes records to the EvidenceRecord table and the day-partitioned
JSON Lines files (apps.evidence.partitions), with a receipt per run. Idempotency comes from data:
evidence ids are deterministic and inserts are ON CONFLICT (evidence_id) DO NOTHING, so re-reading a
source never writes it twice; a PostgreSQL advisory lock keeps two runs from working at once.

Watermark (incremental runs). Interaction.seq is taken at INSERT but rows commit in another order,
so "seq > watermark" alone would miss a row whose transaction commits after a run has moved past it
(record_playbook, for one, logs inside a transaction). Each incremental run therefore also re-reads
a lookback window: rows at or below the watermark that occurred since LOOKBACK before the previous
run started. Rows already materialized are recognized in SQL (an anti-join on the record's source)
and counted as duplicates without being transformed again, so the window costs an index scan, not a
re-materialization. A row whose transaction stays open longer than LOOKBACK is caught only by an
explicit range run (--since / --day) or --rebuild-day.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time as dt_time, timedelta, timezone as dt_timezone
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import CharField, Count, Exists, Max, OuterRef, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from apps.core.detectors import mask_pii
from apps.core.errors import Conflict, InvalidInput
from apps.core.jobs import JobContext, JobOutcome, enqueue_after_commit, run_job
from apps.evidence import partitions, selectors, sources, transforms
from apps.evidence.choices import FeedbackVerdict, MaterializeMode, MaterializeStatus, SourceKind
from apps.evidence.models import EvidenceRecord, InboxFile, MaterializeRun
from apps.interactions.choices import DECISION_KINDS, InteractionKind
from apps.interactions.models import Interaction
from apps.interactions.scrubber import scrub_text
from apps.interactions.selectors import interaction_kind
from apps.interactions.services import drain_interaction_queue, log_interaction

logger = logging.getLogger(__name__)

# ================================================================================ feedback


def record_feedback(*, target_id: str, verdict: str, edited_text: str | None = None, actor: str = "") -> Interaction:
    """A coordinator's accept/reject/edit of an earlier interaction, logged as a `feedback`
    interaction (SPEC §4.7) for the materializer's feedback transform.

    InvalidInput (a 400 with field errors) when the verdict is not accept/reject/edit, when the target
    does not exist or is itself feedback, or when edited_text is missing for "edit" / given otherwise.
    """
    if verdict not in FeedbackVerdict.values:
        raise InvalidInput(
            f"verdict must be one of {', '.join(FeedbackVerdict.values)}.",
            fields={"verdict": [f"must be one of {', '.join(FeedbackVerdict.values)}"]},
        )
    try:
        target_uuid = uuid.UUID(str(target_id))
    except ValueError:
        raise InvalidInput("target_id must be an interaction id.", fields={"target_id": ["Must be a valid UUID."]}) from None
    target_kind = interaction_kind(target_uuid)  # a row still queued counts (SPEC §3.5: feedback at once)
    if target_kind is None:
        raise InvalidInput(f"No interaction {target_uuid}.", fields={"target_id": ["No interaction with this id."]})
    if target_kind == InteractionKind.FEEDBACK:
        raise InvalidInput("Feedback cannot target another feedback.", fields={"target_id": ["Is a feedback interaction."]})
    if target_kind in DECISION_KINDS:
        raise InvalidInput("Feedback judges a workflow result, not a decision.", fields={"target_id": [f"Is a {target_kind} decision."]})
    has_text = bool(edited_text and edited_text.strip())
    if verdict == FeedbackVerdict.EDIT and not has_text:
        raise InvalidInput("An edit needs the edited text.", fields={"edited_text": ["Required when verdict is 'edit'."]})
    if verdict != FeedbackVerdict.EDIT and edited_text is not None:
        raise InvalidInput("edited_text only goes with verdict 'edit'.", fields={"edited_text": ["Only allowed when verdict is 'edit'."]})
    request: dict[str, Any] = {"target_id": str(target_uuid), "verdict": str(verdict)}
    if verdict == FeedbackVerdict.EDIT:
        request["edited_text"] = edited_text
    return log_interaction(kind=InteractionKind.FEEDBACK, actor=actor, request=request, response={}, ok=True)


# ============================================================================= materializer

LOOKBACK = timedelta(minutes=10)
PAGE_SIZE = 2000
# One lock for every kind of run: incremental, range and rebuild runs all write partitions.
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"lakehouse:evidence:materialize").digest()[:8], "big", signed=True)
_RECORDS_TABLE = EvidenceRecord._meta.db_table

# One statement per page: the page's records as one JSON array (the partition lines, reused), rows
# that already exist skipped by the unique constraint, the ids actually inserted returned.
_INSERT_SQL = f"""
INSERT INTO {_RECORDS_TABLE} (
    evidence_id, day, occurred_at, source_kind, source_id, transform, transform_version, task_type,
    "input", "output", model, prompt_tokens, completion_tokens, latency_ms, verdict, verdict_ok, labels,
    metadata, run_id
)
SELECT r.evidence_id, r.day, r.occurred_at, r.source_kind, r.source_id, r.transform, r.transform_version,
       r.task_type, r."input", r."output", r.model, r.prompt_tokens, r.completion_tokens, r.latency_ms,
       r.verdict, (r.verdict ->> 'ok')::boolean, r.labels, r.metadata, %s
FROM jsonb_to_recordset(%s::jsonb) AS r(
    evidence_id text, day date, occurred_at timestamptz, source_kind text, source_id text, transform text,
    transform_version int, task_type text, "input" jsonb, "output" jsonb, model text, prompt_tokens int,
    completion_tokens int, latency_ms float8, verdict jsonb, labels jsonb, metadata jsonb
)
ON CONFLICT (evidence_id) DO NOTHING
RETURNING evidence_id
"""


def _new_run_id() -> str:
    return f"mr_{timezone.now():%Y%m%dT%H%M%S}_{secrets.token_hex(4)}"


def create_materialize_run(
    *,
    since: datetime | None = None,
    day: date | None = None,
    rebuild_day: date | None = None,
    actor: str = "",
    retry_of: MaterializeRun | None = None,
) -> MaterializeRun:
    """A queued run. No range → incremental (after the watermark); since/day → that range (both
    together: their intersection); rebuild_day → rewrite that day's partition (alone)."""
    if rebuild_day is not None and (since is not None or day is not None):
        raise InvalidInput(
            "rebuild_day cannot be combined with since or day.", fields={"rebuild_day": ["Give rebuild_day on its own."]}
        )
    if since is not None and timezone.is_naive(since):
        since = since.replace(tzinfo=dt_timezone.utc)
    if rebuild_day is not None:
        mode = MaterializeMode.REBUILD
    elif since is not None or day is not None:
        mode = MaterializeMode.RANGE
    else:
        mode = MaterializeMode.INCREMENTAL
    return MaterializeRun.objects.create(
        run_id=_new_run_id(),
        mode=mode,
        since=since,
        day=day,
        rebuild_day=rebuild_day,
        kb_dir=str(Path(settings.KB_DIR).resolve()),
        created_by=actor,
        retry_of=retry_of,
    )


def start_materialize_run(
    *,
    since: datetime | None = None,
    day: date | None = None,
    rebuild_day: date | None = None,
    actor: str = "",
    dispatch: bool = True,
    retry_of: MaterializeRun | None = None,
) -> MaterializeRun:
    """Record a queued run and, once committed, hand it to a worker on the evidence queue.

    409 ``materialize_busy`` while another run is executing. (A run queued behind one that starts
    first is not lost: it finishes as ``skipped`` with the reason, and the next run picks its sources up.)
    """
    busy = running_materialize_run()
    if busy is not None:
        raise Conflict(f"Materialize run {busy} is running; try again when it has finished.", code="materialize_busy")
    run = create_materialize_run(since=since, day=day, rebuild_day=rebuild_day, actor=actor, retry_of=retry_of)
    if dispatch:
        enqueue_after_commit(run)
    run.refresh_from_db()
    return run


def relaunch_materialize_run(run: MaterializeRun, actor: str) -> MaterializeRun:
    """A retry: the same range or day, as a new run."""
    return start_materialize_run(since=run.since, day=run.day, rebuild_day=run.rebuild_day, actor=actor, retry_of=run)


def build_evidence_index(
    *, since: datetime | None = None, day: date | None = None, rebuild_day: date | None = None, actor: str = ""
) -> MaterializeRun:
    """Create a run and execute it in this process (the `--sync` command, tests, benchmarks)."""
    run = create_materialize_run(since=since, day=day, rebuild_day=rebuild_day, actor=actor)
    return run_materialize(run.run_id)


# ---------------------------------------------------------------------------------- the lock


def try_materialize_lock() -> bool:
    """The materializer's session advisory lock: one run at a time, and retention deletes no source
    while a run is writing (apps.evidence.retention)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def release_materialize_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def running_materialize_run() -> str | None:
    """The id of the run executing right now (from the lock, not the status column, so a run whose
    worker died does not look busy forever); None when no run holds the lock."""
    if try_materialize_lock():
        release_materialize_lock()
        return None
    running = MaterializeRun.objects.filter(status=MaterializeStatus.RUNNING).order_by("-started_at")
    return running.values_list("run_id", flat=True).first() or "(unknown)"


# ---------------------------------------------------------------------------------- running


@dataclass
class _Tally:
    """The receipt being built; flushed to the run row after every page (the progress view)."""

    run: MaterializeRun
    scanned: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in SourceKind.values})
    written: int = 0
    duplicates: int = 0
    errors_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    per_transform: dict[str, dict[str, int]] = field(default_factory=dict)
    per_day: dict[str, dict[str, int]] = field(default_factory=dict)
    inbox: dict[str, Any] = field(default_factory=lambda: {"files_read": [], "files_skipped": 0})
    files: list[dict[str, Any]] = field(default_factory=list)

    def _transform(self, name: str) -> dict[str, int]:
        return self.per_transform.setdefault(name, {"written": 0, "duplicates": 0, "errors": 0})

    def count(self, transform: str, day: str, what: str, n: int = 1) -> None:
        """what: 'written' or 'duplicates'."""
        self._transform(transform)[what] += n
        self.per_day.setdefault(day, {"written": 0, "duplicates": 0})[what] += n
        if what == "written":
            self.written += n
        else:
            self.duplicates += n

    def error(self, source_id: str | None, transform: str | None, message: str) -> None:
        self.errors_count += 1
        if transform:
            self._transform(transform)["errors"] += 1
        if len(self.errors) < MaterializeRun.MAX_ERRORS:
            # Messages quote bad values, which may be personal data or a credential: receipts get the
            # same masking as records.
            self.errors.append({"source_id": source_id, "transform": transform, "message": mask_pii(scrub_text(message))[0][:1000]})

    def flush(self) -> None:
        run = self.run
        run.sources_scanned, run.inbox = dict(self.scanned), self.inbox
        run.records_written, run.duplicates_skipped, run.errors_count = self.written, self.duplicates, self.errors_count
        run.per_transform, run.per_day = self.per_transform, dict(sorted(self.per_day.items()))
        run.errors, run.files = self.errors, self.files
        run.save(
            update_fields=[
                "sources_scanned", "inbox", "records_written", "duplicates_skipped", "errors_count", "per_transform",
                "per_day", "errors", "files", "watermark_from", "watermark_to",
            ]
        )


def run_materialize(run_id: str) -> MaterializeRun:
    """Execute one run through the job runner (the Celery task's body). Safe to call again: a finished
    run returns at once, a run whose worker died mid-way starts over without duplicating (evidence
    ids are deterministic). A run that finds another one holding the materialize lock ends `skipped`."""

    def work(run: MaterializeRun, context: JobContext) -> JobOutcome:
        if not try_materialize_lock():
            return _finish(run, JobOutcome(MaterializeStatus.SKIPPED, "busy: another materialize run held the lock; this run wrote nothing"))
        try:
            tally = _Tally(run)
            executor = {
                MaterializeMode.INCREMENTAL: _run_incremental,
                MaterializeMode.RANGE: _run_range,
                MaterializeMode.REBUILD: _run_rebuild,
            }[run.mode]
            try:
                # Rows still in the interaction log's queue first: a day read before they land would miss
                # them for good (a range or rebuild run has no later lookback). Redis down → the run fails.
                drain_interaction_queue()
                executor(run, tally)
            except Exception as exc:
                tally.flush()
                _finish(run, JobOutcome(MaterializeStatus.FAILED, f"{type(exc).__name__}: {exc}"))
                raise
            tally.flush()
            return _finish(run, JobOutcome())
        finally:
            release_materialize_lock()

    run = run_job(MaterializeRun, run_id, work)
    logger.info(
        "materialize run %s %s: %s written, %s duplicates, %s errors",
        run.run_id, run.status, run.records_written, run.duplicates_skipped, run.errors_count,
    )
    return run


def _finish(run: MaterializeRun, outcome: JobOutcome) -> JobOutcome:
    """Write the receipt as the run is about to end (the runner then records `outcome`); a receipt
    that cannot be written fails the run."""
    run.status, run.finished_at, run.error = outcome.status, timezone.now(), outcome.error
    if outcome.status == MaterializeStatus.SKIPPED:
        run.started_at = None  # it never started its work
    if outcome.status == MaterializeStatus.SUCCEEDED:
        run.progress = 100.0
    path = partitions.receipt_path(Path(run.kb_dir), run.run_id)
    run.receipt_path = str(path)
    try:
        partitions.write_receipt(path, selectors.receipt(run))
    except OSError as exc:
        logger.exception("could not write the receipt of %s", run.run_id)
        run.receipt_path = ""
        error = (f"{outcome.error}; " if outcome.error else "") + f"receipt not written: {exc}"
        outcome = JobOutcome(MaterializeStatus.FAILED, error)
    run.save(update_fields=["receipt_path"])
    return JobOutcome(outcome.status, outcome.error, {"finished_at": run.finished_at, "started_at": run.started_at})


# ------------------------------------------------------------------------------- run modes


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, dt_time.min, tzinfo=dt_timezone.utc)
    return start, start + timedelta(days=1)


def _range_of(run: MaterializeRun) -> tuple[datetime | None, datetime | None]:
    if run.rebuild_day is not None:
        return _day_bounds(run.rebuild_day)
    low = high = None
    if run.day is not None:
        low, high = _day_bounds(run.day)
    if run.since is not None:
        low = max(low, run.since) if low else run.since
    return low, high


def _in_range(queryset: QuerySet[Interaction], low: datetime | None, high: datetime | None) -> QuerySet[Interaction]:
    if low is not None:
        queryset = queryset.filter(occurred_at__gte=low)
    if high is not None:
        queryset = queryset.filter(occurred_at__lt=high)
    return queryset


def _run_files(run: MaterializeRun) -> partitions.RunFiles:
    return partitions.RunFiles(Path(run.kb_dir), f"run-{run.run_id}.jsonl")


def _run_incremental(run: MaterializeRun, tally: _Tally) -> None:
    previous = selectors.last_incremental_run(exclude_run_id=run.run_id)
    watermark = previous.watermark_to if previous else 0
    # Rows above `upper` belong to the next run; rows at or below it that commit later are caught by
    # the next run's lookback (see the module docstring).
    upper = max(Interaction.objects.aggregate(top=Max("seq"))["top"] or 0, watermark)
    run.watermark_from, run.watermark_to = watermark, upper
    writer = _run_files(run)
    lookback_from = previous.started_at - LOOKBACK if previous and previous.started_at else None
    if lookback_from is not None:
        window = Interaction.objects.filter(seq__lte=watermark, occurred_at__gte=lookback_from)
        _count_already_materialized(window, tally)
        _materialize_interactions(run, tally, window.exclude(_has_evidence()), writer)
    _materialize_interactions(run, tally, Interaction.objects.filter(seq__gt=watermark, seq__lte=upper), writer)
    _materialize_inbox(run, tally, writer, low=None, high=None, mark_read=True)
    _materialize_replay(run, tally, writer, since=lookback_from, until=None)
    tally.files = writer.files()


def _run_range(run: MaterializeRun, tally: _Tally) -> None:
    """Every source in the range, whether materialized before or not (duplicates are counted): the
    way to re-read sources after a transform's version changes."""
    low, high = _range_of(run)
    writer = _run_files(run)
    _materialize_interactions(run, tally, _in_range(Interaction.objects.all(), low, high), writer)
    _materialize_inbox(run, tally, writer, low=low, high=high, mark_read=False)
    _materialize_replay(run, tally, writer, since=low, until=high)
    tally.files = writer.files()


def _run_rebuild(run: MaterializeRun, tally: _Tally) -> None:
    """Re-read the day's sources (records they lack are inserted), then rewrite the day's partition
    as one file from the table, ordered by evidence_id: the same table gives the same bytes.

    The file is written from the table rather than from this run's transforms so that records whose
    source is gone (a deleted interaction, an inbox file removed after it was read) stay in it:
    evidence is append-only.
    """
    low, high = _range_of(run)
    _materialize_interactions(run, tally, _in_range(Interaction.objects.all(), low, high), None)
    _materialize_inbox(run, tally, None, low=low, high=high, mark_read=False)
    _materialize_replay(run, tally, None, since=low, until=high)
    written = partitions.rewrite_day(Path(run.kb_dir), run.rebuild_day.isoformat(), selectors.iter_day_lines(run.rebuild_day))
    tally.files = [written]


# ----------------------------------------------------------------------------------- sources


def _has_evidence() -> Exists:
    return Exists(
        EvidenceRecord.objects.filter(
            source_kind=SourceKind.INTERACTION, source_id=Cast(OuterRef("id"), output_field=CharField())
        )
    )


def _count_already_materialized(window: QuerySet[Interaction], tally: _Tally) -> None:
    """Lookback rows that already have evidence: counted as scanned and skipped, in one query."""
    source_ids = window.annotate(source_id=Cast("id", output_field=CharField())).values("source_id")
    counts = (
        EvidenceRecord.objects.filter(source_kind=SourceKind.INTERACTION, source_id__in=source_ids)
        .values("transform", "day")
        .annotate(sources=Count("source_id", distinct=True))
    )
    for row in counts:
        tally.scanned[SourceKind.INTERACTION] += row["sources"]
        tally.count(row["transform"], row["day"].isoformat(), "duplicates", row["sources"])


def _materialize_interactions(
    run: MaterializeRun, tally: _Tally, queryset: QuerySet[Interaction], writer: partitions.RunFiles | None
) -> None:
    # Decisions on orders are the audit trail, not workflow results: no transform reads them.
    queryset = queryset.exclude(kind__in=DECISION_KINDS)
    for page in sources.interaction_pages(queryset, page_size=PAGE_SIZE):
        _materialize_page(run, tally, page, writer)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _overlaps(days: list[str], low: datetime | None, high: datetime | None) -> bool:
    first = low.date().isoformat() if low else None
    last = (high - timedelta(microseconds=1)).date().isoformat() if high else None
    return any((first is None or day >= first) and (last is None or day <= last) for day in days)


def _materialize_inbox(
    run: MaterializeRun,
    tally: _Tally,
    writer: partitions.RunFiles | None,
    *,
    low: datetime | None,
    high: datetime | None,
    mark_read: bool,
) -> None:
    """Inbox chat logs. Incremental runs read each new file whole and then record it (name +
    sha256) so it is never read again. Range and rebuild runs read only the lines in their range, of
    new files and of recorded files that hold a day in the range, and record nothing."""
    for path in sources.inbox_files(Path(run.kb_dir)):
        digest = sources.file_sha256(path)
        known = InboxFile.objects.filter(name=path.name, sha256=digest).first()
        if known is not None and (mark_read or not _overlaps(known.days, low, high)):
            tally.inbox["files_skipped"] += 1
            continue
        stats = _materialize_chat_log(run, tally, writer, path, low=low, high=high)
        tally.inbox["files_read"].append({"name": path.name, "sha256": digest, **{k: v for k, v in stats.items() if k != "days"}})
        if not mark_read:
            continue
        if sources.file_sha256(path) != digest:
            # Someone was still writing it: what we read is not what is there now. Read it again next run.
            tally.error(path.name, "chat_completion", "file changed while it was being read; it will be read again")
            continue
        InboxFile.objects.get_or_create(
            name=path.name,
            sha256=digest,
            defaults={
                "size_bytes": path.stat().st_size,
                "lines": stats["lines"],
                "records_written": stats["written"],
                "duplicates_skipped": stats["duplicates"],
                "errors_count": stats["errors"],
                "days": sorted(stats["days"]),
                "run": run,
            },
        )


def _materialize_chat_log(
    run: MaterializeRun,
    tally: _Tally,
    writer: partitions.RunFiles | None,
    path: Path,
    *,
    low: datetime | None,
    high: datetime | None,
) -> dict[str, Any]:
    stats: dict[str, Any] = {"lines": 0, "written": 0, "duplicates": 0, "errors": 0, "days": set()}

    def wanted() -> Iterator[dict[str, Any]]:
        for line in sources.read_chat_log(path):
            stats["lines"] += 1
            if line.occurred_at is not None:
                if (low is not None and line.occurred_at < low) or (high is not None and line.occurred_at >= high):
                    continue
                stats["days"].add(line.occurred_at.date().isoformat())
            if line.source is None:
                tally.scanned[SourceKind.CHAT_LOG] += 1
                tally.error(f"{path.name}:{line.line}", "chat_completion", line.error or "unreadable line")
                stats["errors"] += 1
                continue
            yield line.source

    for page in _chunks(wanted(), PAGE_SIZE):
        outcome = _materialize_page(run, tally, page, writer)
        for key in ("written", "duplicates", "errors"):
            stats[key] += outcome[key]
    return stats


def _materialize_replay(
    run: MaterializeRun, tally: _Tally, writer: partitions.RunFiles | None, *, since: datetime | None, until: datetime | None
) -> None:
    try:
        for page in _chunks(sources.iter_replay_runs(since=since, until=until), PAGE_SIZE):
            _materialize_page(run, tally, page, writer)
    except Exception as exc:  # a broken source is reported; the other sources' evidence still lands
        logger.exception("replay source failed in run %s", run.run_id)
        tally.error(None, "replay_result", f"replay source unavailable: {type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------------ writing


def _source_ref(source: dict[str, Any]) -> str | None:
    """How the receipt names a source: interaction id, inbox file:line, or replay run id."""
    kind = source.get("source_kind")
    if kind == SourceKind.CHAT_LOG:
        origin = source.get("origin") or {}
        return f"{origin.get('file')}:{origin.get('line')}"
    if kind == SourceKind.REPLAY_RUN:
        run = source.get("run")
        run_id = run.get("run_id") if isinstance(run, dict) else None
        return run_id if isinstance(run_id, str) else None
    return str(source.get("id")) if source.get("id") is not None else None


def _materialize_page(
    run: MaterializeRun, tally: _Tally, page: list[dict[str, Any]], writer: partitions.RunFiles | None
) -> dict[str, int]:
    """Transform a page of sources, insert the records, append the new ones to the run's files."""
    outcome = {"written": 0, "duplicates": 0, "errors": 0}
    records: list[tuple[dict[str, Any], str]] = []
    seen: set[str] = set()
    for source in page:
        tally.scanned[source["source_kind"]] += 1
        name = None
        try:
            name = transforms.route(source).name
            record = transforms.materialize(source)
            line = transforms.dumps(record)
        except Exception as exc:  # one bad row is reported and skipped; it never aborts the run
            message = str(exc) if isinstance(exc, transforms.TransformError) else f"{type(exc).__name__}: {exc}"
            tally.error(_source_ref(source), name, message)
            outcome["errors"] += 1
            continue
        if record["evidence_id"] in seen:  # the same source twice in one page (a repeated chat log id)
            tally.count(record["transform"], record["day"], "duplicates")
            outcome["duplicates"] += 1
            continue
        seen.add(record["evidence_id"])
        records.append((record, line))

    inserted, failed = _insert(run, tally, records)
    new_lines: dict[str, list[str]] = defaultdict(list)
    for record, line in records:
        evidence_id = record["evidence_id"]
        if evidence_id in inserted:
            tally.count(record["transform"], record["day"], "written")
            outcome["written"] += 1
            new_lines[record["day"]].append(line)
        elif evidence_id not in failed:
            tally.count(record["transform"], record["day"], "duplicates")
            outcome["duplicates"] += 1
        else:
            outcome["errors"] += 1
    # After the insert committed: a crash in between leaves records the files lack (the table is the
    # truth; --rebuild-day re-syncs a day), never file lines the table lacks.
    if writer is not None:
        for day in sorted(new_lines):
            writer.append(day, new_lines[day])
    tally.flush()
    return outcome


def _insert(
    run: MaterializeRun, tally: _Tally, records: list[tuple[dict[str, Any], str]]
) -> tuple[set[str], set[str]]:
    """Insert a page; returns (ids inserted, ids that could not be stored). A page the database
    refuses is retried record by record, so one bad record fails alone."""
    if not records:
        return set(), set()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_INSERT_SQL, [run.run_id, "[" + ",".join(line for _, line in records) + "]"])
            return {row[0] for row in cursor.fetchall()}, set()
    except (DataError, IntegrityError):
        logger.warning("run %s: a page of %s records was refused; retrying one by one", run.run_id, len(records))
    inserted: set[str] = set()
    failed: set[str] = set()
    for record, line in records:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_INSERT_SQL, [run.run_id, f"[{line}]"])
                inserted.update(row[0] for row in cursor.fetchall())
        except (DataError, IntegrityError) as exc:
            failed.add(record["evidence_id"])
            tally.error(record["source_id"], record["transform"], f"not stored: {str(exc).strip()[:300]}")
    return inserted, failed
