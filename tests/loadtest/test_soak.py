"""Soak: the slope fit, the leak verdicts on synthetic series, the sampler thread with real probes."""

from __future__ import annotations

import math
import random
import threading

import pytest

from apps.loadtest.soak import FLAT, GROWING, LEVELS_OFF, TOO_SHORT, SoakSampler, assess_growth, fit_slope, format_soak_table, table_probes

TS = [30.0 * i for i in range(120)]  # 60 minutes every 30 s


def test_fit_slope_recovers_a_line():
    slope, intercept = fit_slope([0, 1, 2, 3], [1, 3, 5, 7])
    assert (slope, intercept) == pytest.approx((2.0, 1.0))
    assert fit_slope([5, 5, 5], [1, 2, 3]) == (0.0, 2.0)  # no spread in t: no slope
    assert fit_slope([1], [4]) == (0.0, 4)
    with pytest.raises(ValueError):
        fit_slope([1, 2], [1])


def test_steady_linear_growth_is_flagged():
    rng = random.Random(1)
    leak = [500 + 0.05 * t + rng.gauss(0, 3) for t in TS]  # +180 MB/h on 500 MB
    trend = assess_growth(TS, leak)
    assert trend["verdict"] == GROWING and trend["flag"] is True
    assert trend["slope_per_h"] == pytest.approx(180, rel=0.1)
    assert trend["second_half_slope_per_h"] == pytest.approx(trend["first_half_slope_per_h"], rel=0.3)


def test_warm_up_that_levels_off_is_not_a_leak():
    warm = [800 - 300 * math.exp(-t / 300) for t in TS]  # a cache filling in the first ~10 minutes
    trend = assess_growth(TS, warm)
    assert trend["verdict"] == LEVELS_OFF and trend["flag"] is False
    assert trend["second_half_slope_per_h"] < 0.5 * trend["first_half_slope_per_h"]


def test_noise_around_a_level_is_flat():
    rng = random.Random(2)
    noisy = [300 + rng.gauss(0, 5) for _ in TS]
    assert assess_growth(TS, noisy)["verdict"] == FLAT
    assert assess_growth(TS, [0.0] * len(TS))["verdict"] == FLAT  # an empty queue stays empty


def test_missing_samples_are_skipped_and_short_series_are_not_judged():
    values = [None if i % 3 == 0 else 100 + i for i in range(len(TS))]
    assert assess_growth(TS, values)["samples"] == len(TS) - 40
    assert assess_growth(TS[:5], [1, 2, 3, 4, 5])["verdict"] == TOO_SHORT


def test_sampler_samples_every_probe_and_survives_a_failing_one():
    calls = {"n": 0}
    enough = threading.Event()

    def counter():
        calls["n"] += 1
        if calls["n"] >= 8:
            enough.set()
        return calls["n"] * 10.0

    def broken():
        raise ConnectionError("redis is down")

    sampler = SoakSampler({"grows": counter, "broken": broken, "none": lambda: None}, interval_s=0.01)
    sampler.start()
    assert enough.wait(timeout=30)
    report = sampler.stop()
    n = report["samples"]
    assert n >= 9 and len(report["ts"]) == n  # the start, the interval samples, the end
    assert report["series"]["grows"] == [10.0 * (i + 1) for i in range(n)]
    assert report["series"]["broken"] == [None] * n
    assert report["errors"] == {"broken": "ConnectionError: redis is down"}
    assert report["trends"]["grows"]["verdict"] == GROWING
    assert report["flagged"] == ["grows"]
    table = format_soak_table(report)
    assert "GROWING" in table and "probe error: broken" in table and "flagged: grows" in table


def test_table_probes_count_the_named_tables():
    seen = []
    probes = table_probes({"interaction": "evidence_interaction"}, lambda sql: seen.append(sql) or 42.0)
    assert probes["interaction_rows"]() == 42.0
    assert seen == ['SELECT count(*) FROM "evidence_interaction"']
