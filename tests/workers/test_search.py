"""Search behaviour on a real 3,000-worker corpus, checked against a brute-force cosine oracle."""

from __future__ import annotations

from datetime import date

import pytest

from apps.indexes.embedders import get_embedder
from tests.oracle import exact_ranking
from tests.searching import search as _search

pytestmark = pytest.mark.django_db

QUERY = "forklift operator night shift rf scanner"


def _ids(body):
    return [r["worker_id"] for r in body["results"]]


def _vector(query: str):
    return get_embedder().embed([query])[0]


def _active(wid, m):
    return m["status"] == "active"


@pytest.mark.parametrize("path", ["exact", "hnsw"])
def test_unfiltered_search_matches_the_exact_ranking(search_corpus, coordinator_client, settings, path):
    if path == "hnsw":
        settings.SEARCH_EXACT_MAX_ROWS = 0  # the corpus is under the exact-path threshold: force the graph walk
    body = _search(coordinator_client, query=QUERY, k=10)
    expected = exact_ranking(search_corpus, _vector(QUERY), _active, 10)
    assert body["index"]["path"] == path
    assert len(body["results"]) == 10
    if path == "exact":
        assert _ids(body) == expected  # an exact scan has no excuse for a different answer
    else:
        assert len(set(_ids(body)) & set(expected)) >= 9  # HNSW recall on this corpus
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    first = body["results"][0]
    assert first["distance"] == pytest.approx(1 - first["score"], abs=1e-5)
    assert set(first["worker"]) >= {"first_name", "city", "state", "role", "skills", "phone", "email", "reliability"}
    assert body["index"]["name"] == "workers" and body["index"]["version"] >= 1


@pytest.mark.parametrize("force_graph", [False, True])
def test_selective_filter_returns_exactly_k_and_the_exact_top_k(search_corpus, coordinator_client, settings, force_graph):
    if force_graph:
        # Plan the HNSW walk, however few rows pass around the query: it starves, and must recover.
        settings.SEARCH_EXACT_MAX_ROWS, settings.SEARCH_WALK_ROW_COST = 0, 0
    metas = search_corpus["meta"]
    city, state = next((m["city"], m["state"]) for m in metas if m["role"] == "forklift_operator")

    def keep(wid, m):
        return m["status"] == "active" and m["city"] == city and m["state"] == state and m["role"] == "forklift_operator"

    matching = sum(keep(w, m) for w, m in zip(search_corpus["ids"], metas))
    k = min(10, matching)
    assert k >= 1
    body = _search(coordinator_client, query=QUERY, k=10, filters={"city": city, "state": state, "role": "forklift_operator"})
    assert _ids(body) == exact_ranking(search_corpus, _vector(QUERY), keep, 10)
    assert len(body["results"]) == k
    assert body["index"]["path"] == ("hnsw" if force_graph else "exact")


def test_a_graph_walk_that_comes_back_short_falls_back_to_the_exact_path(search_corpus, coordinator_client, settings):
    settings.SEARCH_EXACT_MAX_ROWS, settings.SEARCH_WALK_ROW_COST = 0, 0  # plan the HNSW walk
    metas = search_corpus["meta"]
    counts: dict[tuple, int] = {}
    for m in metas:
        if m["status"] == "active":
            key = (m["city"], m["state"], m["role"])
            counts[key] = counts.get(key, 0) + 1
    (city, state, role), matching = next((key, n) for key, n in sorted(counts.items()) if 1 <= n < 10)

    def keep(wid, m):
        return m["status"] == "active" and (m["city"], m["state"], m["role"]) == (city, state, role)

    body = _search(coordinator_client, query=QUERY, k=10, filters={"city": city, "state": state, "role": role})
    # Fewer than k rows match, so the walk is always short: the exact path must finish the job.
    assert body["index"]["path"] == "exact-fallback"
    assert _ids(body) == exact_ranking(search_corpus, _vector(QUERY), keep, 10)
    assert len(body["results"]) == matching


