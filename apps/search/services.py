"""Search orchestration (SPEC §4.3, §4.6): the one search every caller shares — API, replay and (over
HTTP) the load harness.

It sits above the domain apps and assembles their reads: the query embedding (indexes), the
nearest workers and "these ids that pass these filters" (workers selectors), the playbook memory
lookup (playbooks selectors) and the pure boost (playbooks.boost). It owns the result cache, the choice
of plain or boosted search, the explanations and the interaction log of a search. Neither workers nor
playbooks knows about the other.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from apps.indexes.embedders import embed_query, get_embedding_cache
from apps.indexes.selectors import index_version
from apps.interactions.choices import InteractionKind
from apps.interactions.services import log_interaction
from apps.playbooks.boost import rerank, worker_boosts, worker_playbooks
from apps.playbooks.selectors import nearest_playbooks
from apps.search.explain import explain_result
from apps.orders.models import JobOrder
from apps.orders.selectors import order_query, unavailable_for_order
from apps.workers.search import SearchPlan, SearchRequest, search_filters_from_dict
from apps.workers.selectors import nearest_workers, workers_passing_filters

logger = logging.getLogger(__name__)


def search_workers(request: SearchRequest) -> dict[str, Any]:
    """Returns the SPEC §4.3 response body (without `interaction_id`, which only a logged search has).

    Cached per (request, index versions); a write to either index changes its version and so the key,
    which makes a stale cached result impossible.
    """
    started = time.perf_counter()
    vector, embedding_cache = embed_query(request.query)
    version = index_version("workers")
    versions: list[Any] = [version, get_embedding_cache().embedder.key]
    if request.use_playbook:
        versions.append(index_version("playbook_memory"))
    key = "search:" + request.cache_key(*versions)
    cached = _cache_get(key)
    if cached is not None:
        cached.update(took_ms=round((time.perf_counter() - started) * 1000, 3), embedding_cache=embedding_cache, result_cache="hit")
        return cached

    if request.use_playbook:
        results, plan, playbooks_used, playbooks_by_worker = _boosted_search(request, vector, version=version)
    else:
        results, plan = nearest_workers(request, vector, version=version)
        playbooks_used, playbooks_by_worker = [], {}
    if request.explain:
        for result in results:
            result["explain"] = explain_result(result, request.filters, playbooks_by_worker.get(result["worker_id"], []))
    body = {
        "results": results,
        "k": request.k,
        "took_ms": 0.0,
        "embedding_cache": embedding_cache,
        "result_cache": "miss",
        "index": {"name": "workers", "version": version, "ef_search": plan.ef_search, "path": plan.path},
        "playbooks_used": playbooks_used,
    }
    _cache_set(key, body)
    body["took_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return body


def _boosted_search(
    request: SearchRequest, vector: np.ndarray, *, version: int
) -> tuple[list[dict[str, Any]], SearchPlan, list[dict[str, Any]], dict[str, list[int]]]:
    """Nearest workers re-ranked by similarity + β × playbook boost.

    Workers boosted by a playbook but outside the nearest candidates are fetched and ranked too — only
    those that pass every filter and exclusion, because the workers app selects them with the same
    WHERE clause as the nearest-neighbour search.
    """
    filters = request.filters
    hits = nearest_playbooks(vector, city=filters.city, state=filters.state, role=filters.role)
    now = timezone.now()
    boosts = worker_boosts(hits, now=now, half_life_days=settings.PLAYBOOK_HALF_LIFE_DAYS)
    negatives = sum(1 for b in boosts.values() if b < 0)
    # A demoted worker may leave the top k, so fetch enough plain candidates to refill it.
    candidates, plan = nearest_workers(request, vector, version=version, k=min(request.k + negatives, request.k + 100))
    by_id = {r["worker_id"]: r for r in candidates}
    excluded = set(request.exclude_ids)
    missing = [w for w, b in boosts.items() if b > 0 and w not in by_id and w not in excluded]
    for result in workers_passing_filters(missing, request, vector):
        by_id[result["worker_id"]] = result
    ranked = rerank(list(by_id.values()), boosts, beta=settings.PLAYBOOK_BETA, k=request.k)
    used = [
        {"id": h.id, "similarity": round(h.similarity, 6), "outcome": h.outcome, "age_days": round((now - h.created_at).total_seconds() / 86400, 3)}
        for h in hits
    ]
    return ranked, plan, used, worker_playbooks(hits)


def _cache_get(key: str) -> dict[str, Any] | None:
    if not settings.SEARCH_RESULT_CACHE_TTL_S:
        return None
    try:
        return cache.get(key)
    except Exception:  # the cache is an accelerator; never fail a search because it is down
        logger.warning("search result cache unavailable", exc_info=True)
        return None


def _cache_set(key: str, body: dict[str, Any]) -> None:
    if not settings.SEARCH_RESULT_CACHE_TTL_S:
        return
    try:
        cache.set(key, body, timeout=settings.SEARCH_RESULT_CACHE_TTL_S)
    except Exception:
        logger.warning("search result cache unavailable", exc_info=True)


def search_and_log(request: SearchRequest, *, actor: str = "") -> dict[str, Any]:
    """Run the shared search and write its interaction row (kind search / profile_swap / playbook_search).

    The response carries the row's id as `interaction_id`, so feedback can name it (SPEC §3.5).
    """
    body = search_workers(request)
    if request.use_playbook:
        kind = InteractionKind.PLAYBOOK_SEARCH
    elif request.exclude_ids:
        kind = InteractionKind.PROFILE_SWAP
    else:
        kind = InteractionKind.SEARCH
    interaction = log_interaction(
        kind=kind,
        actor=actor,
        request={
            "query": request.query,
            "k": request.k,
            "filters": request.filters.to_dict(),
            "exclude_ids": list(request.exclude_ids),
            "use_playbook": request.use_playbook,
        },
        # Ids and scores are what evidence and replay need; the full worker records stay in the table.
        response={
            "results": [
                {"worker_id": r["worker_id"], "score": r["score"], "playbook_boost": r["playbook_boost"]} for r in body["results"]
            ],
            "index": body["index"],
            "embedding_cache": body["embedding_cache"],
            "playbooks_used": body["playbooks_used"],
        },
        ok=True,
        latency_ms=body["took_ms"],
    )
    body["interaction_id"] = str(interaction.pk)
    return body


def order_candidate_request(order: JobOrder, *, query: str | None = None, k: int = 10, use_playbook: bool = True) -> SearchRequest:
    """The shared search for an order's candidates (SPEC §4.8a step 1): its role, state, city, shift,
    start date and required certifications as filters, explained, with the workers already proposed,
    accepted or double-booked for it excluded."""
    filters = search_filters_from_dict({
        "city": order.city, "state": order.state, "role": order.role, "shift": order.shift,
        "available_on": order.start_date, "certifications": list(order.required_certifications),
    })
    return SearchRequest(
        query=(query or "").strip() or order_query(order),
        k=k,
        filters=filters,
        exclude_ids=tuple(sorted(unavailable_for_order(order))),
        use_playbook=use_playbook,
        explain=True,
    )


def order_candidates(order: JobOrder, *, query: str | None = None, k: int = 10, use_playbook: bool = True, actor: str = "") -> dict[str, Any]:
    """Find candidates for an order: the logged shared search of `order_candidate_request`."""
    return search_and_log(order_candidate_request(order, query=query, k=k, use_playbook=use_playbook), actor=actor)
