"""The multitier load generator: ``concurrency`` simulated coordinators on one asyncio event loop,
each running weighted random scenarios against the API over real HTTP until the time is up.

Every simulated coordinator sends its requests over its own HTTP/1.1 keep-alive connection (aiohttp,
see ``connections.py``) — exactly ``concurrency`` of them — so the generator, which shares the cores
with the server, spends its share on requests rather than on connection set-up or pool bookkeeping.
Client *i* draws from ``random.Random(seed + i)``, so a seed replays the same sequence of scenarios
and inputs per client (the server's timing still interleaves them).

Scenarios that *start* during warm-up run but are not recorded; scenarios that start in the measured
window are recorded even if they finish after it, and the window is measured up to the last of them,
so throughput = recorded scenarios / measured seconds is never flattered.

Two ways to make demand (see apps/loadtest/README.md):

* **closed loop** (default): ``concurrency`` coordinators, each starting its next scenario when the
  last one ended — a slow server slows the load down with it;
* **open loop** (``config.demand``): scenarios start at Poisson arrival times fixed in advance
  (``arrivals.poisson_arrivals``), whatever the server does, each on a free one of
  ``max_in_flight`` connections; latency runs from the *scheduled* start (no coordinated
  omission), a start that found every connection busy is dropped and counted.

Either can run with an operator's job in the middle (``config.during``, ``during.py``) and with the
soak sampler (``soak_probes``, ``soak.py``).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from itertools import accumulate
from typing import Any

from apps.loadtest import during as during_mod
from apps.loadtest.connections import KEEPALIVE_EXPIRY_S, TRANSPORT_ERRORS, Connection, Connections, run_event_loop
from apps.loadtest.arrivals import BASE, BURST, DemandProfile, StartAccounting, poisson_arrivals
from apps.loadtest.footprint import FootprintSampler, FootprintTargets
from apps.loadtest.report import RunEvent, ScenarioStats, build_report, phase_breakdown, timeline
from apps.loadtest.scenarios import ApiClient, CheckFailed, Scenario, ScenarioContext, http_failure_reason, select_scenarios
from apps.loadtest.soak import Probe, SoakSampler

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | float | int) -> float:
    """'300s', '5m', '1.5h', '250ms' or a bare number of seconds ('60') → seconds (≥ 0)."""
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _DURATION_RE.match(text)
        if not match:
            raise ValueError(f"not a duration: {text!r} (use e.g. 300s, 5m, 60)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {text!r}")
    return seconds


class HarnessError(Exception):
    """The target cannot be driven at all (unreachable, token refused, empty corpus): no run happens."""


@dataclass(frozen=True)
class HarnessConfig:
    base_url: str
    token: str
    concurrency: int = 50
    duration_s: float = 300.0
    warmup_s: float = 0.0
    seed: int = 0
    timeout_s: float = 30.0
    scenarios: tuple[str, ...] = ()  # empty = the full SPEC §4.10 mix
    footprint: FootprintTargets | None = None
    progress_every_s: float = 0.0  # 0 = no progress callbacks
    demand: DemandProfile | None = None  # set = open loop at this arrival rate (concurrency unused)
    max_in_flight: int = 256  # open loop: connections, i.e. scenarios running at once; more = dropped
    during: during_mod.DuringConfig | None = None
    soak_every_s: float = 30.0  # sampling interval of the soak probes, when given
    timeline_bucket_s: float = 1.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be ≥ 1")
        if self.max_in_flight < 1:
            raise ValueError("max in flight must be ≥ 1")
        if self.soak_every_s <= 0 or self.timeline_bucket_s <= 0:
            raise ValueError("sampling intervals must be > 0")
        if self.duration_s <= 0:
            raise ValueError("duration must be > 0")
        if self.timeout_s <= 0:
            raise ValueError("timeout must be > 0")
        select_scenarios(self.scenarios)  # unknown names fail before any request

    def public(self) -> dict[str, Any]:
        """The configuration as reported — never the token."""
        data = asdict(self)
        data.pop("token")
        data["footprint"] = self.footprint is not None
        data["scenarios"] = list(self.scenarios) or "all"
        data["mode"] = "open" if self.demand is not None else "closed"
        data["demand"] = self.demand.public() if self.demand is not None else None
        data["during"] = asdict(self.during) if self.during is not None else None
        if data["during"] is not None:
            data["during"]["queries"] = len(self.during.queries)
        return data


ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class _Window:
    """Timeline of a run on the perf_counter clock; shared by every client task."""

    measure_start: float
    deadline: float
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    last_finish: float = 0.0
    planned_deadline: float = 0.0  # the deadline before an operation held the window open

    def extend_to(self, offset_s: float) -> None:
        """Close the window at ``offset_s`` into the measured time, never before the planned end."""
        self.deadline = max(self.planned_deadline, self.measure_start + offset_s)


@dataclass
class _Recorder:
    """Every measured run, into the per-scenario stats and the event log (phases, timeline), and
    every search request's latency (for the mixed read/write report)."""

    measure_start: float
    stats: dict[str, ScenarioStats]
    window: _Window
    events: list[RunEvent] = field(default_factory=list)
    search_events: list[tuple[float, float]] = field(default_factory=list)

    def record(self, scenario: str, started: float, finished: float, requests: int, reason: str | None, detail: str) -> None:
        latency_ms = (finished - started) * 1000.0
        self.stats[scenario].record(latency_ms, requests, reason, detail)
        self.events.append(RunEvent(started - self.measure_start, finished - self.measure_start, scenario, latency_ms, reason is not None))
        if finished > self.window.last_finish:
            self.window.last_finish = finished

    def on_search(self, sent: float, latency_ms: float) -> None:
        if sent >= self.measure_start:
            self.search_events.append((sent - self.measure_start, latency_ms))


