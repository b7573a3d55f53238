"""The search endpoint's response (SPEC §4.3): worker status fields, interaction ids, explanations."""

from __future__ import annotations

import pytest

from apps.interactions.models import Interaction
from tests.searching import search as _search

pytestmark = pytest.mark.django_db

QUERY = "forklift operator night shift"


def test_results_carry_status_opt_out_and_zip_and_the_response_its_interaction_id(search_corpus, coordinator_client):
    from apps.workers.models import Worker

    first = _search(coordinator_client, query=QUERY, k=5)
    again = _search(coordinator_client, query=QUERY, k=5)
    assert again["result_cache"] == "hit"
    for body in (first, again):
        for result in body["results"]:
            stored = Worker.objects.get(worker_id=result["worker_id"])
            worker = result["worker"]
            assert (worker["status"], worker["sms_opt_out"], worker["zip"]) == (stored.status, stored.sms_opt_out, stored.zip)
    # Each search is its own interaction, a cached one too: feedback must be able to name either.
    assert first["interaction_id"] != again["interaction_id"]
    logged = Interaction.objects.get(pk=again["interaction_id"])
    assert logged.kind == "search"
    assert [r["worker_id"] for r in logged.response["results"]] == [r["worker_id"] for r in again["results"]]


def test_a_cached_result_is_not_served_after_the_search_settings_change(search_corpus, coordinator_client, settings):
    _search(coordinator_client, query=QUERY, k=5)
    assert _search(coordinator_client, query=QUERY, k=5)["result_cache"] == "hit"
    settings.SEARCH_EF_SEARCH += 20  # a web process restarted with another ef_search
    widened = _search(coordinator_client, query=QUERY, k=5)
    assert widened["result_cache"] == "miss" and widened["index"]["ef_search"] == settings.SEARCH_EF_SEARCH


def test_explain_names_the_matched_filters_similarity_and_reliability(search_corpus, coordinator_client):
    metas = search_corpus["meta"]
    sample = next(m for m in metas if m["status"] == "active" and m["certifications"] and len(m["skills"]) >= 1 and m["shift_preference"])
    filters = {
        "role": sample["role"],
        "skills": [sample["skills"][0], "no-such-skill"],
        "certifications": sample["certifications"][:1],
        "shift": sample["shift_preference"][0],
    }
    body = _search(coordinator_client, query=QUERY, k=5, filters=filters, explain=True)
    assert body["results"]
    for result in body["results"]:
        explain, worker = result["explain"], result["worker"]
        assert explain["similarity"] == pytest.approx(result["score"]) == pytest.approx(1 - result["distance"])
        assert explain["playbook_boost"] == 0.0 and explain["playbooks"] == []
        assert explain["reliability"] == worker["reliability"]
        assert explain["matched"]["skills"] == [s for s in sorted(filters["skills"]) if s in worker["skills"]]
        assert explain["matched"]["skills"] and "no-such-skill" not in explain["matched"]["skills"]
        assert explain["matched"]["certifications"] == filters["certifications"]
        assert explain["matched"]["shift"] is True

    plain = _search(coordinator_client, query=QUERY, k=5, filters=filters)
    assert plain["result_cache"] == "miss", "an explained result must not be served to a plain search"
    assert all("explain" not in r for r in plain["results"])
    assert [r["worker_id"] for r in plain["results"]] == [r["worker_id"] for r in body["results"]]


def test_explain_names_the_playbooks_behind_a_boost(search_corpus, coordinator_client):
    filters = {"role": "forklift_operator"}
    deep = _search(coordinator_client, query=QUERY, k=100, filters=filters)
    boosted_ids = [r["worker_id"] for r in deep["results"][-2:]]
    recorded = coordinator_client.post(
        "/api/v1/playbooks/record", {"query": QUERY, "outcome": "filled", "worker_ids": boosted_ids, "filters": filters}, format="json"
    )
    assert recorded.status_code == 201, recorded.content
    playbook_id = recorded.json()["id"]

    body = _search(coordinator_client, query=QUERY, k=10, filters=filters, use_playbook=True, explain=True)
    by_id = {r["worker_id"]: r for r in body["results"]}
    assert set(boosted_ids) <= set(by_id)
    for worker_id, result in by_id.items():
        explain = result["explain"]
        if worker_id in boosted_ids:
            assert explain["playbooks"] == [playbook_id]
            assert explain["playbook_boost"] == result["playbook_boost"] > 0
            assert result["score"] > explain["similarity"]
        else:
            assert explain["playbooks"] == [] and explain["playbook_boost"] == 0.0
    assert Interaction.objects.get(pk=body["interaction_id"]).kind == "playbook_search"


def test_explain_must_be_a_boolean(coordinator_client):
    response = coordinator_client.post("/api/v1/workers/search", {"query": "welder", "explain": "maybe"}, format="json")
    assert response.status_code == 400
    assert "explain" in response.json()["error"]["fields"]
