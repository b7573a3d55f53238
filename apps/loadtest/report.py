"""The multitier report: per-scenario counts and latency percentiles, throughput, failure reasons.

Plain Python over plain data: ``ScenarioStats`` accumulates one scenario's runs during the load,
``build_report`` turns the run into the JSON document (``--json-out``), ``format_table`` prints it for
people and ``summary_line`` is the one line CI parses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core.stats import percentile  # also this report's public name for it

MAX_DISTINCT_REASONS = 5


@dataclass
class FailureReason:
    reason: str
    count: int
    example: str = ""  # the detail of the first occurrence


@dataclass
class ScenarioStats:
    """One scenario's measured runs. ``record`` is called once per finished run, on the event loop."""

    name: str
    weight: float = 0.0
    runs: int = 0
    failures: int = 0
    requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    reasons: dict[str, FailureReason] = field(default_factory=dict)  # first MAX_DISTINCT_REASONS, in order seen
    other_failures: int = 0  # failures whose reason came after the first MAX_DISTINCT_REASONS distinct ones

    def record(self, latency_ms: float, requests: int, reason: str | None = None, detail: str = "") -> None:
        self.runs += 1
        self.requests += requests
        self.latencies_ms.append(latency_ms)
        if reason is None:
            return
        self.failures += 1
        known = self.reasons.get(reason)
        if known is not None:
            known.count += 1
        elif len(self.reasons) < MAX_DISTINCT_REASONS:
            self.reasons[reason] = FailureReason(reason, 1, detail)
        else:
            self.other_failures += 1

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        mean = sum(ordered) / len(ordered) if ordered else None

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        return {
            "weight": self.weight,
            "runs": self.runs,
            "failures": self.failures,
            "failure_pct": failure_pct(self.failures, self.runs),
            "requests": self.requests,
            "p50_ms": ms(percentile(ordered, 50)),
            "p95_ms": ms(percentile(ordered, 95)),
            "p99_ms": ms(percentile(ordered, 99)),
            "max_ms": ms(ordered[-1] if ordered else None),
            "mean_ms": ms(mean),
            "failure_reasons": [{"reason": r.reason, "count": r.count, "example": r.example} for r in self.reasons.values()],
            "other_failures": self.other_failures,
        }


def failure_pct(failures: int, runs: int) -> float:
    return round(100.0 * failures / runs, 3) if runs else 0.0


def build_report(
    stats: Mapping[str, ScenarioStats],
    *,
    measured_s: float,
    config: Mapping[str, Any],
    footprint: Mapping[str, Any] | None = None,
    interrupted: bool = False,
    started_at: str = "",
) -> dict[str, Any]:
    """The full JSON report. Throughput counts the scenarios that started in the measured window over
    that window's length (from the end of warm-up until the last of them finished)."""
    scenarios = {name: s.summary() for name, s in stats.items()}
    runs = sum(s.runs for s in stats.values())
    failures = sum(s.failures for s in stats.values())
    requests = sum(s.requests for s in stats.values())
    per_s = (lambda n: round(n / measured_s, 2) if measured_s > 0 else 0.0)
    return {
        "started_at": started_at,
        "config": dict(config),
        "measured_s": round(measured_s, 3),
        "interrupted": interrupted,
        "totals": {
            "runs": runs,
            "failures": failures,
            "failure_pct": failure_pct(failures, runs),
            "requests": requests,
            "scenarios_per_s": per_s(runs),
            "requests_per_s": per_s(requests),
        },
        "scenarios": scenarios,
        "not_run": sorted(name for name, s in stats.items() if s.runs == 0),
        "footprint": dict(footprint) if footprint is not None else None,
        # What CI gates on: something ran, nothing failed, every scenario in the mix ran at least once.
        "ok": runs > 0 and failures == 0 and all(s.runs > 0 for s in stats.values()),
    }