# The keys of the side tasks' own connections, apart from the simulated coordinators' (0 … n-1).
PREFLIGHT, OPERATOR, PROBE = "preflight", "operator", "probe"


def _make_connections(config: HarnessConfig) -> Connections:
    return Connections(config.base_url, config.token, timeout_s=config.timeout_s, keepalive_expiry_s=KEEPALIVE_EXPIRY_S)


async def preflight(http: Connection) -> int:
    """Fail fast, with the reason, when the target can't be driven; returns the corpus size."""
    try:
        status, content = await http.request("GET", "/api/v1/whoami")
        if status != 200:
            raise HarnessError(http_failure_reason("token check (GET /api/v1/whoami)", status, content))
        status, content = await http.request("GET", "/api/v1/workers/?page_size=1")
        if status != 200:
            raise HarnessError(http_failure_reason("corpus check (GET /api/v1/workers/)", status, content))
    except TRANSPORT_ERRORS as exc:
        raise HarnessError(f"cannot reach {http.base_url}: {type(exc).__name__}: {exc}") from exc
    count = int(json.loads(content).get("count") or 0)
    if count == 0:
        raise HarnessError("the worker corpus is empty: ingest workers first (manage.py ingest_workers ...)")
    return count


async def _run_scenario(scenario: Scenario, client: ApiClient, rng: random.Random, ctx: ScenarioContext) -> tuple[str | None, str]:
    """Run one scenario; (failure reason or None, detail)."""
    try:
        await scenario.run(client, rng, ctx)
    except CheckFailed as failure:
        return failure.reason, failure.detail
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        # A response missing a field the SPEC promises (or a harness bug): a failed run either way,
        # and the client keeps going.
        return f"malformed response: {type(exc).__name__}: {exc}"[:240], ""
    return None, ""


