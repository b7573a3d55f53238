"""What one row costs a filtered graph walk and the exact path: the calibration of
`SEARCH_WALK_ROW_COST` (issue 18, `apps.workers.search.weigh_walk`).

For `bench_search`'s queries, each filtered by a role (half the query's own, half one drawn at random),
runs the candidate query of both paths under `EXPLAIN ANALYZE` against the running corpus
(`LAKEHOUSE_VAR_DIR` or `DATABASE_URL` names the stack) and divides its execution time by the rows its
scan met: the candidate queries `nearest_workers` sends (`apps.workers.selectors.knn_candidates_sql`),
the graph walk's as an iterative scan at the planned `ef_search`. Queries whose scan met fewer than
500 rows are left out: their time is mostly start-up. The ratio of the medians is the setting's value.

    python -m benchmarks.bench_walk_row_cost [--queries 120] [--seed 371]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
from typing import Any

import django

MIN_ROWS = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=120)
    parser.add_argument("--seed", type=int, default=371)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
    django.setup()
    costs = measure(args.queries, args.seed)
    for path in ("walk", "exact"):
        q1, q2, q3 = statistics.quantiles(costs[path], n=4)
        print(f"{path:5s} {len(costs[path]):4d} queries, µs per row met: p25 {q1:.2f}, p50 {q2:.2f}, p75 {q3:.2f}")
    print(f"walked row ÷ exact row, medians: {statistics.median(costs['walk']) / statistics.median(costs['exact']):.1f}")


def _scan(plan: dict[str, Any]) -> dict[str, Any] | None:
    """The plan's scan of the workers table (the node whose rows the time is spent on)."""
    if plan["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Seq Scan"):
        return plan
    return next((scan for child in plan.get("Plans", []) if (scan := _scan(child)) is not None), None)


def measure(queries: int, seed: int) -> dict[str, list[float]]:
    from django.conf import settings
    from django.db import connection

    from apps.core.vectors import vector_literal
    from apps.indexes.embedders import get_embedder
    from apps.workers import vocabulary as vocab
    from apps.workers.search import filter_sql, search_request_from_dict
    from apps.workers.selectors import RERANK_MARGIN, knn_candidates_sql
    from benchmarks.bench_search import make_queries

    rng = random.Random(seed)
    embedder = get_embedder()
    costs: dict[str, list[float]] = {"walk": [], "exact": []}
    with connection.cursor() as cursor:
        cursor.execute(f"SET hnsw.ef_search = {int(settings.SEARCH_EF_SEARCH)}; SET hnsw.iterative_scan = relaxed_order")
        for query in make_queries(queries, seed):
            role = rng.choice(vocab.ROLES) if rng.random() < 0.5 else query["role"]
            request = search_request_from_dict({"query": query["text"], "k": 10, "filters": {"role": role}})
            literal = vector_literal(embedder.embed([request.query])[0])
            where, params = filter_sql(request.filters, request.exclude_ids, with_box=False)
            for path in ("walk", "exact"):
                cursor.execute(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + knn_candidates_sql(where, exact=path == "exact"),
                    [*params, literal, request.k + RERANK_MARGIN],
                )
                explained = cursor.fetchone()[0][0]
                scan = _scan(explained["Plan"])
                met = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)
                is_walk = scan.get("Index Name", "").endswith("_hnsw")
                if met >= MIN_ROWS and is_walk == (path == "walk"):  # the planner may answer either way
                    costs[path].append(explained["Execution Time"] / met * 1000)
    return costs


if __name__ == "__main__":
    main()
