"""Mixed read/write: an operator's job (ingest, index rebuild, re-embed) launched through the API
while the load runs, and a recall probe that checks search quality before, during and after it.

The job is started exactly as an operator would: ``POST /api/v1/ingest/ {"path": ...}`` or
``POST /api/v1/indexes/workers/rebuild/`` / ``.../reembed/`` with the (staff) token, then its detail
endpoint (``GET /api/v1/ingest/{id}/`` or ``/api/v1/indexes/jobs/{id}/``) is polled until the job
is done. The load's window is held open until ``after_s`` past the job's end, so the "after" phase
is measured too.

The recall probe searches a fixed list of queries (unfiltered, k = 10) through the API every
``probe_every_s`` and compares the ids with an *exact* ranking. Decision: the exact ranking comes
from a direct SQL scan in the harness process (``ORDER BY (embedding <=> q) + 0`` — the ``+ 0``
keeps the planner off the HNSW index — over the same rows the API searches, with the query embedded
by the project's own embedder), not from the API. The API has no switch that forces its exact
path, and a filter narrow enough to force it would only probe searches that are exact anyway
(recall 1 by construction). So the probe needs the harness to run with the server's settings
(same DATABASE_URL and embedding provider) — true for ``make run`` on one machine; without database
access the probe reports latency and exact-k only, and says why recall is missing. The oracle runs
right after each API search; an ingest committing a batch between the two can still move a result,
which the report's "during" recall then slightly understates, never overstates.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core.stats import percentile
from apps.loadtest.connections import TRANSPORT_ERRORS, Connection
from apps.loadtest.scenarios import SEARCH_PATH, http_failure_reason

KINDS = ("ingest", "rebuild", "reembed")
TERMINAL = {"succeeded", "failed", "cancelled", "skipped"}
BEFORE, DURING, AFTER = "before", "during", "after"
PHASES = (BEFORE, DURING, AFTER)

# Fixed probe queries: coordinator-style requests spread over the corpus vocabulary.
PROBE_QUERIES: tuple[str, ...] = (
    "forklift operator warehouse night shift",
    "registered nurse icu experience",
    "line cook fast paced kitchen",
    "cdl class a truck driver",
    "certified nursing assistant home care",
    "electrician commercial wiring",
    "customer service bilingual spanish",
    "welder mig tig fabrication",
)
PROBE_K = 10

OracleFn = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class DuringConfig:
    kind: str  # ingest | rebuild | reembed
    path: str | None = None  # ingest: a file on the server, inside INGEST_DIRS
    index: str = "workers"
    before_s: float = 10.0  # load before the job is started
    after_s: float = 10.0  # load kept running after the job ended
    probe_every_s: float = 5.0
    poll_every_s: float = 1.0
    job_timeout_s: float = 3600.0
    queries: tuple[str, ...] = PROBE_QUERIES

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"--during must be one of {', '.join(KINDS)}")
        if self.kind == "ingest" and not self.path:
            raise ValueError("an ingest during load needs a PATH (--during-ingest PATH)")
        if min(self.before_s, self.after_s) < 0 or self.probe_every_s <= 0 or self.poll_every_s <= 0:
            raise ValueError("--during timings must be positive")

    def start_request(self) -> tuple[str, dict[str, Any] | None]:
        if self.kind == "ingest":
            return "/api/v1/ingest/", {"path": self.path}
        return f"/api/v1/indexes/{self.index}/{self.kind}/", None

    def detail_path(self, job_id: int) -> str:
        return f"/api/v1/ingest/{job_id}/" if self.kind == "ingest" else f"/api/v1/indexes/jobs/{job_id}/"


@dataclass
class OperationResult:
    kind: str
    started_s: float | None = None  # on the measured clock (seconds from the start of measuring)
    finished_s: float | None = None
    job_id: int | None = None
    status: str | None = None
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    polls: int = 0

    def phase_of(self, t: float) -> str:
        if self.started_s is None or t < self.started_s:
            return BEFORE
        if self.finished_s is None or t <= self.finished_s:
            return DURING
        return AFTER

    def summary(self) -> dict[str, Any]:
        elapsed = None if self.started_s is None or self.finished_s is None else round(self.finished_s - self.started_s, 3)
        rows = self.detail.get("rows_read") if self.kind == "ingest" else self.detail.get("rows_done")
        rows_per_s = self.detail.get("rows_per_s")
        if rows_per_s is None and rows and elapsed:
            rows_per_s = round(rows / elapsed, 1)  # as seen from the harness: request to "done" seen
        return {
            "kind": self.kind, "job_id": self.job_id, "status": self.status, "error": self.error,
            "started_s": self.started_s, "finished_s": self.finished_s, "elapsed_s": elapsed,
            "rows": rows, "rows_per_s": rows_per_s, "polls": self.polls,
            "rows_rejected": self.detail.get("rows_rejected"),
        }


async def run_operation(http: Connection, config: DuringConfig, result: OperationResult, clock_offset: Callable[[], float],
                        wait_until: Callable[[float], Any], extend_to: Callable[[float], None]) -> OperationResult:
    """Start the job at ``before_s`` into the measured window, poll it until it ends, then hold the
    load open ``after_s`` longer; fills ``result`` as it goes (so a cancelled run still reports what
    was seen). Never raises for an HTTP problem: it is the result's ``error``."""
    if not await wait_until(config.before_s):
        return result  # the run was stopped first
    path, body = config.start_request()
    result.started_s = round(clock_offset(), 3)
    try:
        status, content = await http.request("POST", path, json.dumps(body).encode() if body is not None else None)
        if status != 202:
            result.error = http_failure_reason(f"start {config.kind}", status, content)
            return result
        result.job_id = int(json.loads(content)["job_id"])
        deadline = time.monotonic() + config.job_timeout_s
        while time.monotonic() < deadline:
            await asyncio.sleep(config.poll_every_s)  # polling an external job: there is no condition to await
            status, content = await http.request("GET", config.detail_path(result.job_id))
            result.polls += 1
            if status != 200:
                result.error = http_failure_reason(f"poll {config.kind}", status, content)
                continue
            result.detail = json.loads(content)
            result.status = result.detail.get("status")
            if result.status in TERMINAL:
                break
        else:
            result.error = f"{config.kind} job {result.job_id} not done after {config.job_timeout_s:.0f} s"
        if result.status == "failed":
            result.error = str(result.detail.get("error") or result.detail.get("errors") or "failed")[:240]
    except (*TRANSPORT_ERRORS, ValueError, KeyError) as exc:
        result.error = f"{config.kind}: {type(exc).__name__}: {exc}"[:240]
    finally:
        result.finished_s = round(clock_offset(), 3)
        extend_to(result.finished_s + config.after_s)
    return result


