"""Replay (SPEC §4.8): retrieve → bundle → chat → validate → log, per evidence record, in batches.

Shared by the Celery task, `manage.py replay` and the API. Retrieval uses the same search selector as
the API; judging uses the same validation services (without logging them as coordinator actions).
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, Callable

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Count, F
from django.utils import timezone

from apps.core.jobs import JobCancelled, JobContext, JobOutcome, enqueue_after_commit, run_job
from apps.core.stats import percentile
from apps.evidence.models import EvidenceRecord
from apps.interactions.choices import InteractionKind
from apps.interactions.services import log_interaction
from apps.orders.services import check_fill
from apps.providers.chat import ChatProvider, ChatResult, build_chat_provider
from apps.providers.errors import ProviderError
from apps.replay.bundles import AnswerError, build_bundle, canonical_json, judge_ranking, parse_email, parse_fill
from apps.core.choices import JobStatus
from apps.replay.choices import MODEL_TASK_TYPES, REPLAYED_TASK_TYPES, RunStatus
from apps.replay.models import ReplayBatch, ReplayRun
from apps.replay.selectors import run_as_dict
from apps.validation.services import check_outreach
from apps.workers.models import Worker
from apps.search.services import search_workers
from apps.workers.search import SearchRequest, search_filters_from_dict, search_request_from_dict

logger = logging.getLogger(__name__)

_CANDIDATE_FIELDS = (
    "worker_id", "first_name", "city", "state", "role", "certifications", "shift_preference", "available_from", "status", "sms_opt_out",
)


# ------------------------------------------------------------------------------------------ batches


def create_batch(
    *,
    day_from: date | None = None,
    day_to: date | None = None,
    task_types: list[str] | None = None,
    evidence_ids: list[str] | None = None,
    limit: int | None = None,
    provider: str | None = None,
    model: str | None = None,
    concurrency: int = 4,
    actor: str = "",
    dispatch: bool = True,
    retry_of: ReplayBatch | None = None,
) -> ReplayBatch:
    """Record a queued batch and (after commit) hand it to the Celery worker."""
    batch = ReplayBatch.objects.create(
        batch_id=f"rb_{secrets.token_hex(12)}",
        day_from=day_from,
        day_to=day_to,
        task_types=list(task_types or []),
        evidence_ids=list(evidence_ids or []),
        limit=limit,
        provider=provider or settings.CHAT_PROVIDER,
        model=model or settings.CHAT_MODEL,
        concurrency=concurrency,
        created_by=actor,
        retry_of=retry_of,
    )
    if dispatch:
        enqueue_after_commit(batch)
    batch.refresh_from_db()
    return batch


def relaunch_batch(batch: ReplayBatch, actor: str) -> ReplayBatch:
    """A retry: the same selection, provider and model, as a new batch (its runs are new runs)."""
    return create_batch(
        day_from=batch.day_from, day_to=batch.day_to, task_types=batch.task_types, evidence_ids=batch.evidence_ids,
        limit=batch.limit, provider=batch.provider, model=batch.model, concurrency=batch.concurrency, actor=actor, retry_of=batch,
    )


def chat_provider_for(batch: ReplayBatch) -> ChatProvider:
    base_url = settings.CHAT_BASE_URL or {"openai": settings.OPENAI_BASE_URL, "ollama": settings.OLLAMA_URL}.get(batch.provider)
    return build_chat_provider(
        batch.provider,
        base_url=base_url,
        api_key=settings.OPENAI_API_KEY or None,
        model=batch.model or None,
        timeout=settings.CHAT_TIMEOUT_S,
        retries=settings.CHAT_RETRIES,
        max_concurrency=min(batch.concurrency, settings.CHAT_MAX_CONCURRENCY) if batch.provider != "local" else batch.concurrency,
    )


def select_evidence(batch: ReplayBatch):
    records = EvidenceRecord.objects.all()
    if batch.evidence_ids:
        records = records.filter(evidence_id__in=batch.evidence_ids)
    if batch.day_from:
        records = records.filter(day__gte=batch.day_from)
    if batch.day_to:
        records = records.filter(day__lte=batch.day_to)
    if batch.task_types:
        records = records.filter(task_type__in=batch.task_types)
    return records.order_by("day", "evidence_id")


def run_batch(batch_id: str, *, on_progress: Callable[[ReplayBatch], None] | None = None, provider: ChatProvider | None = None) -> ReplayBatch:
    """Replay every selected record (up to `limit`), `concurrency` at a time, through the job runner.

    A cancel stops dispatching new records; the runs that finished stay. A batch in which no run
    reached the model ends `failed` naming the unreachable provider; one where some runs errored
    ends `succeeded` with its `errors` count (SPEC §4.8)."""

    def work(batch: ReplayBatch, context: JobContext) -> JobOutcome:
        try:
            outcome = _replay_selected(batch, context, on_progress, provider)
        finally:
            _summarize(batch.batch_id)
        return outcome

    return run_job(ReplayBatch, batch_id, work)


def _replay_selected(batch: ReplayBatch, context: JobContext, on_progress, provider: ChatProvider | None) -> JobOutcome:
    batch_id = batch.batch_id
    selected = select_evidence(batch)
    skipped = dict(
        selected.exclude(task_type__in=REPLAYED_TASK_TYPES).values_list("task_type").annotate(n=Count("evidence_id")).order_by()
    )
    # Replay's own model calls are logged as chat interactions and come back as chat evidence;
    # replaying them would replay replays. Skipped and counted.
    own_calls = selected.filter(task_type="chat", metadata__purpose="replay")
    if (own := own_calls.count()):
        skipped["chat (replay's own calls)"] = own
    replayable = selected.filter(task_type__in=REPLAYED_TASK_TYPES).exclude(pk__in=own_calls.values("pk"))
    if batch.limit:
        replayable = replayable[: batch.limit]
    ids = list(replayable.values_list("evidence_id", flat=True))
    ReplayBatch.objects.filter(pk=batch_id).update(total=len(ids), skipped=sum(skipped.values()), skipped_by_type=skipped)
    chat = provider or (chat_provider_for(batch) if EvidenceRecord.objects.filter(evidence_id__in=ids, task_type__in=MODEL_TASK_TYPES).exists() else None)
    batch.refresh_from_db()
    finished = itertools.count(1)  # next() is atomic under the GIL: safe across the pool's threads

    def work(evidence_id: str) -> None:
        if context.cancel_requested():  # stop dispatching; runs already finished stay
            return
        record = EvidenceRecord.objects.get(evidence_id=evidence_id)
        run = replay_record(record, batch=batch, chat=chat)
        counter = {RunStatus.PASS: "passed", RunStatus.FAIL: "failed", RunStatus.ERROR: "errors"}[run.status]
        done = next(finished)
        ReplayBatch.objects.filter(pk=batch_id).update(
            **{counter: F(counter) + 1}, regressions=F("regressions") + int(run.regression), progress=round(100.0 * done / max(len(ids), 1), 2)
        )
        if on_progress:
            on_progress(ReplayBatch.objects.get(pk=batch_id))

    def work_in_thread(evidence_id: str) -> None:
        try:
            work(evidence_id)
        finally:
            close_old_connections()
            connection.close()  # back to the pool: this thread may not run again

    if batch.concurrency <= 1:
        for evidence_id in ids:
            work(evidence_id)
    else:
        with ThreadPoolExecutor(max_workers=batch.concurrency, thread_name_prefix="replay") as pool:
            list(pool.map(work_in_thread, ids))
    if context.cancel_requested():
        raise JobCancelled()
    return _outcome(batch_id, model_runs=EvidenceRecord.objects.filter(evidence_id__in=ids, task_type__in=MODEL_TASK_TYPES).count(), provider=batch.provider)


def _outcome(batch_id: str, *, model_runs: int, provider: str) -> JobOutcome:
    """Failed when the batch needed the model and no run reached it (every model run errored with a
    provider error); otherwise succeeded, errors counted on the row."""
    if not model_runs:
        return JobOutcome()
    runs = ReplayRun.objects.filter(batch_id=batch_id, task_type__in=MODEL_TASK_TYPES)
    if runs.exclude(status=RunStatus.ERROR).exists():
        return JobOutcome()
    reason = runs.exclude(error=None).values_list("error", flat=True).first() or "no answer"
    return JobOutcome(JobStatus.FAILED, f"no run reached the model: provider {provider!r} is unreachable ({reason})")


def _summarize(batch_id: str) -> None:
    """Counts, latency percentiles and tokens from the runs themselves (the source of truth)."""
    runs = ReplayRun.objects.filter(batch_id=batch_id)
    counts = dict(runs.values_list("status").annotate(n=Count("run_id")).order_by())
    latencies = sorted(
        (f - s).total_seconds() * 1000 for s, f in runs.values_list("started_at", "finished_at")
    )
    tokens = [r or {} for r in runs.values_list("response", flat=True)]
    ReplayBatch.objects.filter(pk=batch_id).update(
        passed=counts.get(RunStatus.PASS, 0),
        failed=counts.get(RunStatus.FAIL, 0),
        errors=counts.get(RunStatus.ERROR, 0),
        regressions=runs.filter(regression=True).count(),
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        prompt_tokens=sum(int(t.get("prompt_tokens") or 0) for t in tokens),
        completion_tokens=sum(int(t.get("completion_tokens") or 0) for t in tokens),
    )


def _percentile(ordered: list[float], q: float) -> float | None:
    value = percentile(ordered, q)
    return None if value is None else round(value, 3)


# -------------------------------------------------------------------------------------- one record


def replay_record(record: EvidenceRecord, *, batch: ReplayBatch, chat: ChatProvider | None) -> ReplayRun:
    """Retrieve → bundle → chat → validate → log one evidence record."""
    started = timezone.now()
    task_type = record.task_type
    retrieval: dict[str, Any] = {"index": "workers", "ids": [], "took_ms": 0.0}
    bundle_dict: dict[str, Any] = {}
    bundle_sha = ""
    response: dict[str, Any] = {"text": None, "prompt_tokens": 0, "completion_tokens": 0, "latency_ms": 0.0}
    validation: dict[str, Any] = {"ok": False, "errors": []}
    status, error = RunStatus.FAIL, None
    model = batch.model
    try:
        if task_type in MODEL_TASK_TYPES:
            task, context, retrieval = _retrieve_for_model(record)
            bundle = build_bundle(task_type, task, context)
            bundle_dict, bundle_sha = bundle.to_dict(), bundle.sha256
            result = _chat(chat, bundle, batch=batch, record=record)
            model = result.model or model
            response = {"text": result.text, "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens, "latency_ms": round(result.latency_ms, 3)}
            validation = _judge_answer(task_type, result.text, record, task)
        else:
            validation, retrieval = _rerun_search(record)
        status = RunStatus.PASS if validation["ok"] else RunStatus.FAIL
    except ProviderError as exc:
        status, error = RunStatus.ERROR, str(exc)
        validation = {"ok": False, "errors": []}
    except Exception as exc:  # one bad record is an error run, never the end of the batch
        logger.exception("replay of %s failed", record.evidence_id)
        status, error = RunStatus.ERROR, f"{type(exc).__name__}: {exc}"
        validation = {"ok": False, "errors": []}
    finished = timezone.now()
    regression = bool(record.verdict_ok) and status == RunStatus.FAIL
    run = ReplayRun.objects.create(
        run_id=f"rr_{secrets.token_hex(12)}",
        batch=batch,
        evidence_id=record.evidence_id,
        task_type=task_type,
        status=status,
        provider=batch.provider,
        model=model or "",
        retrieval=retrieval,
        bundle=bundle_dict,
        bundle_sha256=bundle_sha,
        response=response,
        validation=validation,
        baseline_ok=record.verdict_ok,
        regression=regression,
        error=error,
        started_at=started,
        finished_at=finished,
    )
    append_run_line(run_as_dict(run))
    return run


def _retrieve_for_model(record: EvidenceRecord) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Task and context for a model task, and what was retrieved for it."""
    started = time.perf_counter()
    data_in, data_out = record.input or {}, record.output or {}
    if record.task_type in ("draft_email", "draft_sms"):
        worker_id = data_in.get("worker_id")
        candidates = list(Worker.objects.filter(worker_id=worker_id).values(*_CANDIDATE_FIELDS)) if worker_id else []
        task = {"worker_id": worker_id, "kind": data_in.get("kind"), "reference_draft": data_out}
        context = {"candidates": _jsonable(candidates)}
        ids = [c["worker_id"] for c in candidates]
    elif record.task_type == "propose_fill":
        order = _order_of(record)
        found = search_workers(
            SearchRequest(
                query=f"{str(order.get('role', '')).replace('_', ' ')} {order.get('shift', '')} shift {order.get('city', '')}".strip() or "worker",
                k=min(100, max(10, 5 * int(order.get("headcount") or 1))),
                filters=search_filters_from_dict({key: order.get(key) for key in ("city", "state", "role", "shift")} | {"available_on": order.get("start_date")}),
            )
        )
        ids = [r["worker_id"] for r in found["results"]]
        candidates = list(Worker.objects.filter(worker_id__in=ids).values(*_CANDIDATE_FIELDS))
        task = {"order": order}
        context = {"candidates": _jsonable(candidates), "order": order}
    else:  # chat
        task, context, ids = {"messages": data_in.get("messages", [])}, {}, []
    return task, context, {"index": "workers", "ids": ids, "took_ms": round((time.perf_counter() - started) * 1000, 3)}


