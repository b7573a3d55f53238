"""Record → boost → reset, on the real 3,000-worker search corpus (tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.interactions.models import Interaction
from apps.playbooks.models import Playbook
from tests.searching import search as _search

pytestmark = pytest.mark.django_db

QUERY = "forklift operator night shift"


def _record(client, **body):
    return client.post("/api/v1/playbooks/record", {"query": QUERY, "outcome": "filled", **body}, format="json")


def _far_active_workers(client, filters, n=2):
    """Workers that pass the filters but rank far below the top 10 without help."""
    deep = _search(client, query=QUERY, k=100, filters=filters)
    return [r["worker_id"] for r in deep["results"][-n:]]


def test_record_returns_201_with_the_index_and_logs_it(search_corpus, coordinator_client):
    workers = _far_active_workers(coordinator_client, {})
    response = _record(coordinator_client, worker_ids=workers, filters={"role": "forklift_operator"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["index"]["name"] == "playbook_memory" and body["index"]["size"] == 1 and body["index"]["version"] >= 1
    playbook = Playbook.objects.get(pk=body["id"])
    assert playbook.worker_ids == workers and playbook.filters == {"role": "forklift_operator"}
    logged = Interaction.objects.get(kind="playbook_record")
    assert logged.response == body and logged.request["worker_ids"] == workers


@pytest.mark.parametrize("exact_max", [20000, 0])
def test_read_your_writes_the_recorded_workers_are_boosted_into_the_results(search_corpus, coordinator_client, settings, exact_max):
    settings.PLAYBOOK_EXACT_SCAN_MAX_ROWS = exact_max  # 0: the HNSW path plus the recent-rows scan
    filters = {"role": "forklift_operator"}
    workers = _far_active_workers(coordinator_client, filters)
    plain = _search(coordinator_client, query=QUERY, k=10, filters=filters, use_playbook=True)
    assert not set(workers) & {r["worker_id"] for r in plain["results"]}
    assert plain["playbooks_used"] == []

    assert _record(coordinator_client, worker_ids=workers, filters=filters).status_code == 201
    if exact_max == 0:
        # The branch is chosen from the planner's estimate, which stays -1 ("never analyzed", so
        # exact) until statistics exist: analyze, then check the HNSW query is the one that ran.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Playbook._meta.db_table}")
        from apps.playbooks import selectors as playbook_selectors

        playbook_selectors._estimates.clear()  # each process re-reads the estimate every ESTIMATE_TTL_S
    with CaptureQueriesContext(connection) as queries:
        boosted = _search(coordinator_client, query=QUERY, k=10, filters=filters, use_playbook=True)
    playbook_sql = [q["sql"] for q in queries.captured_queries if "query_embedding <=>" in q["sql"]]
    graph_walks = [sql for sql in playbook_sql if "ORDER BY query_embedding <=>" in sql]
    assert playbook_sql and bool(graph_walks) == (exact_max == 0), playbook_sql

    by_id = {r["worker_id"]: r for r in boosted["results"]}
    assert set(workers) <= set(by_id), "recorded workers must be visible to the next search"
    assert all(by_id[w]["playbook_boost"] > 0 for w in workers)
    assert len(boosted["playbooks_used"]) == 1 and boosted["playbooks_used"][0]["outcome"] == "filled"
    scores = [r["score"] for r in boosted["results"]]
    assert scores == sorted(scores, reverse=True)
    unboosted = [r for r in boosted["results"] if r["worker_id"] not in workers]
    assert len(unboosted) == 10 - len(workers)
    assert all(r["playbook_boost"] == 0 for r in unboosted)
    assert Interaction.objects.filter(kind="playbook_search").count() == 2


def test_a_query_recorded_many_times_still_boosts_its_newest_fill(search_corpus, coordinator_client, settings):
    """On the graph-walk path: more equally near copies of one query than the walk takes must not hide
    the fill recorded last (the newest rows are scanned exactly beside the walk)."""
    settings.PLAYBOOK_EXACT_SCAN_MAX_ROWS = 0
    settings.PLAYBOOK_WALK_MAX_TUPLES = 3
    filters = {"role": "forklift_operator"}
    deep = [r["worker_id"] for r in _search(coordinator_client, query=QUERY, k=100, filters=filters)["results"]]
    for i in range(8):  # older fills of the same query, each with other workers
        assert _record(coordinator_client, worker_ids=[deep[20 + i]], filters=filters).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Playbook._meta.db_table}")
    from apps.playbooks import selectors as playbook_selectors

    playbook_selectors._estimates.clear()
    newest = deep[-1]
    recorded = _record(coordinator_client, worker_ids=[newest], filters=filters).json()

    boosted = _search(coordinator_client, query=QUERY, k=10, filters=filters, use_playbook=True)
    assert recorded["id"] in [p["id"] for p in boosted["playbooks_used"]]
    assert newest in {r["worker_id"] for r in boosted["results"] if r["playbook_boost"] > 0}


def test_boosted_workers_must_still_pass_filters_and_exclusions(search_corpus, coordinator_client):
    statuses = dict(zip(search_corpus["ids"], (m["status"] for m in search_corpus["meta"])))
    inactive = next(w for w, s in statuses.items() if s == "inactive")
    active = _far_active_workers(coordinator_client, {}, n=1)[0]
    assert _record(coordinator_client, worker_ids=[inactive, active]).status_code == 201
    body = _search(coordinator_client, query=QUERY, k=10, use_playbook=True, exclude_ids=[active])
    returned = {r["worker_id"] for r in body["results"]}
    assert inactive not in returned and active not in returned
    assert len(returned) == 10


def test_declined_and_no_show_give_a_negative_boost(search_corpus, coordinator_client):
    top = _search(coordinator_client, query=QUERY, k=10)["results"]
    first = top[0]["worker_id"]
    assert _record(coordinator_client, worker_ids=[first], outcome="no_show").status_code == 201
    after = _search(coordinator_client, query=QUERY, k=10, use_playbook=True)
    demoted = {r["worker_id"]: r for r in after["results"]}.get(first)
    assert demoted is None or (demoted["playbook_boost"] < 0 and after["results"][0]["worker_id"] != first)
    assert len(after["results"]) == 10


def test_dissimilar_playbooks_do_not_boost(search_corpus, coordinator_client):
    workers = _far_active_workers(coordinator_client, {})
    assert _record(coordinator_client, worker_ids=workers, **{"query": "registered nurse pediatric weekend Denver"}).status_code == 201
    body = _search(coordinator_client, query="welder swing shift", k=10, use_playbook=True)
    assert body["playbooks_used"] == []
    assert len(body["results"]) == 10
    assert all(r["playbook_boost"] == 0 for r in body["results"])


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"worker_ids": ["W-NOPE"]}, "worker_ids"),
        ({"worker_ids": []}, "worker_ids"),
        ({"worker_ids": ["W-000001"], "outcome": "maybe"}, "outcome"),
        ({"worker_ids": ["W-000001"], "query": ""}, "query"),
        ({"worker_ids": ["W-000001"], "query": "😀😀"}, "query"),
        ({"worker_ids": ["W-000001"], "order_id": "JO-NOPE"}, "order_id"),
        ({"worker_ids": ["W-000001"], "filters": {"planet": "Mars"}}, "filters"),
    ],
)
def test_bad_records_are_400_and_write_nothing(search_corpus, coordinator_client, payload, field):
    response = _record(coordinator_client, **payload)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Playbook.objects.exists() and not Interaction.objects.exists()


def test_reset_leaves_a_working_empty_memory(search_corpus, coordinator_client, staff_client):
    workers = _far_active_workers(coordinator_client, {})
    assert _record(coordinator_client, worker_ids=workers).status_code == 201
    assert coordinator_client.delete("/api/v1/indexes/playbook_memory/").status_code == 403
    reset = staff_client.delete("/api/v1/indexes/playbook_memory/")
    assert reset.status_code == 200 and reset.json()["rows"] == 0
    empty = _search(coordinator_client, query=QUERY, k=10, use_playbook=True)
    assert empty["playbooks_used"] == [] and len(empty["results"]) == 10
    body = _record(coordinator_client, worker_ids=workers).json()
    assert body["index"]["size"] == 1 and body["index"]["version"] > reset.json()["version"]
    again = _search(coordinator_client, query=QUERY, k=10, use_playbook=True)
    assert set(workers) <= {r["worker_id"] for r in again["results"]}


def test_playbook_list_filters(search_corpus, coordinator_client):
    workers = _far_active_workers(coordinator_client, {})
    assert _record(coordinator_client, worker_ids=workers).status_code == 201
    assert _record(coordinator_client, worker_ids=workers[:1], outcome="declined").status_code == 201
    listing = coordinator_client.get("/api/v1/playbooks/", {"outcome": "declined"}).json()
    assert listing["count"] == 1 and listing["results"][0]["outcome"] == "declined"
    assert coordinator_client.get("/api/v1/playbooks/", {"worker_id": workers[1]}).json()["count"] == 1
