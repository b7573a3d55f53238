"""The multitier load generator: ``concurrency`` simulated coordinators on one asyncio event loop,
each running weighted random scenarios against the API over real HTTP until the time is up.

One shared ``httpx.AsyncClient`` carries every request over HTTP/1.1 keep-alive connections —
exactly ``concurrency`` of them, one per simulated coordinator (see
``PerClientConnectionTransport``) — so the generator, which shares the cores with the server, spends
its share on requests rather than on connection set-up or pool bookkeeping. Client *i* draws from ``random.Random(seed + i)``, so a seed replays the
same sequence of scenarios and inputs per client (the server's timing still interleaves them).

Scenarios that *start* during warm-up run but are not recorded; scenarios that start in the measured
window are recorded even if they finish after it, and the window is measured up to the last of them,
so throughput = recorded scenarios / measured seconds is never flattered.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import re
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from itertools import accumulate
from typing import Any

import httpx

from apps.loadtest.footprint import FootprintSampler, FootprintTargets
from apps.loadtest.report import ScenarioStats, build_report
from apps.loadtest.scenarios import ApiClient, CheckFailed, Scenario, ScenarioContext, http_failure_reason, select_scenarios

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

# Below gunicorn's default keep-alive (2 s): the client drops an idle connection before the server
# does, so a request never races a server-side close on a reused socket.
KEEPALIVE_EXPIRY_S = 1.5


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

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be ≥ 1")
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
        return data


ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class _Window:
    """Timeline of a run on the perf_counter clock; shared by every client task."""

    measure_start: float
    deadline: float
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    last_finish: float = 0.0


def _skip_failing_sniffio_import() -> None:
    """httpcore runs ``import sniffio`` on every lock set-up, i.e. several times per request, and
    Python doesn't cache a failed import: without sniffio installed (anyio ≥ 4.11 no longer pulls it
    in) each request pays a full sys.path scan, ~0.3 ms of the generator's CPU (encode/httpcore#1103).
    A ``None`` entry in sys.modules makes that import fail at once; httpcore then assumes asyncio,
    which is what we run. Installing sniffio removes the need for this."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


# The simulated coordinator (client task index) the current asyncio task is; -1 outside the clients.
_client_slot: contextvars.ContextVar[int] = contextvars.ContextVar("multitier_client_slot", default=-1)


class PerClientConnectionTransport(httpx.AsyncBaseTransport):
    """One keep-alive connection per simulated coordinator behind the one shared AsyncClient.

    httpcore's pool scans every pooled connection on every request (idle/expiry checks, including a
    readability poll of each idle socket), so one pool of 50 connections costs the generator ~4.7 ms
    of CPU per request at concurrency 50 (measured) — at the ~1,000 requests/s the SPEC's target
    implies, more than both cores of this machine. Routing each client task to its own one-connection pool (keyed by a context variable
    the task sets) keeps the work per request constant; there are still exactly ``concurrency``
    connections, each reused by one coordinator like a browser's keep-alive connection.
    """

    def __init__(self, *, keepalive_expiry: float) -> None:
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = httpx.create_ssl_context()  # loaded once, shared by every pool
        self._pools: dict[int, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        slot = _client_slot.get()
        pool = self._pools.get(slot)
        if pool is None:
            pool = self._pools[slot] = httpx.AsyncHTTPTransport(
                verify=self._ssl_context,
                http1=True,
                http2=False,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=self._keepalive_expiry),
            )
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def _make_http_client(config: HarnessConfig) -> httpx.AsyncClient:
    _skip_failing_sniffio_import()
    return httpx.AsyncClient(
        base_url=config.base_url.rstrip("/"),
        headers={
            "Authorization": f"Token {config.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "lakehouse-multitier",
        },
        transport=PerClientConnectionTransport(keepalive_expiry=KEEPALIVE_EXPIRY_S),
        timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
        follow_redirects=False,
        # Proxy variables from the environment must not reroute a load test of a local server.
        trust_env=False,
    )


