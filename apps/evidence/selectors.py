"""Reads of the evidence app: receipts, evidence records as evidence_record.v1, the watermark."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db.models import QuerySet

from apps.evidence import transforms
from apps.evidence.choices import MaterializeMode, MaterializeStatus
from apps.evidence.models import EvidenceRecord, MaterializeRun

RECEIPT_SCHEMA = "materialize_receipt.v1"

# Columns that make up an evidence_record.v1 (everything but the constant "schema").
_RECORD_COLUMNS = tuple(field for field in transforms.RECORD_FIELDS if field != "schema")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def receipt(run: MaterializeRun) -> dict[str, Any]:
    """A run as its materialize_receipt.v1 (the API body, the admin view and the receipt file)."""
    duration = None
    if run.started_at and run.finished_at:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    return {
        "schema": RECEIPT_SCHEMA,
        "run_id": run.run_id,
        "status": run.status,
        "mode": run.mode,
        "params": {
            "since": _iso(run.since),
            "day": _iso(run.day),
            "rebuild_day": _iso(run.rebuild_day),
        },
        "created_by": run.created_by,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_s": duration,
        "task_id": run.task_id or None,
        "kb_dir": run.kb_dir,
        "watermark": {"from": run.watermark_from, "to": run.watermark_to},
        "sources_scanned": run.sources_scanned,
        "inbox": run.inbox,
        "records_written": run.records_written,
        "duplicates_skipped": run.duplicates_skipped,
        "errors_count": run.errors_count,
        "per_transform": run.per_transform,
        "per_day": run.per_day,
        "errors": run.errors,
        "files": run.files,
        "receipt_path": run.receipt_path or None,
        "error": run.error or None,
    }


def materialize_runs() -> QuerySet[MaterializeRun]:
    return MaterializeRun.objects.order_by("-created_at")


def last_incremental_run(*, exclude_run_id: str | None = None) -> MaterializeRun | None:
    """The succeeded incremental run with the highest watermark: where the next one starts."""
    runs = MaterializeRun.objects.filter(mode=MaterializeMode.INCREMENTAL, status=MaterializeStatus.SUCCEEDED)
    if exclude_run_id:
        runs = runs.exclude(pk=exclude_run_id)
    return runs.exclude(watermark_to=None).order_by("-watermark_to", "-started_at").first()


def evidence_records() -> QuerySet[EvidenceRecord]:
    return EvidenceRecord.objects.order_by("-day", "evidence_id")


def record_as_dict(values: dict[str, Any]) -> dict[str, Any]:
    """An evidence_record.v1 dict from a row's values: byte-identical (via transforms.dumps) to the
    record the transform produced, so files rebuilt from the table match the files first written."""
    return {
        **values,
        "schema": transforms.SCHEMA,
        "day": values["day"].isoformat(),
        "occurred_at": transforms.canonical_timestamp(values["occurred_at"]),
    }


def record_values(queryset: QuerySet[EvidenceRecord]) -> QuerySet:
    return queryset.values(*_RECORD_COLUMNS)


def iter_day_lines(day: date, *, page_size: int = 2000) -> Iterator[str]:
    """Every record of ``day`` as a partition line, ordered by evidence_id (keyset pages)."""
    last: str | None = None
    while True:
        page = EvidenceRecord.objects.filter(day=day)
        if last is not None:
            page = page.filter(evidence_id__gt=last)
        rows = list(record_values(page.order_by("evidence_id"))[:page_size])
        if not rows:
            return
        last = rows[-1]["evidence_id"]
        for row in rows:
            yield transforms.dumps(record_as_dict(row))