async def _client_loop(
    index: int,
    connections: Connections,
    scenarios: tuple[Scenario, ...],
    recorder: _Recorder,
    window: _Window,
    config: HarnessConfig,
    today: date,
    run_tag: str,
) -> None:
    rng = random.Random(config.seed + index)
    client = ApiClient(connections.get(index), on_search=recorder.on_search)  # this coordinator's own connection
    ctx = ScenarioContext(client_index=index, today=today, run_tag=run_tag)
    cum_weights = tuple(accumulate(s.weight for s in scenarios))
    clock = time.perf_counter
    while not window.stop.is_set():
        started = clock()
        if started >= window.deadline:
            break
        scenario = rng.choices(scenarios, cum_weights=cum_weights)[0]
        requests_before = client.requests
        reason, detail = await _run_scenario(scenario, client, rng, ctx)
        if started >= window.measure_start:
            recorder.record(scenario.name, started, clock(), client.requests - requests_before, reason, detail)


async def _open_loop(
    connections: Connections,
    scenarios: tuple[Scenario, ...],
    recorder: _Recorder,
    window: _Window,
    config: HarnessConfig,
    today: date,
    run_tag: str,
    begin: float,
    accounting: StartAccounting,
) -> float:
    """Start scenarios at the demand profile's Poisson arrival times (from ``begin``) until the
    window closes; returns when the last one started has finished. Returns the scheduling span."""
    assert config.demand is not None
    schedule_rng = random.Random(config.seed)
    choice_rng = random.Random(config.seed + 1)
    cum_weights = tuple(accumulate(s.weight for s in scenarios))
    free = list(range(config.max_in_flight - 1, -1, -1))  # connection slots, lowest first
    clients = [ApiClient(connections.get(slot), on_search=recorder.on_search) for slot in range(config.max_in_flight)]
    contexts = [ScenarioContext(client_index=i, today=today, run_tag=run_tag) for i in range(config.max_in_flight)]
    running: set[asyncio.Task] = set()
    clock = time.perf_counter

    async def one(slot: int, scenario: Scenario, rng: random.Random, scheduled: float) -> None:
        client = clients[slot]
        requests_before = client.requests
        try:
            reason, detail = await _run_scenario(scenario, client, rng, contexts[slot])
            if scheduled >= window.measure_start:
                # Latency from the scheduled start: time spent waiting for the generator counts.
                recorder.record(scenario.name, scheduled, clock(), client.requests - requests_before, reason, detail)
        finally:
            free.append(slot)

    ended_at = window.deadline
    for number, offset in enumerate(poisson_arrivals(config.demand, schedule_rng)):
        scheduled = begin + offset
        if window.stop.is_set():
            ended_at = clock()
            break
        if scheduled >= window.deadline:
            ended_at = window.deadline
            break
        if not await _sleep_until(scheduled, window.stop):
            ended_at = clock()
            break  # stopped (Ctrl-C)
        if scheduled >= window.deadline:  # the window closed while waiting (an operation ended)
            ended_at = window.deadline
            break
        scenario = choice_rng.choices(scenarios, cum_weights=cum_weights)[0]
        measured = scheduled >= window.measure_start
        if not free:
            if measured:
                accounting.record_drop()
            continue
        if measured:
            accounting.record_start(scheduled, clock())
        # Each arrival's inputs from its own seeded generator: a seed replays the same requests.
        task = asyncio.create_task(one(free.pop(), scenario, random.Random((config.seed << 32) + number), scheduled))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.gather(*running)
    return max(0.0, ended_at - window.measure_start)


async def _progress(window: _Window, stats: dict[str, ScenarioStats], every_s: float, callback: ProgressFn) -> None:
    while not window.stop.is_set():
        try:
            await asyncio.wait_for(window.stop.wait(), timeout=every_s)
        except asyncio.TimeoutError:
            pass
        now = time.perf_counter()
        if now < window.measure_start:
            callback({"phase": "warmup", "remaining_s": round(window.measure_start - now, 1)})
            continue
        elapsed = now - window.measure_start
        runs = sum(s.runs for s in stats.values())
        callback({
            "phase": "measure",
            "elapsed_s": round(elapsed, 1),
            "runs": runs,
            "failures": sum(s.failures for s in stats.values()),
            "scenarios_per_s": round(runs / elapsed, 1) if elapsed > 0 else 0.0,
        })


