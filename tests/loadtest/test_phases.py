"""Reporting of the open loop and the mixed read/write run: phases, timeline, the during table, plots."""

from __future__ import annotations

import pytest

from apps.loadtest.during import (
    AFTER,
    BEFORE,
    DURING,
    DuringConfig,
    OperationResult,
    ProbeSample,
    format_during,
    probe_summary,
    recall_at_k,
    search_request_summary,
)
from apps.loadtest.report import RunEvent, format_phase_table, format_starts, phase_breakdown, timeline

EVENTS = [
    RunEvent(0.2, 0.3, "a", 100.0, False),
    RunEvent(0.5, 1.7, "b", 1200.0, True),
    RunEvent(1.1, 1.2, "a", 100.0, False),
    RunEvent(2.5, 2.9, "a", 400.0, False),
    RunEvent(2.6, 2.7, "b", 100.0, False),
]


def test_phase_breakdown_groups_runs_by_the_phase_of_their_scheduled_start():
    phases = phase_breakdown(EVENTS, lambda t: "burst" if 1 <= t < 2 else "base", ("base", "burst"))
    assert list(phases) == ["base", "burst"]
    base, burst = phases["base"], phases["burst"]
    assert (base["runs"], base["failures"], base["p50_ms"], base["max_ms"]) == (4, 1, 100.0, 1200.0)
    assert base["scenarios"]["b"] == {"runs": 2, "failures": 1, "failure_pct": 50.0, "p50_ms": 100.0, "p95_ms": 1200.0, "p99_ms": 1200.0, "max_ms": 1200.0}
    assert burst["runs"] == 1 and list(burst["scenarios"]) == ["a"]
    empty = phase_breakdown([], lambda t: "base", ("base", "burst"))
    assert empty["burst"]["runs"] == 0 and empty["burst"]["p99_ms"] is None
    table = format_phase_table(phases, "phase / scenario")
    assert table.splitlines()[2].startswith("base") and "  a" in table


def test_timeline_buckets_starts_finishes_failures_and_latency():
    rows = timeline(EVENTS, bucket_s=1.0, end_s=3.0)
    assert [r["t_s"] for r in rows] == [0.0, 1.0, 2.0]
    assert [r["started"] for r in rows] == [2, 1, 2]
    assert [r["finished"] for r in rows] == [1, 2, 2]  # the slow b finished in the second bucket
    assert [r["failures"] for r in rows] == [1, 0, 0]
    assert rows[0]["p99_ms"] == 1200.0 and rows[2]["p50_ms"] == 100.0
    assert timeline([], bucket_s=1.0) == []
    with pytest.raises(ValueError):
        timeline(EVENTS, bucket_s=0)


def test_format_starts_shows_offered_achieved_late_and_dropped():
    line = format_starts({"offered_per_s": 20.0, "scheduled_per_s": 19.6, "achieved_per_s": 19.2, "late": 3, "late_after_ms": 50.0,
                          "late_pct": 0.25, "max_lag_ms": 80.0, "dropped": 4, "dropped_pct": 0.33}, "20/s Poisson")
    assert "offered 20.0/s" in line and "achieved 19.2/s" in line and "3 late starts" in line and "4 dropped" in line


def test_operation_phases_and_rows_per_second():
    op = OperationResult("ingest", started_s=10.0, finished_s=30.0, job_id=7, status="succeeded", detail={"rows_read": 4000, "rows_per_s": None})
    assert [op.phase_of(t) for t in (0, 9.99, 10, 30, 30.01)] == [BEFORE, BEFORE, DURING, DURING, AFTER]
    assert op.summary()["rows_per_s"] == 200.0  # from the harness's view when the job does not say
    assert OperationResult("rebuild", detail={"rows_done": 10}).summary()["rows_per_s"] is None
    not_started = OperationResult("rebuild")
    assert not_started.phase_of(100.0) == BEFORE