async def preflight(http: httpx.AsyncClient) -> int:
    """Fail fast, with the reason, when the target can't be driven; returns the corpus size."""
    try:
        whoami = await http.get("/api/v1/whoami")
        if whoami.status_code != 200:
            raise HarnessError(http_failure_reason("token check (GET /api/v1/whoami)", whoami.status_code, whoami.content))
        workers = await http.get("/api/v1/workers/", params={"page_size": 1})
        if workers.status_code != 200:
            raise HarnessError(http_failure_reason("corpus check (GET /api/v1/workers/)", workers.status_code, workers.content))
    except httpx.HTTPError as exc:
        raise HarnessError(f"cannot reach {http.base_url}: {type(exc).__name__}: {exc}") from exc
    count = int(workers.json().get("count") or 0)
    if count == 0:
        raise HarnessError("the worker corpus is empty: ingest workers first (manage.py ingest_workers ...)")
    return count


async def _client_loop(
    index: int,
    http: httpx.AsyncClient,
    scenarios: tuple[Scenario, ...],
    stats: dict[str, ScenarioStats],
    window: _Window,
    config: HarnessConfig,
    today: date,
    run_tag: str,
) -> None:
    _client_slot.set(index)  # this task's requests use this coordinator's own connection
    rng = random.Random(config.seed + index)
    client = ApiClient(http)
    ctx = ScenarioContext(client_index=index, today=today, run_tag=run_tag)
    cum_weights = tuple(accumulate(s.weight for s in scenarios))
    clock = time.perf_counter
    while not window.stop.is_set():
        started = clock()
        if started >= window.deadline:
            break
        scenario = rng.choices(scenarios, cum_weights=cum_weights)[0]
        requests_before = client.requests
        reason: str | None = None
        detail = ""
        try:
            await scenario.run(client, rng, ctx)
        except CheckFailed as failure:
            reason, detail = failure.reason, failure.detail
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            # A response missing a field the SPEC promises (or a harness bug): a failed run either way,
            # and the client keeps going.
            reason = f"malformed response: {type(exc).__name__}: {exc}"[:240]
        finished = clock()
        if started >= window.measure_start:
            stats[scenario.name].record((finished - started) * 1000.0, client.requests - requests_before, reason, detail)
            if finished > window.last_finish:
                window.last_finish = finished


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


async def run_load(config: HarnessConfig, *, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run the load described by ``config`` and return the report (see ``report.build_report``)."""
    scenarios = select_scenarios(config.scenarios)
    stats = {s.name: ScenarioStats(s.name, weight=s.weight) for s in scenarios}
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    loop = asyncio.get_running_loop()
    async with _make_http_client(config) as http:
        corpus_workers = await preflight(http)
        begin = time.perf_counter()
        window = _Window(measure_start=begin + config.warmup_s, deadline=begin + config.warmup_s + config.duration_s)
        sigint_handled = _handle_sigint(loop, window.stop)
        footprint_task = asyncio.create_task(_start_footprint(config.footprint, window)) if config.footprint else None
        progress_task = None
        if progress is not None and config.progress_every_s > 0:
            progress_task = asyncio.create_task(_progress(window, stats, config.progress_every_s, progress))
        today, run_tag = date.today(), secrets.token_hex(3)
        try:
            await asyncio.gather(
                *(_client_loop(i, http, scenarios, stats, window, config, today, run_tag) for i in range(config.concurrency))
            )
        finally:
            interrupted = window.stop.is_set()  # only Ctrl-C sets it before the clients are done
            window.stop.set()
            if sigint_handled:
                loop.remove_signal_handler(signal.SIGINT)
            if progress_task is not None:
                progress_task.cancel()
                await asyncio.gather(progress_task, return_exceptions=True)
            sampler = await footprint_task if footprint_task is not None else None
    footprint = await asyncio.to_thread(sampler.stop) if sampler is not None else None
    end = window.last_finish or min(time.perf_counter(), window.deadline)
    measured_s = max(0.0, end - window.measure_start)
    return build_report(
        stats,
        measured_s=measured_s,
        config={**config.public(), "corpus_workers": corpus_workers},
        footprint=footprint,
        interrupted=interrupted,
        started_at=started_at,
    )


async def _start_footprint(targets: FootprintTargets, window: _Window) -> FootprintSampler | None:
    """Start sampling when the measured window opens (warm-up is not the steady state)."""
    delay = window.measure_start - time.perf_counter()
    if delay > 0:
        try:
            await asyncio.wait_for(window.stop.wait(), timeout=delay)
            return None  # stopped during warm-up
        except asyncio.TimeoutError:
            pass
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


def run(config: HarnessConfig, *, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Synchronous entry point (the management command, tests)."""
    return asyncio.run(run_load(config, progress=progress))