async def run_load(
    config: HarnessConfig,
    *,
    progress: ProgressFn | None = None,
    soak_probes: dict[str, Probe] | None = None,
    oracle: during_mod.OracleFn | None = None,
    recall_note: str | None = None,
) -> dict[str, Any]:
    """Run the load described by ``config`` and return the report (see ``report.build_report``).
    ``soak_probes`` are sampled every ``config.soak_every_s``; ``oracle`` gives the exact ranking
    for the recall probe of a ``config.during`` run."""
    scenarios = select_scenarios(config.scenarios)
    stats = {s.name: ScenarioStats(s.name, weight=s.weight) for s in scenarios}
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    loop = asyncio.get_running_loop()
    accounting = StartAccounting()
    operation = during_mod.OperationResult(config.during.kind) if config.during else None
    probe_samples: list[during_mod.ProbeSample] = []
    schedule_s = 0.0
    async with _make_connections(config) as connections:
        corpus_workers = await preflight(connections.get(PREFLIGHT))
        begin = time.perf_counter()
        planned = begin + config.warmup_s + config.duration_s
        window = _Window(measure_start=begin + config.warmup_s, deadline=planned, planned_deadline=planned)
        if config.during is not None:
            window.deadline = float("inf")  # held open until the job is done + after_s
        recorder = _Recorder(window.measure_start, stats, window)
        sigint_handled = _handle_sigint(loop, window.stop)
        footprint_task = asyncio.create_task(_start_footprint(config.footprint, window)) if config.footprint else None
        soak_task = asyncio.create_task(_start_soak(soak_probes, config.soak_every_s, window)) if soak_probes else None
        side_tasks: list[asyncio.Task] = []
        if progress is not None and config.progress_every_s > 0:
            side_tasks.append(asyncio.create_task(_progress(window, stats, config.progress_every_s, progress)))
        probe_stop = asyncio.Event()
        if config.during is not None:
            side_tasks.append(asyncio.create_task(_operate(connections.get(OPERATOR), config.during, operation, window)))
            side_tasks.append(asyncio.create_task(_probe(connections.get(PROBE), config.during, oracle, window, probe_stop, probe_samples)))
        today, run_tag = date.today(), secrets.token_hex(3)
        try:
            if config.demand is not None:
                schedule_s = await _open_loop(connections, scenarios, recorder, window, config, today, run_tag, begin, accounting)
            else:
                await asyncio.gather(
                    *(_client_loop(i, connections, scenarios, recorder, window, config, today, run_tag) for i in range(config.concurrency))
                )
        finally:
            interrupted = window.stop.is_set()  # only Ctrl-C sets it before the clients are done
            window.stop.set()
            probe_stop.set()
            if sigint_handled:
                loop.remove_signal_handler(signal.SIGINT)
            for task in side_tasks:
                task.cancel()
            await asyncio.gather(*side_tasks, return_exceptions=True)
            sampler = await footprint_task if footprint_task is not None else None
            soak_sampler = await soak_task if soak_task is not None else None
    footprint = await asyncio.to_thread(sampler.stop) if sampler is not None else None
    soak = await asyncio.to_thread(soak_sampler.stop) if soak_sampler is not None else None
    end = window.last_finish or min(time.perf_counter(), window.deadline)
    measured_s = max(0.0, end - window.measure_start)
    report = build_report(
        stats,
        measured_s=measured_s,
        config={**config.public(), "corpus_workers": corpus_workers},
        footprint=footprint,
        interrupted=interrupted,
        started_at=started_at,
    )
    report["timeline"] = timeline(recorder.events, bucket_s=config.timeline_bucket_s, end_s=measured_s)
    if config.demand is not None:
        demand = config.demand
        warmup = config.warmup_s
        offered = demand.expected_arrivals(warmup, warmup + schedule_s) / schedule_s if schedule_s > 0 else 0.0
        report["starts"] = accounting.summary(schedule_s, offered=offered)
        report["demand"] = demand.describe()
        phases = (BASE, BURST) if demand.bursts else (BASE,)
        report["phases"] = phase_breakdown(recorder.events, lambda t: demand.phase_at(t + warmup), phases)
        report["ok"] = report["ok"] and accounting.dropped == 0
    if operation is not None:
        phase_of = operation.phase_of
        report["during"] = {
            "operation": operation.summary(),
            "load": {phase: {k: v for k, v in data.items() if k != "scenarios"}
                     for phase, data in phase_breakdown(recorder.events, phase_of, during_mod.PHASES).items()},
            "search_requests": during_mod.search_request_summary(recorder.search_events, phase_of),
            "probe": during_mod.probe_summary(probe_samples, phase_of),
            "recall_note": recall_note,
        }
        report["ok"] = report["ok"] and operation.error is None and operation.status == "succeeded"
    if soak is not None:
        report["soak"] = soak
    return report