def test_heavy_exclusions_still_return_exactly_k_without_any_excluded_id(search_corpus, coordinator_client, settings):
    settings.SEARCH_EXACT_MAX_ROWS = 0
    excluded = exact_ranking(search_corpus, _vector(QUERY), _active, 300)
    body = _search(coordinator_client, query=QUERY, k=10, exclude_ids=excluded)
    assert body["index"]["path"] == "hnsw"
    assert len(body["results"]) == 10
    assert not set(_ids(body)) & set(excluded)
    expected = exact_ranking(search_corpus, _vector(QUERY), lambda w, m: _active(w, m) and w not in set(excluded), 10)
    assert len(set(_ids(body)) & set(expected)) >= 9


def test_do_not_contact_workers_only_when_asked_for(search_corpus, coordinator_client):
    statuses = {w: m["status"] for w, m in zip(search_corpus["ids"], search_corpus["meta"])}
    default = _search(coordinator_client, query="warehouse associate", k=100)
    assert len(default["results"]) == 100
    assert all(statuses[w] == "active" for w in _ids(default))
    dnc = _search(coordinator_client, query="warehouse associate", k=20, filters={"status": "do_not_contact"})
    assert dnc["results"] and all(statuses[w] == "do_not_contact" for w in _ids(dnc))


def test_filters_combine(search_corpus, coordinator_client):
    metas = search_corpus["meta"]
    sample = next(m for m in metas if m["status"] == "active" and m["certifications"] and m["skills"] and m["shift_preference"])
    filters = {
        "state": sample["state"],
        "role": sample["role"],
        "skills": [sample["skills"][0], "no-such-skill"],
        "certifications": sample["certifications"][:1],
        "shift": sample["shift_preference"][0],
        "available_on": "2027-06-01",
    }
    on = date(2027, 6, 1)

    def keep(wid, m):
        return (
            m["status"] == "active"
            and m["state"] == filters["state"]
            and m["role"] == filters["role"]
            and bool(set(m["skills"]) & set(filters["skills"]))
            and set(filters["certifications"]) <= set(m["certifications"])
            and filters["shift"] in m["shift_preference"]
            and (m["available_from"] is None or m["available_from"] <= on)
        )

    body = _search(coordinator_client, query=QUERY, k=25, filters=filters)
    expected = exact_ranking(search_corpus, _vector(QUERY), keep, 25)
    assert expected, "fixture corpus should have a match"
    assert _ids(body) == expected


def test_profile_swap_has_zero_overlap_and_is_logged_as_a_swap(search_corpus, coordinator_client):
    from apps.interactions.models import Interaction

    first = _search(coordinator_client, query="line cook weekend", k=10)
    swap = _search(coordinator_client, query="line cook weekend", k=10, exclude_ids=_ids(first))
    assert len(swap["results"]) == 10
    assert not set(_ids(first)) & set(_ids(swap))
    kinds = list(Interaction.objects.order_by("seq").values_list("kind", flat=True))
    assert kinds == ["search", "profile_swap"]
    logged = Interaction.objects.get(kind="profile_swap")
    assert logged.request["exclude_ids"] == _ids(first)
    assert [r["worker_id"] for r in logged.response["results"]] == _ids(swap)


def test_second_identical_search_hits_the_caches(search_corpus, coordinator_client):
    first = _search(coordinator_client, query="cna night shift", k=10)
    second = _search(coordinator_client, query="cna night shift", k=10)
    assert first["embedding_cache"] == "miss" and first["result_cache"] == "miss"
    assert second["embedding_cache"] == "hit" and second["result_cache"] == "hit"
    assert second["results"] == first["results"]


