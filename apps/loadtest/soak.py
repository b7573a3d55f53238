"""Soak: sample the stack's resources every N seconds during a long run and flag what keeps growing.

``SoakSampler`` is a thread that calls named probes (plain callables returning a number or None)
on a fixed interval; ``stack_probes`` builds the probes for this stack — its own processes only,
found by ``footprint.discover`` — and ``assess_growth`` decides, per series, whether growth levels
off. The detector is plain Python over lists, tested on synthetic series.

Why "the second half's slope against the first half's": a process warms up (caches fill, pools
open, the interaction table grows with every request by design), so an early rise is normal. A leak
is growth that does not slow down: the line fitted to the second half still climbs at least half as
fast as the first half's, and the whole run's growth is a visible share of the series' mean.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FLAT = "flat"
LEVELS_OFF = "levels off"
GROWING = "growing"
TOO_SHORT = "too few samples"

# The whole run's fitted growth must be at least this share of the mean to count as growth at all
# (RSS wobbles by a few % with the allocator; a 60-minute leak of interest is well above that).
GROWTH_SHARE = 0.05
# The second half still climbs at ≥ this share of the first half's slope: not levelling off.
LEVEL_RATIO = 0.5
MIN_SAMPLES = 6


def fit_slope(ts: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares line through (t, y): (slope per unit of t, intercept). Slope 0 for < 2 points
    or when every t is the same."""
    n = len(ts)
    if n != len(ys):
        raise ValueError("ts and ys differ in length")
    if n < 2:
        return 0.0, (ys[0] if ys else 0.0)
    mean_t, mean_y = sum(ts) / n, sum(ys) / n
    var = sum((t - mean_t) ** 2 for t in ts)
    if var == 0:
        return 0.0, mean_y
    slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys)) / var
    return slope, mean_y - slope * mean_t


def assess_growth(ts: Sequence[float], ys: Sequence[float], *, growth_share: float = GROWTH_SHARE, level_ratio: float = LEVEL_RATIO) -> dict[str, Any]:
    """Fit the whole series and each half; the verdict is ``flat``, ``levels off`` or ``growing``
    (the flag). Slopes are per hour, in the series' own unit."""
    points = [(t, y) for t, y in zip(ts, ys) if y is not None]
    if len(points) < MIN_SAMPLES:
        return {"verdict": TOO_SHORT, "samples": len(points), "flag": False}
    ts_, ys_ = [p[0] for p in points], [float(p[1]) for p in points]
    half = len(points) // 2
    slope, _ = fit_slope(ts_, ys_)
    first, _ = fit_slope(ts_[:half], ys_[:half])
    second, _ = fit_slope(ts_[half:], ys_[half:])
    span = ts_[-1] - ts_[0]
    mean = sum(ys_) / len(ys_)
    growth = slope * span
    share = growth / abs(mean) if mean else (float("inf") if growth > 0 else 0.0)
    if share < growth_share:
        verdict = FLAT
    elif second <= 0 or (first > 0 and second < level_ratio * first):
        verdict = LEVELS_OFF
    else:
        verdict = GROWING
    return {
        "verdict": verdict,
        "flag": verdict == GROWING,
        "samples": len(points),
        "first": ys_[0],
        "last": ys_[-1],
        "mean": round(mean, 3),
        "slope_per_h": round(slope * 3600, 3),
        "first_half_slope_per_h": round(first * 3600, 3),
        "second_half_slope_per_h": round(second * 3600, 3),
        "growth_pct_of_mean": round(100 * share, 2) if share != float("inf") else None,
    }


Probe = Callable[[], "float | None"]


@dataclass
class SoakSampler:
    """Calls every probe every ``interval_s`` in a daemon thread; a probe that raises records None
    (and its first error), so one unreachable dependency does not stop the others being sampled."""

    probes: Mapping[str, Probe]
    interval_s: float = 30.0
    on_sample: Callable[[], None] | None = None  # e.g. release the thread's database connection
    ts: list[float] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError("the soak interval must be > 0")
        self.series = {name: [] for name in self.probes}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="soak-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        next_at = self._t0 + self.interval_s
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            self.sample()
            next_at += self.interval_s

    def sample(self) -> None:
        self.ts.append(round(time.monotonic() - self._t0, 3))
        for name, probe in self.probes.items():
            try:
                value = probe()
            except Exception as exc:  # noqa: BLE001 — any probe failure is data, not a crash of the run
                value = None
                self.errors.setdefault(name, f"{type(exc).__name__}: {exc}"[:200])
            self.series[name].append(None if value is None else float(value))
        if self.on_sample is not None:
            self.on_sample()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self.sample()  # the end state, so a short soak still has its last point
        return self.report()

    def report(self) -> dict[str, Any]:
        trends = {name: assess_growth(self.ts, values) for name, values in self.series.items()}
        return {
            "interval_s": self.interval_s,
            "samples": len(self.ts),
            "ts": list(self.ts),
            "series": {name: list(values) for name, values in self.series.items()},
            "trends": trends,
            "flagged": sorted(name for name, trend in trends.items() if trend["flag"]),
            "errors": dict(self.errors),
        }