async def _sleep_until(at: float, stop: asyncio.Event) -> bool:
    """Sleep until ``time.perf_counter()`` reaches ``at``; False when ``stop`` was set first.

    uvloop counts timers in whole milliseconds and can fire one up to a millisecond early, so this
    waits again until the measured clock has truly reached ``at``: a job planned at 0.5 s never
    reports 0.499."""
    while (delay := at - time.perf_counter()) > 0:
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return False
        except asyncio.TimeoutError:
            pass
    return not stop.is_set()


async def _operate(http: Connection, config: during_mod.DuringConfig, result: during_mod.OperationResult, window: _Window) -> None:
    async def wait_until(offset_s: float) -> bool:
        return await _sleep_until(window.measure_start + offset_s, window.stop)

    try:
        await during_mod.run_operation(http, config, result, lambda: time.perf_counter() - window.measure_start, wait_until, window.extend_to)
    finally:
        if result.finished_s is None:  # stopped before it could start: close the window as planned
            window.extend_to(0.0)


async def _probe(http: Connection, config: during_mod.DuringConfig, oracle: during_mod.OracleFn | None, window: _Window,
                 stopped: asyncio.Event, samples: list[during_mod.ProbeSample]) -> None:
    if not await _sleep_until(window.measure_start, stopped):  # the probe measures from the start of the measured window
        return
    await during_mod.probe_loop(http, config, oracle, lambda: time.perf_counter() - window.measure_start, stopped, samples)


async def _start_soak(probes: dict[str, Probe], every_s: float, window: _Window) -> SoakSampler | None:
    if not await _sleep_until(window.measure_start, window.stop):
        return None
    sampler = SoakSampler(probes, interval_s=every_s)
    await asyncio.to_thread(sampler.start)
    return sampler


async def _start_footprint(targets: FootprintTargets, window: _Window) -> FootprintSampler | None:
    """Start sampling when the measured window opens (warm-up is not the steady state)."""
    if not await _sleep_until(window.measure_start, window.stop):
        return None  # stopped during warm-up
    sampler = FootprintSampler(targets)
    await asyncio.to_thread(sampler.start)
    return sampler


def _handle_sigint(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> bool:
    """Ctrl-C stops starting new scenarios and still reports what was measured."""
    try:
        loop.add_signal_handler(signal.SIGINT, stop.set)
        return True
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        return False


def run(config: HarnessConfig, *, progress: ProgressFn | None = None, **kwargs: Any) -> dict[str, Any]:
    """Synchronous entry point (the management command, tests); keyword arguments as ``run_load``."""
    return run_event_loop(run_load(config, progress=progress, **kwargs))
