"""Small statistics over plain numbers — pure, shared by the load harness, replay and the benchmarks."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values: the smallest value such that at least pct %
    of all values are ≤ it. Latency reports use nearest rank because it is always a latency that was
    actually observed (p99 of 100 runs is the 99th slowest, never an interpolation). None when empty."""
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {pct}")
    if not sorted_values:
        return None
    rank = math.ceil(pct / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]
