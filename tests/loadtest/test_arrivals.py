"""Open-loop demand: Poisson schedules (seeded), bursts, the profile file, start accounting, the knee."""

from __future__ import annotations

import random
import statistics

import pytest

from apps.loadtest.arrivals import (
    BASE,
    BURST,
    LATE_AFTER_S,
    Burst,
    DemandProfile,
    StartAccounting,
    find_knee,
    knee_rates,
    load_profile,
    parse_burst,
    parse_rate,
    poisson_arrivals,
    sustains,
)


@pytest.mark.parametrize(
    ("text", "burst"),
    [
        ("3x for 10s every 60s", Burst(3.0, 10.0, 60.0)),
        ("2.5X FOR 500ms EVERY 2s", Burst(2.5, 0.5, 2.0)),
        ("4x for 1m every 1h at 30s", Burst(4.0, 60.0, 3600.0, 30.0)),
        ("3x for 10 every 60 starting at 5m", Burst(3.0, 10.0, 60.0, 300.0)),
    ],
)
def test_parse_burst(text, burst):
    assert parse_burst(text) == burst


@pytest.mark.parametrize(
    "text", ["", "3x", "3 for 10s every 60s", "3x for 10s", "0x for 10s every 60s", "3x for 70s every 60s", "3x for 10d every 60s"],
)
def test_parse_burst_rejects_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        parse_burst(text)


def test_parse_rate():
    assert parse_rate("20/s") == parse_rate("20") == parse_rate(" 20 / s ") == parse_rate(20) == 20.0
    for bad in ("0", "-3/s", "fast", "20/m"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_burst_windows_and_phases():
    profile = DemandProfile(10.0, (parse_burst("3x for 10s every 60s at 20s"),))
    assert [profile.phase_at(t) for t in (0, 19.9, 20, 29.9, 30, 79.9, 80, 89.99, 90)] == [BASE, BASE, BURST, BURST, BASE, BASE, BURST, BURST, BASE]
    assert profile.rate_at(25) == 30.0 and profile.rate_at(35) == 10.0
    assert profile.peak_rate == 30.0
    # One 10 s burst per 60 s at 3x: 50 s × 10 + 10 s × 30 = 800 expected per period.
    assert profile.expected_arrivals(20, 80) == pytest.approx(800, rel=1e-3)
    # Overlapping bursts take the larger multiplier, never the product.
    double = DemandProfile(10.0, (Burst(2, 10, 60), Burst(5, 5, 60)))
    assert double.rate_at(2) == 50.0 and double.rate_at(7) == 20.0


def test_poisson_arrivals_have_the_mean_rate_and_exponential_gaps():
    times = list(poisson_arrivals(DemandProfile(50.0), random.Random(7), end=200.0))
    assert len(times) == pytest.approx(50 * 200, rel=0.03)  # 10,000 expected, σ = 100
    assert times == sorted(times) and 0 < times[0] and times[-1] < 200
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Exponential gaps: mean = sd = 1 / rate.
    assert statistics.fmean(gaps) == pytest.approx(0.02, rel=0.03)
    assert statistics.pstdev(gaps) == pytest.approx(0.02, rel=0.05)
    # Seeded: the same seed replays the same schedule, another seed does not.
    assert list(poisson_arrivals(DemandProfile(50.0), random.Random(7), end=200.0)) == times
    assert list(poisson_arrivals(DemandProfile(50.0), random.Random(8), end=200.0)) != times


def test_bursts_raise_the_rate_inside_their_windows_only():
    profile = DemandProfile(20.0, (parse_burst("3x for 10s every 60s"),))
    times = list(poisson_arrivals(profile, random.Random(3), end=600.0))
    in_burst = [t for t in times if profile.phase_at(t) == BURST]
    outside = [t for t in times if profile.phase_at(t) == BASE]
    # 10 bursts × 10 s at 60/s = 6,000; 500 s at 20/s = 10,000.
    assert len(in_burst) / 100.0 == pytest.approx(60.0, rel=0.05)
    assert len(outside) / 500.0 == pytest.approx(20.0, rel=0.05)


def test_an_unbounded_schedule_keeps_drawing():
    arrivals = poisson_arrivals(DemandProfile(5.0), random.Random(1))
    assert len([next(arrivals) for _ in range(1000)]) == 1000


def test_profile_files(tmp_path):
    text = tmp_path / "monday.txt"
    text.write_text("# Monday intake\nrate 12/s\n3x for 10s every 60s\n\n2x for 1m every 1h at 5m  # opening\n")
    profile = load_profile(text)
    assert profile == DemandProfile(12.0, (Burst(3, 10, 60), Burst(2, 60, 3600, 300)))
    assert load_profile(text, rate=30.0).rate == 30.0  # --arrival-rate wins
    as_json = tmp_path / "monday.json"
    as_json.write_text('{"rate": "12/s", "bursts": ["3x for 10s every 60s"]}')
    assert load_profile(as_json) == DemandProfile(12.0, (Burst(3, 10, 60),))
    bad = tmp_path / "bad.txt"
    bad.write_text("rate 5\n3x for ever\n")
    with pytest.raises(ValueError, match="bad.txt:2"):
        load_profile(bad)
    no_rate = tmp_path / "no_rate.txt"
    no_rate.write_text("3x for 10s every 60s\n")
    with pytest.raises(ValueError, match="no rate"):
        load_profile(no_rate)


def test_start_accounting_counts_late_and_dropped_starts():
    starts = StartAccounting()
    starts.record_start(1.0, 1.0)
    starts.record_start(2.0, 2.0 + LATE_AFTER_S / 2)  # behind, but within the tolerance
    starts.record_start(3.0, 3.25)  # late
    starts.record_start(4.0, 3.99)  # early (clock jitter) counts as on time
    starts.record_drop()
    summary = starts.summary(10.0, offered=0.6)
    assert (summary["scheduled"], summary["started"], summary["late"], summary["dropped"]) == (5, 4, 1, 1)
    assert summary["scheduled_per_s"] == 0.5 and summary["achieved_per_s"] == 0.4 and summary["offered_per_s"] == 0.6
    assert summary["max_lag_ms"] == pytest.approx(250.0)
    assert summary["dropped_pct"] == 20.0 and summary["late_pct"] == 25.0


def _step(p99s: dict[str, float | None], failures: int = 0, dropped: int = 0, runs: int = 100) -> dict:
    return {
        "totals": {"runs": runs, "failures": failures},
        "starts": {"dropped": dropped},
        "scenarios": {name: {"runs": 0 if p99 is None else 10, "p99_ms": p99} for name, p99 in p99s.items()},
    }


def test_the_knee_is_the_last_passing_step_before_the_first_failing_one():
    assert knee_rates(10, 1.5, 4) == [10.0, 15.0, 22.5, 33.8]
    ok, slow = _step({"a": 120.0, "b": 800.0}), _step({"a": 150.0, "b": 1000.0})
    assert sustains(ok) and not sustains(slow)  # p99 must be *under* 1 s
    assert not sustains(_step({"a": 10.0}, failures=1))
    assert not sustains(_step({"a": 10.0}, dropped=1))
    assert not sustains(_step({"a": 10.0}, runs=0))
    assert sustains(_step({"a": 10.0, "never_ran": None}))
    assert find_knee([(10, ok), (15, ok), (22.5, slow), (33.8, ok)]) == 15  # a lucky pass after a failure is noise
    assert find_knee([(15, ok), (10, ok)]) == 15  # order of the steps given does not matter
    assert find_knee([(10, slow)]) is None
    with pytest.raises(ValueError):
        knee_rates(10, 1.0, 3)