@dataclass
class ProbeSample:
    t: float
    query: str
    latency_ms: float
    returned: int
    recall: float | None
    error: str | None = None


async def probe_loop(http: Connection, config: DuringConfig, oracle: OracleFn | None, clock_offset: Callable[[], float],
                     stopped: asyncio.Event, samples: list[ProbeSample]) -> None:
    """Every ``probe_every_s``: each fixed query through the API, then the exact oracle (in a thread:
    it is a blocking database scan) — recall@k and exact-k (k results back from a big corpus)."""
    while not stopped.is_set():
        for query in config.queries:
            if stopped.is_set():
                return
            t = clock_offset()
            began = time.perf_counter()
            try:
                status, content = await http.request("POST", http.fixed_url(SEARCH_PATH), json.dumps({"query": query, "k": PROBE_K}).encode())
            except TRANSPORT_ERRORS as exc:
                samples.append(ProbeSample(t, query, (time.perf_counter() - began) * 1000, 0, None, f"{type(exc).__name__}"))
                continue
            latency = (time.perf_counter() - began) * 1000
            if status != 200:
                samples.append(ProbeSample(t, query, latency, 0, None, http_failure_reason("probe search", status, content)))
                continue
            ids = [r["worker_id"] for r in json.loads(content)["results"]]
            recall = None
            if oracle is not None:
                expected = await asyncio.to_thread(oracle, query, PROBE_K)
                recall = recall_at_k(ids, expected)
            samples.append(ProbeSample(t, query, latency, len(ids), recall))
        try:
            await asyncio.wait_for(stopped.wait(), timeout=config.probe_every_s)
        except asyncio.TimeoutError:
            pass


def recall_at_k(got: Sequence[str], expected: Sequence[str]) -> float:
    """|got ∩ expected| / |expected| (1.0 when nothing is expected)."""
    if not expected:
        return 1.0
    return len(set(got) & set(expected)) / len(expected)


