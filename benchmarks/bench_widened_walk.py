"""How wide the second walk of a missed search must be (issue 18): the walk floor
(`apps.workers.walk_floor`) flags a graph walk that a sampled worker beats, and
`apps.workers.selectors.nearest_workers` walks again at `max(WIDENED_EF_SEARCH, factor × planned ef)`.

For `bench_search`'s queries, unfiltered and as a profile swap, against the running
corpus, in one process (`LAKEHOUSE_VAR_DIR` or `DATABASE_URL` names the stack):

* `swap`: 50 excluded ids, the query's own top 50 (bench_search's profile swap);
* the planned walk, as the API runs it; its recall@10 against the exact path's top 10;
* for each walk the floor flags, the same request walked again at every `--ef` given: recall@10,
  whether the floor still flags it, and the walk's latency (the SELECT alone, one connection; the
  widths take turns at walking first, since the first walk into a region pays for its cold pages).

    python -m benchmarks.bench_widened_walk [--queries 600] [--seed 41] [--ef 400,700,1000] [--shapes unfiltered,swap]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterator

import django

SHAPES = ("unfiltered", "swap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--seed", type=int, default=41)
    parser.add_argument("--ef", default="400,700,1000", help="comma-separated ef_search values for the second walk")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated: " + ", ".join(SHAPES))
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
    django.setup()
    print(render(measure(args.queries, args.seed, [int(e) for e in args.ef.split(",")], args.shapes.split(","))))


@dataclass
class WalkCase:
    """One of bench_search's queries as the API plans its walk, with its exact top 10."""

    request: Any
    vector: Any
    literal: str
    ef_search: int
    where: str
    params: list[Any]
    truth: set[str]

    def walk(self, ef_search: int) -> list[tuple]:
        """The graph walk at `ef_search`, as `nearest_workers` runs it: rows nearest first."""
        from apps.workers import selectors

        return selectors._knn(self.where, self.params, self.literal, 10, exact=False, ef_search=ef_search, iterative=True)

    def recall(self, rows: list[tuple]) -> float:
        return len({r[0] for r in rows} & self.truth) / max(len(self.truth), 1)


def walk_cases(n: int, seed: int, shape: str) -> Iterator[WalkCase]:
    """bench_search's queries, unfiltered or as a profile swap (`swap`: the query's own top 50 left out)."""
    from django.conf import settings

    from apps.core.vectors import vector_literal
    from apps.indexes.embedders import get_embedder
    from apps.workers import selectors
    from apps.workers.search import filter_sql, plan_search, search_request_from_dict
    from benchmarks.bench_search import make_queries

    embedder = get_embedder()
    stats = selectors.corpus_stats(selectors.index_version("workers"))
    for q in make_queries(n, seed):
        exclude: list[str] = []
        if shape == "swap":
            warm = search_request_from_dict({"query": q["text"] + " warm", "k": 50})
            exclude = [r["worker_id"] for r in selectors.nearest_workers(warm, embedder.embed([warm.query])[0])[0]]
        request = search_request_from_dict({"query": f"{q['text']} {shape}", "k": 10, "exclude_ids": exclude})
        vector = embedder.embed([request.query])[0]
        literal = vector_literal(vector)
        plan = plan_search(request, stats, base_ef=settings.SEARCH_EF_SEARCH, exact_max_rows=settings.SEARCH_EXACT_MAX_ROWS, iterative=True)
        where, params = filter_sql(request.filters, request.exclude_ids, request.near, with_box=False)
        truth = {r[0] for r in selectors._knn(where, params, literal, 10, exact=True, ef_search=plan.ef_search, iterative=False)}
        yield WalkCase(request, vector, literal, plan.ef_search, where, params, truth)


def measure(n: int, seed: int, widths: list[int], shapes: list[str]) -> dict[str, Any]:
    from apps.workers import selectors
    from benchmarks.bench_search import summarize

    floor = selectors.walk_floor(selectors.index_version("workers"))
    out: dict[str, Any] = {}
    for shape in shapes:
        walks: list[dict[str, Any]] = []
        for case in walk_cases(n, seed, shape):

            def walk(ef: int, case: WalkCase = case) -> tuple[float, float, bool]:
                started = time.perf_counter()
                rows = case.walk(ef)
                elapsed = (time.perf_counter() - started) * 1000
                return elapsed, case.recall(rows), selectors._walk_missed(floor.best_similarity(case.request, case.vector), rows)

            ms, recall, flagged = walk(case.ef_search)
            walk_record = {"ef": case.ef_search, "ms": ms, "recall": recall, "flagged": flagged}
            if flagged:  # each width first in turn: the first walk into a region pays for its cold pages
                order = widths[len(walks) % len(widths):] + widths[: len(walks) % len(widths)]
                walk_record["again"] = {ef: walk(ef) for ef in order}
            walks.append(walk_record)
        flagged = [w for w in walks if w["flagged"]]
        out[shape] = {
            "queries": len(walks),
            "planned_ef": sorted({w["ef"] for w in walks}),
            "planned": {**summarize([w["ms"] for w in walks]), "recall@10": round(sum(w["recall"] for w in walks) / len(walks), 4),
                        "below_0.5": sum(w["recall"] < 0.5 for w in walks)},
            "flagged": len(flagged),
            "flagged_recall": round(sum(w["recall"] for w in flagged) / len(flagged), 3) if flagged else None,
            "again": {
                ef: {
                    "recall@10": round(sum(w["again"][ef][1] for w in flagged) / len(flagged), 3),
                    "still_flagged": sum(w["again"][ef][2] for w in flagged),
                    "ms": summarize([w["again"][ef][0] for w in flagged]),
                }
                for ef in widths
            } if flagged else {},
        }
    return out


def render(report: dict[str, Any]) -> str:
    lines = []
    for shape, r in report.items():
        p = r["planned"]
        lines += [
            f"{shape}: {r['queries']} queries, planned ef {r['planned_ef']}: p50 {p['p50']} ms, p99 {p['p99']} ms, "
            f"recall@10 {p['recall@10']}, {p['below_0.5']} below 0.5; the floor flagged {r['flagged']} (their recall {r['flagged_recall']})",
        ]
        if r["again"]:
            lines += ["", "| second walk ef | recall@10 of the flagged | still flagged | p50 ms | p99 ms |", "| ---: | ---: | ---: | ---: | ---: |"]
            for ef, a in r["again"].items():
                lines.append(f"| {ef} | {a['recall@10']} | {a['still_flagged']} | {a['ms']['p50']} | {a['ms']['p99']} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