def format_soak_table(soak: Mapping[str, Any]) -> str:
    header = f"{'series':<28}{'first':>12}{'last':>12}{'slope/h':>12}{'1st half/h':>12}{'2nd half/h':>12}{'growth %':>10}  verdict"
    lines = [header, "-" * len(header)]

    def num(value: Any) -> str:
        return "-" if value is None else f"{value:.1f}"

    for name, t in soak["trends"].items():
        lines.append(
            f"{name:<28}{num(t.get('first')):>12}{num(t.get('last')):>12}{num(t.get('slope_per_h')):>12}"
            f"{num(t.get('first_half_slope_per_h')):>12}{num(t.get('second_half_slope_per_h')):>12}{num(t.get('growth_pct_of_mean')):>10}"
            f"  {t['verdict'].upper() if t['flag'] else t['verdict']}"
        )
    lines.append(f"{soak['samples']} samples every {soak['interval_s']:g} s; flagged: {', '.join(soak['flagged']) or 'nothing'}")
    lines.extend(f"probe error: {name}: {error}" for name, error in soak.get("errors", {}).items())
    return "\n".join(lines)


# ------------------------------------------------------------------------------ this stack's probes


def process_probes(targets: Any, discover_fn: Callable[..., tuple[dict[int, str], list[str]]] | None = None) -> dict[str, Probe]:
    """RSS (MB) and open file descriptors per server group, and PostgreSQL client backends — of this
    stack's own processes only (``footprint.discover``: the trees of its gunicorn master, Celery
    master, postmaster and redis-server). Discovery runs once per sample, shared by the probes."""
    import psutil

    from apps.loadtest import footprint

    discover_fn = discover_fn or footprint.discover
    cache: dict[str, Any] = {"at": -1.0}

    def snapshot() -> dict[str, dict[str, float]]:
        now = time.monotonic()
        if now - cache["at"] < 1.0:  # every probe of one sample reads the same snapshot
            return cache["data"]
        groups, _ = discover_fn(targets)
        procs = footprint._snapshot()
        data = {g: {"rss_mb": 0.0, "fds": 0.0, "backends": 0.0} for g in footprint.SERVER_GROUPS}
        for pid, group in groups.items():
            if group not in data:
                continue
            try:
                proc = psutil.Process(pid)
                with proc.oneshot():
                    data[group]["rss_mb"] += proc.memory_info().rss / footprint.MB
                    data[group]["fds"] += proc.num_fds()
            except (psutil.Error, OSError):
                continue
            if group == "postgresql" and pid in procs and footprint.is_client_backend(procs[pid]):
                data[group]["backends"] += 1
        cache.update(at=now, data=data)
        return data

    probes: dict[str, Probe] = {}
    for group in footprint.SERVER_GROUPS:
        probes[f"{group}_rss_mb"] = (lambda g=group: round(snapshot()[g]["rss_mb"], 1))
        probes[f"{group}_open_fds"] = (lambda g=group: snapshot()[g]["fds"])
    probes["postgresql_backends"] = lambda: snapshot()["postgresql"]["backends"]
    return probes


def redis_probes(redis_url: str, queue_names: Sequence[str]) -> dict[str, Probe]:
    """Redis used memory (MB) and the Celery queue depth (the broker's lists, one per queue)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)

    def depth() -> float:
        pipe = client.pipeline()
        for name in queue_names:
            pipe.llen(name)
        return float(sum(pipe.execute()))

    return {
        "redis_used_memory_mb": lambda: round(int(client.info("memory")["used_memory"]) / (1024 * 1024), 2),
        "celery_queue_depth": depth,
    }


def table_probes(tables: Mapping[str, str], execute: Callable[[str], float]) -> dict[str, Probe]:
    """Row counts of the named tables (``execute`` runs one ``SELECT count(*)`` and returns it)."""
    return {f"{label}_rows": (lambda t=table: execute(f'SELECT count(*) FROM "{t}"')) for label, table in tables.items()}