def probe_summary(samples: Sequence[ProbeSample], phase_of: Callable[[float], str]) -> dict[str, dict[str, Any]]:
    """Per phase: probe searches, their latency percentiles, mean and minimum recall@k, searches
    that came back with fewer than k results (exact-k broken on a corpus far bigger than k), errors."""
    out: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        mine = [s for s in samples if phase_of(s.t) == phase]
        ok = [s for s in mine if s.error is None]
        latencies = sorted(s.latency_ms for s in ok)
        recalls = [s.recall for s in ok if s.recall is not None]
        out[phase] = {
            "searches": len(mine),
            "errors": len(mine) - len(ok),
            "p50_ms": None if not latencies else round(percentile(latencies, 50), 2),
            "p99_ms": None if not latencies else round(percentile(latencies, 99), 2),
            "recall_mean": round(sum(recalls) / len(recalls), 4) if recalls else None,
            "recall_min": round(min(recalls), 4) if recalls else None,
            "short_results": sum(1 for s in ok if s.returned < PROBE_K),
        }
    return out


def format_during(during: dict[str, Any]) -> str:
    """The before/during/after table: load search latency, probe latency and recall, then the job."""
    op = during["operation"]
    header = f"{'phase':<8}{'runs':>7}{'fail':>6}{'p50 ms':>9}{'p99 ms':>9}{'search p50':>12}{'search p99':>12}{'probes':>8}{'recall':>8}{'min':>7}{'short':>7}"
    lines = [header, "-" * len(header)]

    def cell(value: Any, fmt: str = ".1f") -> str:
        return "-" if value is None else format(value, fmt)

    for phase in PHASES:
        load = during["load"].get(phase, {})
        search = during["search_requests"].get(phase, {})
        probe = during["probe"].get(phase, {})
        lines.append(
            f"{phase:<8}{load.get('runs', 0):>7}{load.get('failures', 0):>6}{cell(load.get('p50_ms')):>9}{cell(load.get('p99_ms')):>9}"
            f"{cell(search.get('p50_ms')):>12}{cell(search.get('p99_ms')):>12}{probe.get('searches', 0):>8}"
            f"{cell(probe.get('recall_mean'), '.3f'):>8}{cell(probe.get('recall_min'), '.2f'):>7}{probe.get('short_results', 0):>7}"
        )
    rows_per_s = f", {op['rows_per_s']} rows/s under load" if op.get("rows_per_s") is not None else ""
    lines.append(
        f"{op['kind']} job {op['job_id']}: {op['status'] or 'not started'} in {cell(op['elapsed_s'])} s "
        f"(started at {cell(op['started_s'])} s){rows_per_s}" + (f" — ERROR: {op['error']}" if op.get("error") else "")
    )
    if during.get("recall_note"):
        lines.append(f"note: {during['recall_note']}")
    return "\n".join(lines)


def search_request_summary(search_events: Sequence[tuple[float, float]], phase_of: Callable[[float], str]) -> dict[str, dict[str, Any]]:
    """p50/p99 of every search request the scenarios made, per phase of when it was sent."""
    out: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        latencies = sorted(ms for t, ms in search_events if phase_of(t) == phase)
        out[phase] = {
            "requests": len(latencies),
            "p50_ms": None if not latencies else round(percentile(latencies, 50), 2),
            "p99_ms": None if not latencies else round(percentile(latencies, 99), 2),
        }
    return out


def database_oracle() -> OracleFn:
    """The exact top-k ids for a query, from the database the harness's settings point at (see the
    module docstring for why). Embeds with the project's embedder; runs in a worker thread."""
    from django.db import connection

    from apps.indexes.embedders import get_embedder
    from apps.workers.choices import WorkerStatus
    from apps.workers.models import Worker

    embedder = get_embedder()
    table = Worker._meta.db_table

    def exact(query: str, k: int) -> list[str]:
        vector = embedder.embed([query])[0]
        literal = "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT worker_id FROM {table} WHERE embedding IS NOT NULL AND status = %s "
                    f"ORDER BY (embedding <=> %s) + 0, worker_id LIMIT %s",
                    [WorkerStatus.ACTIVE, literal, k],
                )
                return [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()  # a worker thread's connection: never left open

    return exact
