"""PNG plots of a multitier report, written next to the tables (``--plot PATH``, ``make bench``,
``make soak``): throughput and latency over time, the mixed read/write phases, soak trends.

matplotlib with the Agg backend (files only, no display); imported lazily so the harness itself
does not pay matplotlib's import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # never a display: these run on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def plot_timeline(report: Mapping[str, Any], path: Path) -> Path:
    """Scenarios/s started and finished per bucket (top) and p50/p99 latency of the runs started in
    it (bottom, log scale), with burst windows and the operation's span shaded."""
    plt = _pyplot()
    rows = report.get("timeline") or []
    ts = [r["t_s"] for r in rows]
    bucket = (ts[1] - ts[0]) if len(ts) > 1 else 1.0
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(ts, [r["started"] / bucket for r in rows], label="started /s (scheduled)")
    top.plot(ts, [r["finished"] / bucket for r in rows], label="finished /s", alpha=0.8)
    failures = [r["failures"] / bucket for r in rows]
    if any(failures):
        top.plot(ts, failures, label="failed /s", color="red")
    top.set_ylabel("scenarios / s")
    top.legend(loc="upper right", fontsize=8)
    top.grid(alpha=0.3)
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        points = [(r["t_s"], r[key]) for r in rows if r[key] is not None]
        if points:
            bottom.plot([p[0] for p in points], [p[1] for p in points], label=label)
    bottom.axhline(1000, color="grey", linestyle=":", linewidth=1, label="1 s")
    bottom.set_yscale("log")
    bottom.set_ylabel("scenario latency, ms")
    bottom.set_xlabel("seconds into the measured window")
    bottom.legend(loc="upper right", fontsize=8)
    bottom.grid(alpha=0.3)
    _shade(report, (top, bottom))
    config = report.get("config", {})
    mode = report.get("demand") or f"closed loop, concurrency {config.get('concurrency')}"
    fig.suptitle(f"multitier: {mode}", fontsize=10)
    return _save(fig, plt, path)


def _shade(report: Mapping[str, Any], axes) -> None:
    demand = (report.get("config") or {}).get("demand")
    rows = report.get("timeline") or []
    end = rows[-1]["t_s"] if rows else 0.0
    warmup = (report.get("config") or {}).get("warmup_s") or 0.0
    if demand:
        for burst in demand["bursts"]:
            start = burst["offset_s"] - warmup
            while start < end:
                for ax in axes:
                    ax.axvspan(max(0.0, start), start + burst["length_s"], color="orange", alpha=0.15)
                start += burst["period_s"]
    op = (report.get("during") or {}).get("operation")
    if op and op.get("started_s") is not None and op.get("finished_s") is not None:
        for ax in axes:
            ax.axvspan(op["started_s"], op["finished_s"], color="purple", alpha=0.12)
        axes[0].text(op["started_s"], axes[0].get_ylim()[1] * 0.95, f" {op['kind']}", fontsize=8, va="top")


def plot_during(report: Mapping[str, Any], path: Path) -> Path:
    """Search request latency p50/p99 and probe recall before / during / after the operation."""
    plt = _pyplot()
    during = report["during"]
    phases = ["before", "during", "after"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    x = range(len(phases))
    for offset, key in ((-0.2, "p50_ms"), (0.2, "p99_ms")):
        values = [during["search_requests"][p][key] or 0 for p in phases]
        left.bar([i + offset for i in x], values, width=0.4, label=f"search {key[:3]}")
    left.set_xticks(list(x), phases)
    left.set_ylabel("search request latency, ms")
    left.legend(fontsize=8)
    recalls = [during["probe"][p]["recall_mean"] for p in phases]
    right.bar(list(x), [r if r is not None else 0 for r in recalls], color="green")
    right.set_xticks(list(x), phases)
    right.set_ylim(0, 1.05)
    right.axhline(0.95, color="grey", linestyle=":", linewidth=1)
    right.set_ylabel("recall@10 (probe vs exact)")
    op = during["operation"]
    fig.suptitle(f"search under {op['kind']} (job {op['job_id']}, {op['status']}, {op.get('rows_per_s') or '-'} rows/s)", fontsize=10)
    return _save(fig, plt, path)


def plot_soak(soak: Mapping[str, Any], path: Path) -> Path:
    """One small panel per series, flagged ones titled in red."""
    plt = _pyplot()
    names = list(soak["series"])
    cols = 3
    rows = max(1, (len(names) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.4 * rows), squeeze=False)
    minutes = [t / 60 for t in soak["ts"]]
    for ax, name in zip(axes.flat, names):
        values = soak["series"][name]
        points = [(t, v) for t, v in zip(minutes, values) if v is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], linewidth=1)
        trend = soak["trends"][name]
        ax.set_title(f"{name}: {trend['verdict']}", fontsize=8, color="red" if trend["flag"] else "black")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.supxlabel("minutes", fontsize=8)
    return _save(fig, plt, path)


def _save(fig, plt, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_plots(report: Mapping[str, Any], path: Path) -> list[Path]:
    """The timeline at ``path``; ``-during`` and ``-soak`` variants beside it when the report has them."""
    path = Path(path)
    written = [plot_timeline(report, path)]
    if report.get("during"):
        written.append(plot_during(report, path.with_name(f"{path.stem}-during{path.suffix}")))
    if report.get("soak"):
        written.append(plot_soak(report["soak"], path.with_name(f"{path.stem}-soak{path.suffix}")))
    return written
