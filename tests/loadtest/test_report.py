"""The report math: nearest-rank percentiles, failure bookkeeping, totals, the CI line and the table."""

from __future__ import annotations

import json

import pytest

from apps.loadtest.report import MAX_DISTINCT_REASONS, ScenarioStats, build_report, format_table, percentile, summary_line


@pytest.mark.parametrize(
    ("pct", "expected"),
    [(50, 50.0), (95, 95.0), (99, 99.0), (100, 100.0), (1, 1.0), (99.5, 100.0), (0.5, 1.0)],
)
def test_percentile_is_nearest_rank_on_1_to_100(pct, expected):
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, pct) == expected


def test_percentile_never_interpolates_between_observations():
    # Linear interpolation would answer 15.0 for p50 of [10, 20]; nearest rank answers an observed latency.
    assert percentile([10.0, 20.0], 50) == 10.0
    assert percentile([10.0, 20.0], 51) == 20.0
    # p99 of 10 values is the slowest one, not a blend of the two slowest.
    assert percentile([float(v) for v in range(1, 11)], 99) == 10.0


def test_percentile_of_one_value_and_of_none():
    assert percentile([7.5], 50) == 7.5
    assert percentile([7.5], 99) == 7.5
    assert percentile([], 50) is None


@pytest.mark.parametrize("pct", [0, -1, 100.1])
def test_percentile_rejects_out_of_range(pct):
    with pytest.raises(ValueError):
        percentile([1.0], pct)


def test_scenario_stats_summary_percentiles_and_counts():
    stats = ScenarioStats("profile_swap", weight=15)
    for latency in range(100, 0, -1):  # recorded out of order: the summary must sort
        stats.record(float(latency), requests=2)
    summary = stats.summary()
    assert summary["runs"] == 100
    assert summary["requests"] == 200
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"], summary["max_ms"]) == (50.0, 95.0, 99.0, 100.0)
    assert summary["mean_ms"] == 50.5
    assert summary["failures"] == 0 and summary["failure_pct"] == 0.0


def test_failure_reasons_keep_the_first_five_distinct_with_counts_and_first_example():
    stats = ScenarioStats("cold_search_email")
    stats.record(5.0, 1, "search: HTTP 503 database_unavailable: The database is unavailable", detail="POST /api/v1/workers/search")
    stats.record(5.0, 1, "search: HTTP 503 database_unavailable: The database is unavailable", detail="second example")
    for n in range(1, MAX_DISTINCT_REASONS + 2):  # 6 more distinct reasons: only 4 more fit
        stats.record(5.0, 1, f"reason {n}")
    stats.record(5.0, 1)  # a pass
    summary = stats.summary()
    reasons = summary["failure_reasons"]
    assert len(reasons) == MAX_DISTINCT_REASONS
    assert reasons[0] == {
        "reason": "search: HTTP 503 database_unavailable: The database is unavailable",
        "count": 2,
        "example": "POST /api/v1/workers/search",
    }
    assert [r["reason"] for r in reasons[1:]] == ["reason 1", "reason 2", "reason 3", "reason 4"]
    assert summary["other_failures"] == 2  # "reason 5" and "reason 6"
    assert summary["failures"] == 8
    assert summary["runs"] == 9
    assert summary["failure_pct"] == pytest.approx(100 * 8 / 9, abs=0.001)


def _two_scenarios() -> dict[str, ScenarioStats]:
    ok, bad = ScenarioStats("repeat_cache", weight=15), ScenarioStats("profile_swap", weight=15)
    for _ in range(30):
        ok.record(10.0, 5)
    for n in range(10):
        bad.record(20.0, 2, "swap search: results overlap the excluded ids" if n < 3 else None)
    return {"repeat_cache": ok, "profile_swap": bad}


def test_build_report_totals_throughput_and_ok_flag():
    report = build_report(_two_scenarios(), measured_s=4.0, config={"concurrency": 4, "warmup_s": 0, "seed": 1})
    totals = report["totals"]
    assert totals["runs"] == 40
    assert totals["failures"] == 3
    assert totals["failure_pct"] == 7.5
    assert totals["requests"] == 30 * 5 + 10 * 2
    assert totals["scenarios_per_s"] == 10.0
    assert totals["requests_per_s"] == 42.5
    assert report["ok"] is False  # any failure fails the run


def test_report_is_ok_only_when_every_scenario_ran_and_nothing_failed():
    stats = _two_scenarios()
    stats["profile_swap"] = ScenarioStats("profile_swap")
    stats["profile_swap"].record(1.0, 2)
    assert build_report(stats, measured_s=1.0, config={})["ok"] is True
    stats["sms_validate"] = ScenarioStats("sms_validate")  # in the mix, never ran
    report = build_report(stats, measured_s=1.0, config={})
    assert report["ok"] is False
    assert report["not_run"] == ["sms_validate"]
    assert build_report({}, measured_s=1.0, config={})["ok"] is False  # nothing measured is no pass


def test_summary_line_is_one_line_of_json_with_per_scenario_numbers():
    line = summary_line(build_report(_two_scenarios(), measured_s=4.0, config={"concurrency": 4}))
    assert "\n" not in line
    data = json.loads(line)["multitier"]
    assert data["ok"] is False
    assert data["scenarios_per_s"] == 10.0
    assert data["concurrency"] == 4
    assert data["scenarios"]["profile_swap"] == {"runs": 10, "failures": 3, "failure_pct": 30.0, "p50_ms": 20.0, "p99_ms": 20.0}


def test_table_lists_every_scenario_the_totals_and_the_failure_reasons():
    table = format_table(build_report(_two_scenarios(), measured_s=4.0, config={"concurrency": 4, "warmup_s": 0, "seed": 1}))
    lines = table.splitlines()
    assert any(line.startswith("repeat_cache") and " 30 " in line for line in lines)
    assert any(line.startswith("profile_swap") and "30.00" in line for line in lines)  # fail %
    assert "10.0 scenarios/s, 42.5 requests/s over 4.0 s" in table
    assert "profile_swap (3 failed)" in table
    assert "3 × swap search: results overlap the excluded ids" in table