def test_a_write_makes_a_cached_result_impossible_to_serve(search_corpus, coordinator_client, tmp_path, settings):
    from apps.workers.generator import write_workers
    from apps.workers.models import Worker
    from apps.workers.services import create_ingest_job, run_ingest

    settings.INGEST_DIRS = [tmp_path]
    before = _search(coordinator_client, query="welder", k=5)
    top = Worker.objects.get(worker_id=before["results"][0]["worker_id"])
    row = {k: v for k, v in top.raw.items()}
    row["status"] = "inactive"
    path = tmp_path / "change.jsonl"
    write_workers([row], path)
    job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    assert job.rows_written == 1
    after = _search(coordinator_client, query="welder", k=5)
    assert after["result_cache"] == "miss"
    assert top.worker_id not in _ids(after)
    assert after["index"]["version"] > before["index"]["version"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"query": "x", "filters": {"colour": "blue"}}, "filters"),
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "k": 101}, "k"),
        ({"query": "x", "k": "ten"}, "k"),
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 1001}, "query"),
        ({"query": "0"}, "query"),  # nothing the embedder can search on: a zero vector, not a 500
        ({"query": "😀😀😀"}, "query"),
        ({"k": 5}, "query"),
        ({"query": "x", "exclude_ids": [f"W-{i}" for i in range(1001)]}, "exclude_ids"),
        ({"query": "x", "exclude_ids": "W-1"}, "exclude_ids"),
        ({"query": "x", "filters": {"skills": "forklift"}}, "filters"),
        ({"query": "x", "filters": {"available_on": "tomorrow"}}, "filters"),
        ({"query": "x", "filters": {"shift": "graveyard"}}, "filters"),
        ({"query": "x", "use_playbook": "maybe"}, "use_playbook"),
        ({"query": "x", "surprise": 1}, "surprise"),
    ],
)
def test_bad_search_requests_are_400_naming_the_field(coordinator_client, body, field):
    from apps.interactions.models import Interaction

    response = coordinator_client.post("/api/v1/workers/search", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Interaction.objects.exists()  # bad input writes nothing


def test_worker_list_and_detail(search_corpus, coordinator_client):
    some = next(w for w, m in zip(search_corpus["ids"], search_corpus["meta"]) if m["city"])
    detail = coordinator_client.get(f"/api/v1/workers/{some}/")
    assert detail.status_code == 200 and detail.json()["worker_id"] == some
    assert "embedding" not in detail.json()
    city = detail.json()["city"]
    listing = coordinator_client.get("/api/v1/workers/", {"city": city, "page_size": 5}).json()
    assert set(listing) == {"count", "next", "previous", "results"}
    assert listing["count"] == sum(m["city"] == city for m in search_corpus["meta"])
    assert all(w["city"] == city for w in listing["results"]) and len(listing["results"]) <= 5
    assert coordinator_client.get("/api/v1/workers/W-NOPE/").json()["error"]["code"] == "not_found"


def test_writes_that_bypass_the_services_also_invalidate_cached_results(search_corpus, coordinator_client):
    """An admin edit or a bulk UPDATE bumps the index version through the table's trigger."""
    from apps.workers.models import Worker

    before = _search(coordinator_client, query="electrician helper", k=5)
    assert _search(coordinator_client, query="electrician helper", k=5)["result_cache"] == "hit"
    top = before["results"][0]["worker_id"]
    Worker.objects.filter(worker_id=top).update(status="inactive")
    after = _search(coordinator_client, query="electrician helper", k=5)
    assert after["result_cache"] == "miss" and top not in _ids(after)


def test_an_embedding_provider_that_is_down_is_a_503_naming_it(coordinator_client, settings):
    """EMBEDDING_PROVIDER=ollama with nothing listening: a clear 503 in the envelope, not a 500."""
    from apps.indexes import embedders

    settings.EMBEDDING_PROVIDER = "ollama"
    settings.OLLAMA_URL = "http://127.0.0.1:9"  # the discard port: nothing listens
    embedders.get_embedder.cache_clear()
    embedders.get_embedding_cache.cache_clear()
    try:
        response = coordinator_client.post("/api/v1/workers/search", {"query": "welder"}, format="json")
    finally:
        embedders.get_embedder.cache_clear()
        embedders.get_embedding_cache.cache_clear()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable" and "127.0.0.1:9" in error["message"]