def summary_line(report: Mapping[str, Any]) -> str:
    """One compact JSON line for CI logs: totals and per-scenario runs/failures/p50/p99."""
    totals = report["totals"]
    return json.dumps(
        {
            "multitier": {
                "ok": report["ok"],
                "scenarios_per_s": totals["scenarios_per_s"],
                "requests_per_s": totals["requests_per_s"],
                "runs": totals["runs"],
                "failures": totals["failures"],
                "failure_pct": totals["failure_pct"],
                "measured_s": report["measured_s"],
                "concurrency": report["config"].get("concurrency"),
                "scenarios": {
                    name: {k: s[k] for k in ("runs", "failures", "failure_pct", "p50_ms", "p99_ms")}
                    for name, s in report["scenarios"].items()
                },
            }
        },
        separators=(",", ":"),
    )


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(report: Mapping[str, Any]) -> str:
    """The human report: one row per scenario, a total row, then the first failure reasons."""
    header = f"{'scenario':<24}{'runs':>8}{'fail':>7}{'fail %':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'req':>8}"
    lines = [header, "-" * len(header)]
    for name, s in report["scenarios"].items():
        lines.append(
            f"{name:<24}{s['runs']:>8}{s['failures']:>7}{s['failure_pct']:>8.2f}"
            f"{_cell(s['p50_ms']):>9}{_cell(s['p95_ms']):>9}{_cell(s['p99_ms']):>9}{_cell(s['max_ms']):>9}{s['requests']:>8}"
        )
    totals = report["totals"]
    lines.append("-" * len(header))
    lines.append(f"{'total':<24}{totals['runs']:>8}{totals['failures']:>7}{totals['failure_pct']:>8.2f}")
    config = report["config"]
    lines.append(
        f"{totals['scenarios_per_s']:.1f} scenarios/s, {totals['requests_per_s']:.1f} requests/s over {report['measured_s']:.1f} s "
        + (f"(open loop, up to {config.get('max_in_flight')} in flight" if config.get("mode") == "open" else f"(concurrency {config.get('concurrency')}")
        + f", warm-up {config.get('warmup_s')} s, seed {config.get('seed')}"
        + (f", corpus {config['corpus_workers']} workers)" if config.get("corpus_workers") is not None else ")")
        + (" — INTERRUPTED" if report.get("interrupted") else "")
    )
    if report.get("not_run"):
        lines.append(f"never ran: {', '.join(report['not_run'])} (run longer)")
    failing = {name: s for name, s in report["scenarios"].items() if s["failures"]}
    if failing:
        lines.append("")
        lines.append("first failure reasons:")
        for name, s in failing.items():
            lines.append(f"  {name} ({s['failures']} failed)")
            for reason in s["failure_reasons"]:
                example = f"  [e.g. {reason['example']}]" if reason["example"] else ""
                lines.append(f"    {reason['count']:>6} × {reason['reason']}{example}")
            if s["other_failures"]:
                lines.append(f"    {s['other_failures']:>6} × (other reasons)")
    return "\n".join(lines)


# ----------------------------------------------------------------------- events, phases, timeline


@dataclass(frozen=True)
class RunEvent:
    """One measured scenario run on the run's own clock (seconds from the start of measuring):
    ``start`` is the *scheduled* start in the open loop, ``latency_ms`` runs from there."""

    start: float
    end: float
    scenario: str
    latency_ms: float
    failed: bool


def _latency_cells(latencies: list[float]) -> dict[str, float | None]:
    ordered = sorted(latencies)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {"p50_ms": ms(percentile(ordered, 50)), "p95_ms": ms(percentile(ordered, 95)), "p99_ms": ms(percentile(ordered, 99)),
            "max_ms": ms(ordered[-1] if ordered else None)}


