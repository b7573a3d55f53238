"""The walk floor's screen against the full product it replaced (issue 18, eleventh pass).

`apps.workers.walk_floor` used to take every sampled row's exact similarity to the query (a 2,000 × 768
product); it now ranks the passing rows along the sample's principal directions and compares the best
16 in full. Against the running corpus, in one process (`LAKEHOUSE_VAR_DIR` or `DATABASE_URL` names
the stack):

* `cost`: unfiltered `nearest_workers` with no floor, with the full product and with the screen, in
  blocks of 20 searches, the modes taking turns block by block. Each search runs right after another
  search's kNN query of its own mode, as in a web process. Reported: each mode's p50 and its
  difference from the others'.
* `catches`: each query unfiltered and as a profile swap (its own top 50 excluded): the planned walk,
  both floors and the exact top 10. Reported: the walks each floor flags, how many of those were lost
  (recall@10 below 0.5), and on how many walks the two floors are equal. The screen can only flag
  walks the full product flags; equal counts mean equal sets.

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_walk_floor [--queries 1000] [--seed 43] [--parts cost,catches]

(The web processes run with one BLAS thread, `lakehouse/wsgi.py`; so should this.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from types import SimpleNamespace
from typing import Any

import django
import numpy as np

PARTS = ("cost", "catches")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=43)
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
    django.setup()
    parts = args.parts.split(",")
    if "cost" in parts:
        print(render_cost(measure_cost(args.queries, args.seed)))
    if "catches" in parts:
        print(render_catches(measure_catches(args.queries, args.seed)))


class FullProduct:
    """The floor before the screen, as it was: every sampled row's exact similarity, filters compared
    per call."""

    def __init__(self, floor: Any) -> None:
        self.floor = floor

    def best_similarity(self, request: Any, query: np.ndarray) -> float | None:
        floor, f = self.floor, request.filters
        if not len(floor) or not floor.applies_to(request):
            return None
        passing = floor.status == f.status
        for column in ("state", "city", "role"):
            if value := getattr(f, column):
                passing &= getattr(floor, column) == value
        for worker_id in request.exclude_ids:
            if (row := floor.row_of.get(worker_id)) is not None:
                passing[row] = False
        norm = float(np.linalg.norm(query))
        if not passing.any() or norm == 0.0:
            return None
        return float((floor.vectors @ (query.astype(np.float32) / norm))[passing].max())

    def reading(self, request: Any, query: np.ndarray) -> SimpleNamespace:
        """What `nearest_workers` reads of a floor. The cost part's searches are unfiltered, so there
        is no walk to weigh."""
        return SimpleNamespace(best_similarity=self.best_similarity(request, query), neighbourhood_pass_rate=None)


def measure_cost(n: int, seed: int, block: int = 20) -> dict[str, Any]:
    from apps.indexes.embedders import get_embedder
    from apps.workers import selectors
    from apps.workers.search import search_request_from_dict
    from benchmarks.bench_search import make_queries

    version = selectors.index_version("workers")
    floor = selectors.walk_floor(version)
    vectors = get_embedder().embed([q["text"] + f" floor cost {seed}" for q in make_queries(n, seed)])
    request = search_request_from_dict({"query": "unfiltered", "k": 10})
    modes = {"no floor": None, "full product": FullProduct(floor), "screen": floor}
    times: dict[str, list[float]] = {name: [] for name in modes}
    names = list(modes)
    real = selectors.walk_floor
    try:
        # Blocks of `block` searches per mode, the modes taking turns block by block: a search follows
        # one of its own mode, as in a web process. Search by search, the full product's 6 MB stream
        # slowed whichever search came next and charged its cost to the other modes.
        for round_, start in enumerate(range(0, n, block)):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                selectors.walk_floor = lambda version, chosen=modes[name]: chosen
                for vector in vectors[start : start + block]:
                    started = time.perf_counter()
                    selectors.nearest_workers(request, vector, version=version)
                    times[name].append((time.perf_counter() - started) * 1000)
    finally:
        selectors.walk_floor = real
    p50 = {name: statistics.median(values) for name, values in times.items()}
    return {
        "n": n,
        "seed": seed,
        "block": block,
        "modes": {name: {"p50_ms": p50[name], "vs_none_ms": p50[name] - p50["no floor"], "vs_full_ms": p50[name] - p50["full product"]} for name in names},
    }


def render_cost(result: dict[str, Any]) -> str:
    lines = [
        f"Unfiltered nearest_workers, {result['n']} searches per mode in blocks of {result['block']}, "
        f"the modes taking turns (seed {result['seed']}):",
        "",
        "| floor | p50 ms | against no floor, ms | against the full product, ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in result["modes"].items():
        lines.append(f"| {name} | {row['p50_ms']:.3f} | {row['vs_none_ms']:+.3f} | {row['vs_full_ms']:+.3f} |")
    return "\n".join(lines) + "\n"


def measure_catches(n: int, seed: int) -> dict[str, Any]:
    from apps.workers import selectors
    from benchmarks.bench_widened_walk import walk_cases

    floor = selectors.walk_floor(selectors.index_version("workers"))
    full = FullProduct(floor)
    counts = {"walks": 0, "lost": 0, "full flags": 0, "full flags lost": 0, "screen flags": 0, "screen flags lost": 0, "equal floors": 0}
    for shape in ("unfiltered", "swap"):
        for case in walk_cases(n, seed, shape):
            walk = case.walk(case.ef_search)
            lost = case.recall(walk) < 0.5
            by_full, by_screen = full.best_similarity(case.request, case.vector), floor.best_similarity(case.request, case.vector)
            flagged_full, flagged_screen = selectors._walk_missed(by_full, walk), selectors._walk_missed(by_screen, walk)
            counts["walks"] += 1
            counts["lost"] += lost
            counts["full flags"] += flagged_full
            counts["full flags lost"] += flagged_full and lost
            counts["screen flags"] += flagged_screen
            counts["screen flags lost"] += flagged_screen and lost
            counts["equal floors"] += by_full is not None and by_screen is not None and abs(by_full - by_screen) < 1e-6
    return {"n": n, "seed": seed, **counts}


def render_catches(result: dict[str, Any]) -> str:
    return (
        f"Walks the floors flag, {result['walks']} walks ({result['n']} queries unfiltered and as a profile swap, seed {result['seed']}):\n\n"
        "| lost walks (recall@10 < 0.5) | flagged by the full product (lost) | flagged by the screen (lost) | equal floors |\n"
        "| ---: | ---: | ---: | ---: |\n"
        f"| {result['lost']} | {result['full flags']} ({result['full flags lost']}) | {result['screen flags']} ({result['screen flags lost']}) "
        f"| {result['equal floors']} of {result['walks']} |\n"
    )


if __name__ == "__main__":
    main()