def _chat(chat: ChatProvider | None, bundle, *, batch: ReplayBatch, record: EvidenceRecord) -> ChatResult:
    """One model call, logged as a `chat` interaction (every LLM call is, SPEC §3.5)."""
    if chat is None:
        raise ProviderError("no chat provider configured")
    try:
        result = chat.complete(bundle.messages, model=batch.model or None)
    except ProviderError as exc:
        log_interaction(
            kind=InteractionKind.CHAT, actor=batch.created_by, ok=False,
            request={"messages": bundle.messages, "provider": batch.provider, "purpose": "replay", "batch_id": batch.batch_id, "evidence_id": record.evidence_id},
            response={"text": None}, errors=[{"code": "PROVIDER_ERROR", "message": str(exc)}], model=batch.model,
        )
        raise
    log_interaction(
        kind=InteractionKind.CHAT, actor=batch.created_by,
        request={"messages": bundle.messages, "provider": batch.provider, "purpose": "replay", "batch_id": batch.batch_id, "evidence_id": record.evidence_id},
        response={"text": result.text}, latency_ms=result.latency_ms, model=result.model or batch.model,
        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
    )
    return result


def _judge_answer(task_type: str, text: str, record: EvidenceRecord, task: dict[str, Any]) -> dict[str, Any]:
    """The same validators as the API, by task type (SPEC §4.8 table)."""
    try:
        if task_type == "draft_sms":
            return _verdict(check_outreach(kind="sms", worker_id=task.get("worker_id"), subject=None, body=text))
        if task_type == "draft_email":
            subject, body = parse_email(text)
            return _verdict(check_outreach(kind="email", worker_id=task.get("worker_id"), subject=subject, body=body))
        if task_type == "propose_fill":
            return _verdict(check_fill(order=task["order"], worker_ids=parse_fill(text)))
        # chat: the EmailValidator's PII rules on the answer
        verdict = check_outreach(kind="email", worker_id=None, subject="replay", body=text or "")
        pii = [e for e in verdict["errors"] if e["code"].startswith("PII_")]
        return {"ok": not pii, "errors": pii}
    except AnswerError as exc:
        return {"ok": False, "errors": [{"code": exc.code, "message": str(exc)}]}


