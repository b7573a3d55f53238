"""A role filter's exact path reads its vectors from `worker_role_embedding` alone (migration 0009).

The heap is in (state, city, role) order, so without this index a role's rows cost one heap page each
(benchmarks/README.md, thirteenth pass). The test runs the exact path's own SQL, as `nearest_workers`
sent it, under EXPLAIN ANALYZE: if the query came to need a column the index does not hold, or lost
the condition of its partial index, the scan would visit the heap again."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.indexes.embedders import get_embedder
from apps.workers import selectors
from apps.workers.search import search_request_from_dict
from tests.conftest import _test_database_url
from tests.oracle import exact_ranking

pytestmark = pytest.mark.django_db


def _scans(plan: dict) -> list[dict]:
    return [plan, *(scan for child in plan.get("Plans", []) for scan in _scans(child))]


def test_a_role_filters_exact_path_never_reads_the_heap(search_corpus):
    with psycopg.connect(_test_database_url(), autocommit=True) as raw:  # VACUUM cannot run inside the test's transaction
        raw.execute("VACUUM ANALYZE workers_worker")  # the visibility map lets a scan skip the heap
    role = Counter(m["role"] for m in search_corpus["meta"]).most_common(1)[0][0]
    request = search_request_from_dict({"query": "reliable weekend crew", "k": 10, "filters": {"role": role}})
    vector = get_embedder().embed([request.query])[0]

    with CaptureQueriesContext(connection) as captured:
        rows, plan = selectors.nearest_workers(request, vector)
    assert plan.path == "exact"
    keep = lambda wid, m: m["status"] == "active" and m["role"] == role  # noqa: E731
    assert [row["worker_id"] for row in rows] == exact_ranking(search_corpus, vector, keep, 10)

    knn_sql = next(query["sql"] for query in captured.captured_queries if "ORDER BY" in query["sql"] and "candidates" in query["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + knn_sql)
        scans = _scans(cursor.fetchone()[0][0]["Plan"])
    role_scan = next((scan for scan in scans if scan.get("Index Name") == "worker_role_embedding"), None)
    assert role_scan is not None and role_scan["Node Type"] == "Index Only Scan", [(scan["Node Type"], scan.get("Index Name")) for scan in scans]
    assert role_scan["Actual Rows"] == sum(1 for m in search_corpus["meta"] if m["role"] == role and m["status"] == "active")
    assert role_scan["Heap Fetches"] == 0