def test_during_config_requests():
    assert DuringConfig("ingest", path="data/w.parquet").start_request() == ("/api/v1/ingest/", {"path": "data/w.parquet"})
    rebuild = DuringConfig("rebuild")
    assert rebuild.start_request() == ("/api/v1/indexes/workers/rebuild/", None)
    assert rebuild.detail_path(3) == "/api/v1/indexes/jobs/3/"
    assert DuringConfig("ingest", path="x").detail_path(3) == "/api/v1/ingest/3/"
    with pytest.raises(ValueError, match="PATH"):
        DuringConfig("ingest")
    with pytest.raises(ValueError):
        DuringConfig("vacuum")


def test_recall_and_probe_summary_per_phase():
    assert recall_at_k(["a", "b", "c"], ["a", "c", "d", "e"]) == 0.5
    assert recall_at_k([], []) == 1.0
    op = OperationResult("rebuild", started_s=10.0, finished_s=20.0)
    samples = [
        ProbeSample(1.0, "q", 5.0, 10, 1.0),
        ProbeSample(2.0, "q", 7.0, 10, 0.9),
        ProbeSample(12.0, "q", 50.0, 8, 0.8),  # short: exact-k broken
        ProbeSample(13.0, "q", 60.0, 0, None, "probe search: HTTP 503"),
        ProbeSample(25.0, "q", 6.0, 10, None),  # no oracle
    ]
    summary = probe_summary(samples, op.phase_of)
    assert summary[BEFORE] == {"searches": 2, "errors": 0, "p50_ms": 5.0, "p99_ms": 7.0, "recall_mean": 0.95, "recall_min": 0.9, "short_results": 0}
    assert summary[DURING]["errors"] == 1 and summary[DURING]["short_results"] == 1 and summary[DURING]["recall_mean"] == 0.8
    assert summary[AFTER]["recall_mean"] is None
    searches = search_request_summary([(1.0, 3.0), (11.0, 9.0), (12.0, 11.0), (21.0, 4.0)], op.phase_of)
    assert searches[DURING] == {"requests": 2, "p50_ms": 9.0, "p99_ms": 11.0}

    during = {
        "operation": op.summary() | {"job_id": 3, "status": "succeeded"},
        "load": {phase: {"runs": 5, "failures": 0, "p50_ms": 10.0, "p99_ms": 30.0} for phase in (BEFORE, DURING, AFTER)},
        "search_requests": searches,
        "probe": summary,
        "recall_note": "recall not measured: no database",
    }
    table = format_during(during)
    lines = table.splitlines()
    assert [line.split()[0] for line in lines[2:5]] == [BEFORE, DURING, AFTER]
    assert "rebuild job 3: succeeded in 10.0 s" in table and "note: recall not measured" in table


def test_plots_are_written_as_png(tmp_path):
    from apps.loadtest.plots import write_plots
    from apps.loadtest.soak import SoakSampler

    op = OperationResult("rebuild", started_s=1.0, finished_s=2.0, job_id=1, status="succeeded")
    report = {
        "config": {"concurrency": None, "warmup_s": 0, "demand": {"rate_per_s": 5, "bursts": [{"multiplier": 3, "length_s": 1, "period_s": 2, "offset_s": 0}]}},
        "demand": "5/s Poisson with bursts 3x for 1s every 2s",
        "timeline": timeline(EVENTS, bucket_s=1.0),
        "during": {
            "operation": op.summary(),
            "search_requests": search_request_summary([(0.5, 3.0), (1.5, 9.0), (2.5, 4.0)], op.phase_of),
            "probe": probe_summary([ProbeSample(0.5, "q", 5.0, 10, 1.0)], op.phase_of),
        },
    }
    ticks = iter(range(100))
    sampler = SoakSampler({"rss": lambda: float(next(ticks))}, interval_s=60)
    for _ in range(8):
        sampler.sample()
    report["soak"] = sampler.report()
    paths = write_plots(report, tmp_path / "multitier.png")
    assert [p.name for p in paths] == ["multitier.png", "multitier-during.png", "multitier-soak.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
