"""A search that names a client (or is made for one of its orders) never returns a worker on its
do-not-assign list (SPEC §3.2a), and a new entry is never hidden by the result cache."""

from __future__ import annotations

from datetime import date

import pytest

from apps.orders import services
from apps.search.services import backfill_candidates, order_search_request, search_workers


def _search(api, **body):
    response = api.post("/api/v1/workers/search", body, format="json")  # tests.searching's helper takes no "client" key
    assert response.status_code == 200, response.content
    return response.json()

pytestmark = pytest.mark.django_db

QUERY = "forklift operator night shift"


def test_a_search_for_a_client_leaves_out_its_banned_workers(search_corpus, coordinator_client):
    before = [r["worker_id"] for r in _search(coordinator_client, query=QUERY, k=5, client="Acme Logistics")["results"]]
    for worker_id in before[:2]:
        services.do_not_assign_add(client="acme logistics", worker_id=worker_id, reason="Client request")
    after = _search(coordinator_client, query=QUERY, k=5, client=" ACME Logistics ")
    assert after["result_cache"] == "miss", "a new ban must not be served the cached result"
    ids = [r["worker_id"] for r in after["results"]]
    assert len(ids) == 5 and not set(before[:2]) & set(ids)
    assert ids[:3] == before[2:]
    # Without the client, or for another client, the workers are found as before.
    assert [r["worker_id"] for r in _search(coordinator_client, query=QUERY, k=5)["results"]] == before
    assert [r["worker_id"] for r in _search(coordinator_client, query=QUERY, k=5, client="Globex")["results"]] == before


def test_every_search_for_an_order_leaves_out_its_clients_banned_workers(search_corpus):
    sample = next(
        m for m in search_corpus["meta"]
        if m["status"] == "active" and m["shift_preference"] and not m["certifications"] and m["available_from"] is None
    )
    order = services.order_create(
        order_id="JO-S", client="Acme Logistics", city=sample["city"], state=sample["state"], role=sample["role"], headcount=1,
        shift=sample["shift_preference"][0], start_date=date(2027, 1, 4),
    )
    first = [r["worker_id"] for r in backfill_candidates("JO-S", k=5)]
    assert first, "the sample worker's own order finds candidates"
    services.do_not_assign_add(client="Acme Logistics", worker_id=first[0], reason="Safety")
    request = order_search_request(order, k=5)
    assert request.client == "Acme Logistics"
    again = [r["worker_id"] for r in search_workers(request)["results"]]
    assert first[0] not in again and again[: len(first) - 1] == first[1:]
