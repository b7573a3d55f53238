"""Reads of replay: batches, runs as replay_run.v1, and the source hook the materializer uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from apps.replay.models import ReplayBatch, ReplayRun


def run_as_dict(run: ReplayRun) -> dict[str, Any]:
    """A run as its replay_run.v1 line (SPEC §4.8)."""
    return {
        "schema": "replay_run.v1",
        "run_id": run.run_id,
        "batch_id": run.batch_id,
        "evidence_id": run.evidence_id,
        "task_type": run.task_type,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "provider": run.provider,
        "model": run.model,
        "retrieval": run.retrieval,
        "bundle_sha256": run.bundle_sha256,
        "response": run.response,
        "validation": run.validation,
        "baseline_ok": run.baseline_ok,
        "regression": run.regression,
        "status": run.status,
        "error": run.error,
    }


def run_detail(run: ReplayRun) -> dict[str, Any]:
    """The full run: its replay_run.v1 line plus the bundle that was sent to the model."""
    return {**run_as_dict(run), "bundle": run.bundle}


def batch_summary(batch: ReplayBatch) -> dict[str, Any]:
    """SPEC §4.8 batch body: the common job detail (SPEC §3.6) plus latency, tokens and skips."""
    return {
        **batch.as_job_dict(),
        "latency_ms": {"p50": batch.latency_p50_ms, "p95": batch.latency_p95_ms},
        "prompt_tokens": batch.prompt_tokens,
        "completion_tokens": batch.completion_tokens,
        "skipped_by_type": batch.skipped_by_type,
    }


def iter_replay_run_dicts(*, since: datetime | None = None, until: datetime | None = None) -> Iterator[dict[str, Any]]:
    """replay_run.v1 dicts of runs finished in [since, until): the evidence materializer's
    `replay_result` source (apps.evidence.sources.iter_replay_runs)."""
    runs = ReplayRun.objects.all()
    if since is not None:
        runs = runs.filter(finished_at__gte=since)
    if until is not None:
        runs = runs.filter(finished_at__lt=until)
    for run in runs.order_by("finished_at", "run_id").iterator(chunk_size=500):
        yield run_as_dict(run)


def batch_list():
    return ReplayBatch.objects.order_by("-created_at")


def run_list(*, batch_id: str | None = None):
    runs = ReplayRun.objects.defer("bundle").order_by("-started_at")
    return runs.filter(batch_id=batch_id) if batch_id else runs
