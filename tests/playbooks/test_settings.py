"""The learning loop's knobs (SPEC §4.6) change what a search returns: β, the half-life, the minimum
similarity and the number of playbooks consulted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.playbooks.models import Playbook

pytestmark = pytest.mark.django_db

QUERY = "forklift operator night shift"


@pytest.fixture(autouse=True)
def _no_result_cache(settings):
    settings.SEARCH_RESULT_CACHE_TTL_S = 0  # each search below must see the settings of the moment


def _search(client, query=QUERY, **body):
    response = client.post("/api/v1/workers/search", {"query": query, "k": 10, "use_playbook": True, **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _record(client, worker_ids, query=QUERY, outcome="filled"):
    response = client.post("/api/v1/playbooks/record", {"query": query, "worker_ids": worker_ids, "outcome": outcome}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _far_workers(client, n=2):
    deep = client.post("/api/v1/workers/search", {"query": QUERY, "k": 100}, format="json").json()
    return [r["worker_id"] for r in deep["results"][-n:]]


@pytest.mark.parametrize("beta", [0.0, 0.15, 0.5])
def test_beta_weighs_the_boost_in_the_score(search_corpus, coordinator_client, settings, beta):
    settings.PLAYBOOK_BETA = beta
    workers = _far_workers(coordinator_client)
    _record(coordinator_client, workers)
    body = _search(coordinator_client)
    assert body["results"]
    for result in body["results"]:
        assert result["score"] == pytest.approx(1 - result["distance"] + beta * result["playbook_boost"], abs=1e-5)
    returned = {r["worker_id"] for r in body["results"]}
    if beta == 0.0:
        assert not set(workers) & returned  # no weight, no lift out of rank ~100
    else:
        assert set(workers) <= returned


def test_the_half_life_decays_an_old_playbook(search_corpus, coordinator_client, settings):
    settings.PLAYBOOK_HALF_LIFE_DAYS = 30
    workers = _far_workers(coordinator_client, n=1)
    playbook_id = _record(coordinator_client, workers)
    fresh = _search(coordinator_client)
    Playbook.objects.filter(pk=playbook_id).update(created_at=timezone.now() - timedelta(days=30))
    aged = _search(coordinator_client, k=100)
    similarity = aged["playbooks_used"][0]["similarity"]
    boost = {r["worker_id"]: r["playbook_boost"] for r in aged["results"]}[workers[0]]
    assert boost == pytest.approx(similarity * 0.5, rel=1e-3)  # one half-life: half the weight
    fresh_boost = {r["worker_id"]: r["playbook_boost"] for r in fresh["results"]}[workers[0]]
    assert fresh_boost == pytest.approx(similarity, rel=1e-3)


def test_min_similarity_decides_which_playbooks_count(search_corpus, coordinator_client, settings):
    workers = _far_workers(coordinator_client)
    _record(coordinator_client, workers, query="forklift operator night shift Columbus reach truck")
    settings.PLAYBOOK_MIN_SIMILARITY = 0.999
    assert _search(coordinator_client)["playbooks_used"] == []
    settings.PLAYBOOK_MIN_SIMILARITY = -1.0
    used = _search(coordinator_client)["playbooks_used"]
    assert len(used) == 1 and used[0]["similarity"] < 0.999


def test_max_playbooks_bounds_how_many_are_consulted(search_corpus, coordinator_client, settings):
    workers = _far_workers(coordinator_client, n=3)
    for worker_id in workers:
        _record(coordinator_client, [worker_id])
    settings.PLAYBOOK_MAX_PLAYBOOKS = 2
    assert len(_search(coordinator_client)["playbooks_used"]) == 2
    settings.PLAYBOOK_MAX_PLAYBOOKS = 20
    assert len(_search(coordinator_client)["playbooks_used"]) == 3
