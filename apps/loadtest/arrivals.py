"""Open-loop demand: when scenarios *should* start, whatever the server does.

A closed loop (N clients, each starting its next scenario when the last one ends) slows down with the
server, so its percentiles understate what users feel when demand does not wait (coordinated
omission). The open loop fixes the start times in advance — a Poisson process at the offered rate,
shaped by bursts — and measures every scenario's latency from its *scheduled* start.

Plain Python, no I/O: the schedule, the burst parser, the phase of an instant and the knee search
are tested on their own with a seeded ``random.Random``.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE = "base"
BURST = "burst"

_NUMBER = r"(\d+(?:\.\d+)?)"
_DURATION = rf"{_NUMBER}\s*(ms|s|m|h)?"
# "3x for 10s every 60s", optionally "... starting at 30s" (default: the first burst opens at 0).
_BURST_RE = re.compile(
    rf"^\s*{_NUMBER}\s*x\s+for\s+{_DURATION}\s+every\s+{_DURATION}(?:\s+(?:starting\s+)?at\s+{_DURATION})?\s*$",
    re.IGNORECASE,
)
_RATE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?:/\s*s)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(number: str, unit: str | None) -> float:
    return float(number) * _UNIT_SECONDS[(unit or "s").lower()]


def parse_rate(text: str | float) -> float:
    """'20/s', '20' or 20 → 20.0 scenarios per second (> 0)."""
    if isinstance(text, (int, float)):
        rate = float(text)
    else:
        match = _RATE_RE.match(text)
        if not match:
            raise ValueError(f"not an arrival rate: {text!r} (use e.g. 20/s)")
        rate = float(match.group(1))
    if rate <= 0:
        raise ValueError(f"an arrival rate must be > 0: {text!r}")
    return rate


@dataclass(frozen=True)
class Burst:
    """Demand × ``multiplier`` for ``length_s`` every ``period_s``, the first one opening at ``offset_s``."""

    multiplier: float
    length_s: float
    period_s: float
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        if self.multiplier <= 0:
            raise ValueError("a burst multiplier must be > 0")
        if self.length_s <= 0 or self.period_s <= 0:
            raise ValueError("a burst needs a length and a period > 0")
        if self.length_s > self.period_s:
            raise ValueError("a burst cannot last longer than its period")
        if self.offset_s < 0:
            raise ValueError("a burst offset cannot be negative")

    def active(self, t: float) -> bool:
        if t < self.offset_s:
            return False
        return (t - self.offset_s) % self.period_s < self.length_s

    def describe(self) -> str:
        at = f" at {self.offset_s:g}s" if self.offset_s else ""
        return f"{self.multiplier:g}x for {self.length_s:g}s every {self.period_s:g}s{at}"


def parse_burst(text: str) -> Burst:
    """'3x for 10s every 60s' (durations take ms/s/m/h; optional 'at 30s' shifts the first burst)."""
    match = _BURST_RE.match(text)
    if not match:
        raise ValueError(f"not a burst: {text!r} (use e.g. '3x for 10s every 60s')")
    multiplier, length, length_unit, period, period_unit, offset, offset_unit = match.groups()
    return Burst(
        float(multiplier),
        _seconds(length, length_unit),
        _seconds(period, period_unit),
        _seconds(offset, offset_unit) if offset else 0.0,
    )


@dataclass(frozen=True)
class DemandProfile:
    """The offered arrival rate over time: a base rate and bursts on top (overlapping bursts do not
    stack: the largest multiplier active at an instant applies)."""

    rate: float
    bursts: tuple[Burst, ...] = ()

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("an arrival rate must be > 0")

    def multiplier_at(self, t: float) -> float:
        return max((b.multiplier for b in self.bursts if b.active(t)), default=1.0)

    def rate_at(self, t: float) -> float:
        return self.rate * self.multiplier_at(t)

    def phase_at(self, t: float) -> str:
        return BURST if any(b.active(t) for b in self.bursts) else BASE

    @property
    def peak_rate(self) -> float:
        return self.rate * max([1.0, *(b.multiplier for b in self.bursts)])

    def expected_arrivals(self, start: float, end: float, step: float = 0.01) -> float:
        """∫ rate dt over [start, end) (numerically; bursts are step functions)."""
        steps = max(1, int(math.ceil((end - start) / step)))
        width = (end - start) / steps
        return sum(self.rate_at(start + (i + 0.5) * width) for i in range(steps)) * width

    def describe(self) -> str:
        text = f"{self.rate:g}/s Poisson"
        if self.bursts:
            text += " with bursts " + "; ".join(b.describe() for b in self.bursts)
        return text

    def public(self) -> dict[str, Any]:
        return {
            "rate_per_s": self.rate,
            "bursts": [{"multiplier": b.multiplier, "length_s": b.length_s, "period_s": b.period_s, "offset_s": b.offset_s} for b in self.bursts],
        }


def load_profile(path: Path, *, rate: float | None = None) -> DemandProfile:
    """A profile file: JSON ``{"rate": "20/s", "bursts": ["3x for 10s every 60s", ...]}``, or plain
    text with a ``rate 20/s`` line and one burst per line (``#`` starts a comment). ``rate`` (from
    ``--arrival-rate``) wins over the file's."""
    text = Path(path).read_text()
    file_rate: float | None = None
    bursts: list[Burst] = []
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        if "rate" in data:
            file_rate = parse_rate(data["rate"])
        bursts = [parse_burst(b) for b in data.get("bursts", ())]
    else:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                if line.lower().startswith("rate"):
                    file_rate = parse_rate(line[4:].strip(" :="))
                else:
                    bursts.append(parse_burst(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    chosen = rate if rate is not None else file_rate
    if chosen is None:
        raise ValueError(f"{path}: no rate (add a 'rate 20/s' line or pass --arrival-rate)")
    return DemandProfile(chosen, tuple(bursts))


def poisson_arrivals(profile: DemandProfile, rng: random.Random, *, start: float = 0.0, end: float | None = None) -> Iterator[float]:
    """Arrival times (seconds from 0) of a Poisson process whose rate follows ``profile``.

    Non-homogeneous Poisson by thinning (Lewis & Shedler): draw exponential gaps at the peak rate and
    keep each candidate with probability rate(t) / peak. A generator, so a run whose end moves (the
    load waits for an operation to finish) simply keeps drawing; ``end`` None = unbounded.
    """
    peak = profile.peak_rate
    t = start
    while True:
        t += rng.expovariate(peak)
        if end is not None and t >= end:
            return
        if rng.random() * peak < profile.rate_at(t):
            yield t


# ---------------------------------------------------------------------------- start accounting

# A scenario starting more than this after its scheduled time is "late": the generator (not the
# server) could not keep up, and the report says so rather than blaming latency on the server.
LATE_AFTER_S = 0.05


@dataclass
class StartAccounting:
    """Scheduled vs actual starts: late ones (the generator fell behind) and dropped ones (every
    connection of the in-flight cap was busy, so a start was given up and counted as a failure)."""

    scheduled: int = 0
    started: int = 0
    late: int = 0
    dropped: int = 0
    max_lag_s: float = 0.0
    total_lag_s: float = 0.0

    def record_start(self, scheduled_at: float, started_at: float) -> None:
        self.scheduled += 1
        self.started += 1
        lag = max(0.0, started_at - scheduled_at)
        self.total_lag_s += lag
        self.max_lag_s = max(self.max_lag_s, lag)
        if lag > LATE_AFTER_S:
            self.late += 1

    def record_drop(self) -> None:
        self.scheduled += 1
        self.dropped += 1

    def summary(self, measured_s: float, offered: float | None = None) -> dict[str, Any]:
        per_s = (lambda n: round(n / measured_s, 2) if measured_s > 0 else 0.0)
        return {
            "scheduled": self.scheduled,
            "started": self.started,
            "late": self.late,
            "late_pct": round(100.0 * self.late / self.started, 3) if self.started else 0.0,
            "dropped": self.dropped,
            "dropped_pct": round(100.0 * self.dropped / self.scheduled, 3) if self.scheduled else 0.0,
            "offered_per_s": round(offered, 2) if offered is not None else per_s(self.scheduled),
            "scheduled_per_s": per_s(self.scheduled),
            "achieved_per_s": per_s(self.started),
            "mean_lag_ms": round(1000.0 * self.total_lag_s / self.started, 2) if self.started else 0.0,
            "max_lag_ms": round(1000.0 * self.max_lag_s, 2),
            "late_after_ms": LATE_AFTER_S * 1000.0,
        }


# -------------------------------------------------------------------------------------- the knee

P99_LIMIT_MS = 1000.0


def knee_rates(start: float, factor: float, steps: int) -> list[float]:
    """The arrival rates a knee search tries: start, start × factor, … (rounded to 0.1/s)."""
    if start <= 0 or factor <= 1 or steps < 1:
        raise ValueError("a knee search needs a start rate > 0, a factor > 1 and at least one step")
    return [round(start * factor**i, 1) for i in range(steps)]


def sustains(result: Mapping[str, Any], p99_limit_ms: float = P99_LIMIT_MS) -> bool:
    """A step passes when every scenario's p99 is under the limit, nothing failed and nothing was dropped."""
    totals = result["totals"]
    if totals["runs"] == 0 or totals["failures"] > 0:
        return False
    if result.get("starts", {}).get("dropped", 0) > 0:
        return False
    return all(s["p99_ms"] is not None and s["p99_ms"] < p99_limit_ms for s in result["scenarios"].values() if s["runs"])


def find_knee(results: Sequence[tuple[float, Mapping[str, Any]]], p99_limit_ms: float = P99_LIMIT_MS) -> float | None:
    """The highest rate of the ascending steps that passed before the first one that did not
    (a later lucky pass past a failure is noise, not capacity). None when even the first failed."""
    knee = None
    for rate, result in sorted(results, key=lambda item: item[0]):
        if not sustains(result, p99_limit_ms):
            break
        knee = rate
    return knee