def _verdict(full: dict[str, Any]) -> dict[str, Any]:
    return {"ok": full["ok"], "errors": full["errors"]}


def _rerun_search(record: EvidenceRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    data_in = record.input or {}
    recorded = [r["worker_id"] for r in (record.output or {}).get("results", [])]
    request = search_request_from_dict({**data_in, "query": data_in.get("query") or "worker", "explain": False})
    body = search_workers(request)
    now = [r["worker_id"] for r in body["results"]]
    verdict = judge_ranking(record.task_type, recorded, now, request.k, list(request.exclude_ids), settings.REPLAY_MIN_OVERLAP)
    return verdict, {"index": "workers", "ids": now, "took_ms": body["took_ms"]}


def _order_of(record: EvidenceRecord) -> dict[str, Any]:
    data_in = record.input or {}
    if data_in.get("order"):
        return dict(data_in["order"])
    from apps.orders.models import JobOrder
    from apps.orders.selectors import order_as_dict

    order = JobOrder.objects.filter(order_id=data_in.get("order_id")).first()
    if order is None:
        raise ProviderError(f"order {data_in.get('order_id')!r} of this evidence no longer exists")
    return _jsonable(order_as_dict(order))


def _jsonable(value: Any) -> Any:
    return json.loads(canonical_json(value))


# ------------------------------------------------------------------------------------------ logs


def replay_log_path() -> Path:
    return Path(settings.KB_DIR) / "replay_runs.jsonl"


def append_run_line(line: dict[str, Any]) -> None:
    """Append one whole line, even with concurrent writers in other threads, processes and batches:
    an exclusive lock around a single write of the complete line on an O_APPEND descriptor."""
    path = replay_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (canonical_json(line) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