def phase_breakdown(events: Sequence[RunEvent], phase_of: Any, phases: Sequence[str]) -> dict[str, dict[str, Any]]:
    """phase → {"runs", "failures", "failure_pct", p50/p95/p99/max over all scenarios, "scenarios":
    {name → the same per scenario}}; a run belongs to the phase of its (scheduled) start."""
    grouped: dict[str, dict[str, list[RunEvent]]] = {phase: {} for phase in phases}
    for event in events:
        grouped.setdefault(phase_of(event.start), {}).setdefault(event.scenario, []).append(event)

    def cells(runs: list[RunEvent]) -> dict[str, Any]:
        failures = sum(1 for e in runs if e.failed)
        return {"runs": len(runs), "failures": failures, "failure_pct": failure_pct(failures, len(runs)),
                **_latency_cells([e.latency_ms for e in runs])}

    out: dict[str, dict[str, Any]] = {}
    for phase, by_scenario in grouped.items():
        every = [e for runs in by_scenario.values() for e in runs]
        out[phase] = {**cells(every), "scenarios": {name: cells(runs) for name, runs in sorted(by_scenario.items())}}
    return out


def timeline(events: Sequence[RunEvent], *, bucket_s: float = 1.0, end_s: float | None = None) -> list[dict[str, Any]]:
    """Per bucket of ``bucket_s``: scenarios started (by scheduled start) and finished, failures,
    and the p50/p99 of the runs that started in it — what the throughput/latency plot draws."""
    if bucket_s <= 0:
        raise ValueError("bucket_s must be > 0")
    last = max([end_s or 0.0, *(e.end for e in events)], default=0.0)
    count = max(1, math.ceil(last / bucket_s)) if last > 0 else 0
    started: list[list[float]] = [[] for _ in range(count)]
    finished = [0] * count
    failures = [0] * count
    for e in events:
        i = min(count - 1, max(0, int(e.start // bucket_s)))
        started[i].append(e.latency_ms)
        failures[i] += e.failed
        j = min(count - 1, max(0, int(e.end // bucket_s)))
        finished[j] += 1
    rows = []
    for i in range(count):
        ordered = sorted(started[i])
        rows.append({
            "t_s": round(i * bucket_s, 3),
            "started": len(ordered),
            "finished": finished[i],
            "failures": failures[i],
            "p50_ms": None if not ordered else round(percentile(ordered, 50), 2),
            "p99_ms": None if not ordered else round(percentile(ordered, 99), 2),
        })
    return rows


def format_phase_table(phases: Mapping[str, Mapping[str, Any]], title: str) -> str:
    """One block per phase: all scenarios, then each scenario, with runs, failures and percentiles."""
    header = f"{title:<26}{'runs':>8}{'fail':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    lines = [header, "-" * len(header)]
    for phase, data in phases.items():
        lines.append(f"{phase:<26}{data['runs']:>8}{data['failures']:>7}{_cell(data['p50_ms']):>9}{_cell(data['p95_ms']):>9}"
                     f"{_cell(data['p99_ms']):>9}{_cell(data['max_ms']):>9}")
        for name, s in data["scenarios"].items():
            lines.append(f"  {name:<24}{s['runs']:>8}{s['failures']:>7}{_cell(s['p50_ms']):>9}{_cell(s['p95_ms']):>9}"
                         f"{_cell(s['p99_ms']):>9}{_cell(s['max_ms']):>9}")
    return "\n".join(lines)


def format_starts(starts: Mapping[str, Any], demand: str) -> str:
    """The open loop's accounting: offered vs achieved rate, late and dropped starts."""
    return (
        f"open loop: {demand}; offered {starts['offered_per_s']:.1f}/s, scheduled {starts['scheduled_per_s']:.1f}/s, "
        f"achieved {starts['achieved_per_s']:.1f}/s; {starts['late']} late starts (> {starts['late_after_ms']:.0f} ms behind schedule, "
        f"{starts['late_pct']:.2f} %, max lag {starts['max_lag_ms']:.0f} ms), {starts['dropped']} dropped "
        f"({starts['dropped_pct']:.2f} %: every in-flight slot busy)"
    )
