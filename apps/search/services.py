"""Search orchestration (SPEC §4.3, §4.6): the one search every caller shares — API, replay and (over
HTTP) the load harness.

It sits above the domain apps and assembles their reads: the query embedding (indexes), the
nearest workers and "these ids that pass these filters" (workers selectors), the playbook memory
lookup (playbooks selectors) and the pure boost (playbooks.boost). It owns the result cache, the choice
of plain or boosted search, the explanations and the interaction log of a search. Neither workers nor
playbooks knows about the other.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import time
from typing import Any

import numpy as np
import redis
from django.conf import settings
from django.utils import timezone

from apps.core.redis import get_redis
from apps.indexes import version_mirror
from apps.indexes.embedders import NOT_READ, embed_query, embed_semantic_query, get_embedding_cache, get_semantic_embedder, semantic_enabled
from apps.indexes.selectors import database_index_version, index_version
from apps.interactions.choices import InteractionKind
from apps.interactions.services import log_interaction
from apps.orders.models import JobOrder
from apps.orders.selectors import accepted_worker_ids, banned_workers, booked_worker_ids, order_as_dict, proposed_worker_ids
from apps.playbooks.boost import rerank, worker_boosts, worker_playbooks
from apps.playbooks.selectors import nearest_playbooks
from apps.search.explain import explain_result
from apps.search.fusion import RRF_K, reciprocal_rank_fusion
from apps.search.order_search import order_search_request as build_order_search_request
from apps.workers.search import SearchPlan, SearchRequest, search_request_from_dict
from apps.workers.selectors import nearest_workers, workers_passing_filters

logger = logging.getLogger(__name__)
_REDIS_ERRORS = (redis.exceptions.RedisError, OSError)


def search_workers(request: SearchRequest, *, writes: redis.client.Pipeline | None = None) -> dict[str, Any]:
    """Returns the SPEC §4.3 response body (without `interaction_id`, which only a logged search has).

    Cached per request; an entry holds the index versions it was computed at and is served only while
    they are current, so a write to either index makes a stale cached result impossible. The versions
    (their Redis mirror), the query's cached embedding and the cached result are read in one Redis
    round trip (one MGET) — PostgreSQL is asked for a version only when its mirror is missing.

    The cache writes (a new query vector, the result) go in one pipeline at the end; with `writes`,
    into the caller's, which the caller executes (`search_and_log` adds the log entry to it).
    """
    started = time.perf_counter()
    request = with_do_not_assign(request)
    embeddings = get_embedding_cache()
    index_names = ["workers", "playbook_memory"] if request.use_playbook else ["workers"]
    embedder_keys = [embeddings.embedder.key]
    if semantic_enabled():
        embedder_keys.append(get_semantic_embedder().key)
    # The planner's settings are part of the key: a process restarted with another ef_search must not
    # serve the results its predecessor computed.
    plan_key = f"ef={settings.SEARCH_EF_SEARCH},exact={settings.SEARCH_EXACT_MAX_ROWS},walk={settings.SEARCH_WALK_ROW_COST}"
    result_key = "search:" + request.cache_key(*embedder_keys, plan_key) if settings.SEARCH_RESULT_CACHE_TTL_S else None
    embedding_key = embeddings.redis_key_to_read(request.query)
    fetched = _read_redis([version_mirror.key(name) for name in index_names] + [embedding_key, result_key])
    if fetched is None:  # Redis down: PostgreSQL answers for the versions, nothing is cached
        versions = [database_index_version(name) for name in index_names]
        vector, embedding_cache = embed_query(request.query)
        cached_entry = writes = None
        own_writes = False
    else:
        versions = [index_version(name, mirrored=value) for name, value in zip(index_names, fetched)]
        own_writes = writes is None
        writes = get_redis().pipeline(transaction=False) if own_writes else writes
        vector, embedding_cache = embed_query(request.query, redis_value=fetched[-2] if embedding_key else NOT_READ, pipeline=writes)
        cached_entry = fetched[-1]
    version = versions[0]
    semantic_vector = embed_semantic_query(request.query)[0] if semantic_enabled() else None
    cached = _cached_result(cached_entry, versions)
    if cached is not None:
        if own_writes:
            _write_caches(writes)
        cached.update(took_ms=round((time.perf_counter() - started) * 1000, 3), embedding_cache=embedding_cache, result_cache="hit")
        return cached

    if request.use_playbook:
        results, plan, playbooks_used, playbooks_by_worker = _boosted_search(request, vector, semantic_vector, version=version)
    else:
        results, plan = _nearest(request, vector, semantic_vector, version=version)
        playbooks_used, playbooks_by_worker = [], {}
    for result in results:
        if request.explain:
            result["explain"] = explain_result(result, request.filters, playbooks_by_worker.get(result["worker_id"], []))
        result.pop("similarity_parts", None)  # shown through `explain` only
    body = {
        "results": results,
        "k": request.k,
        "took_ms": 0.0,
        "embedding_cache": embedding_cache,
        "result_cache": "miss",
        "index": {"name": "workers", "version": version, "ef_search": plan.ef_search, "path": plan.path,
                  "ranking": "hybrid" if semantic_vector is not None else "lexical"},
        "playbooks_used": playbooks_used,
    }
    if writes is not None and result_key is not None:
        writes.set(result_key, pickle.dumps((versions, body), protocol=pickle.HIGHEST_PROTOCOL), ex=settings.SEARCH_RESULT_CACHE_TTL_S)
    if own_writes:
        _write_caches(writes)
    body["took_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return body


def with_do_not_assign(request: SearchRequest) -> SearchRequest:
    """The request with its client's do-not-assign list added to the excluded ids (SPEC §3.2a). The
    cache key then holds the banned ids too, so a new entry can never be served a stale result."""
    if not request.client:
        return request
    banned = sorted(set(banned_workers(request.client)) - set(request.exclude_ids))
    if not banned:
        return request
    return dataclasses.replace(request, exclude_ids=tuple(request.exclude_ids) + tuple(banned))


def _nearest(
    request: SearchRequest, vector: np.ndarray, semantic_vector: np.ndarray | None, *, version: int, k: int | None = None
) -> tuple[list[dict[str, Any]], SearchPlan]:
    """The plain nearest workers: by the lexical vector, or (semantic column on) both rankings fused."""
    if semantic_vector is None:
        return nearest_workers(request, vector, version=version, k=k)
    return _hybrid_nearest(request, vector, semantic_vector, version=version, k=k or request.k)


def _hybrid_nearest(
    request: SearchRequest, vector: np.ndarray, semantic_vector: np.ndarray, *, version: int, k: int
) -> tuple[list[dict[str, Any]], SearchPlan]:
    """Reciprocal rank fusion of the lexical and the semantic top `depth` (issue 19).

    Both lists come from `nearest_workers` with the same WHERE clause, so filters, exclusions and
    exact-k hold for the union: each list holds min(depth, matching) ≥ min(k, matching) workers. Each
    result carries both similarities (the one a list lacks is looked up for exactly those ids);
    `score` is the fused score on a 0..1 scale and `distance` is 1 - score.
    """
    depth = max(k, settings.SEARCH_HYBRID_DEPTH)
    lexical, plan = nearest_workers(request, vector, version=version, k=depth)
    semantic, _ = nearest_workers(request, semantic_vector, version=version, k=depth, column="semantic_embedding")
    fused = reciprocal_rank_fusion([[r["worker_id"] for r in lexical], [r["worker_id"] for r in semantic]], k=k)
    by_id = {r["worker_id"]: r for r in lexical}
    semantic_distance = {r["worker_id"]: r["distance"] for r in semantic}
    ids = [worker_id for worker_id, _ in fused]
    for result in workers_passing_filters([i for i in ids if i not in by_id], request, vector):
        by_id[result["worker_id"]] = result
    for result in workers_passing_filters([i for i in ids if i not in semantic_distance], request, semantic_vector, column="semantic_embedding"):
        semantic_distance[result["worker_id"]] = result["distance"]
    results = []
    for worker_id, score in fused:
        result = by_id[worker_id]
        semantic_part = semantic_distance.get(worker_id)
        result["similarity_parts"] = {
            "lexical": round(1.0 - result["distance"], 6),
            "semantic": None if semantic_part is None else round(1.0 - semantic_part, 6),
        }
        # score = 1 - distance as in a lexical search, so the playbook re-rank adds to the fused score.
        result["score"], result["distance"] = round(score, 6), round(1.0 - score, 6)
        results.append(result)
    return results, plan


def _boosted_search(
    request: SearchRequest, vector: np.ndarray, semantic_vector: np.ndarray | None, *, version: int
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
    candidates, plan = _nearest(request, vector, semantic_vector, version=version, k=min(request.k + negatives, request.k + 100))
    by_id = {r["worker_id"]: r for r in candidates}
    excluded = set(request.exclude_ids)
    missing = [w for w, b in boosts.items() if b > 0 and w not in by_id and w not in excluded]
    for result in workers_passing_filters(missing, request, vector):
        if semantic_vector is not None:
            # Outside both fused lists: at best just past their ends, on the fused 0..1 scale.
            depth = max(request.k, settings.SEARCH_HYBRID_DEPTH) + 1
            result["distance"] = round(1.0 - (1.0 / (RRF_K + depth)) * (RRF_K + 1), 6)
        by_id[result["worker_id"]] = result
    ranked = rerank(list(by_id.values()), boosts, beta=settings.PLAYBOOK_BETA, k=request.k)
    used = [
        {"id": h.id, "similarity": round(h.similarity, 6), "outcome": h.outcome, "age_days": round((now - h.created_at).total_seconds() / 86400, 3)}
        for h in hits
    ]
    return ranked, plan, used, worker_playbooks(hits)


def _read_redis(keys: list[str | None]) -> list[bytes | None] | None:
    """One MGET of the keys that are not None (a None key reads as None); None when Redis is down."""
    wanted = [key for key in keys if key is not None]
    try:
        values = iter(get_redis().mget(wanted)) if wanted else iter(())
    except _REDIS_ERRORS:  # the caches are accelerators and PostgreSQL holds the versions: never fail a search
        logger.warning("search: Redis unavailable; versions from PostgreSQL, no caches", exc_info=True)
        return None
    return [next(values) if key is not None else None for key in keys]


def _cached_result(entry: bytes | None, versions: list[int]) -> dict[str, Any] | None:
    """The cached body if it was computed at exactly these index versions."""
    if entry is None:
        return None
    try:
        cached_versions, body = pickle.loads(entry)
    except Exception:  # an unreadable entry (another release's format) is a miss
        return None
    return body if cached_versions == versions else None


def _write_caches(writes: redis.client.Pipeline | None) -> None:
    if writes is None or len(writes) == 0:  # Redis down, or nothing to write
        return
    try:
        writes.execute()
    except _REDIS_ERRORS:
        logger.warning("search caches unavailable", exc_info=True)


def search_and_log(request: SearchRequest, *, actor: str = "") -> dict[str, Any]:
    """Run the shared search and write its interaction row (kind search / profile_swap / playbook_search).

    The response carries the row's id as `interaction_id`, so feedback can name it (SPEC §3.5). The
    search's cache writes and the log entry's push share one Redis round trip.
    """
    writes = get_redis().pipeline(transaction=True)
    body = search_workers(request, writes=writes)
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
            **({"client": request.client} if request.client else {}),
            **({"near": request.near.to_dict()} if request.near else {}),
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
        redis_writes=writes,
    )
    body["interaction_id"] = str(interaction.pk)
    return body


# ------------------------------------------------------------------------------------- order searches


def order_search_request(order: JobOrder, *, k: int = 10, use_playbook: bool = True, explain: bool = False) -> SearchRequest:
    """The search for an order's candidates (SPEC §4.8a step 1): `order_search.order_search_request`
    (role, shift, start date, certifications; near the site ZIP or in its city), for its client
    (do-not-assign), and without the workers already proposed, accepted (ended ones included) or
    booked elsewhere over its dates."""
    excluded = (
        proposed_worker_ids(order)
        | accepted_worker_ids(order)
        | booked_worker_ids(start_date=order.start_date, end_date=order.end_date, exclude_order_id=order.order_id)
    )
    request = build_order_search_request(
        {**order_as_dict(order), "site_zip": order.site_zip}, exclude_ids=sorted(excluded), k=k, use_playbook=use_playbook, explain=explain
    )
    return dataclasses.replace(request, client=order.client.name)


def backfill_candidates(order_id: str, *, k: int = 10, explain: bool = False) -> list[dict[str, Any]]:
    """Ranked replacements for an order's empty seats (SPEC §4.8a step 5): the order's search, so never
    a proposed, accepted, ended, double-booked or banned worker; `explain` adds why each ranks (the
    console shows them like the candidates)."""
    order = JobOrder.objects.select_related("client").get(order_id=order_id)
    return search_workers(order_search_request(order, k=k, explain=explain))["results"]


def order_candidate_request(order: JobOrder, *, query: str | None = None, k: int = 10, use_playbook: bool = True) -> SearchRequest:
    """The console's "find candidates": the order's search (`order_search_request`), explained, with the
    coordinator's own words as the query when given."""
    request = order_search_request(order, k=k, use_playbook=use_playbook, explain=True)
    return dataclasses.replace(request, query=query.strip()) if query and query.strip() else request


def order_candidates(order: JobOrder, *, query: str | None = None, k: int = 10, use_playbook: bool = True, actor: str = "") -> dict[str, Any]:
    """Find candidates for an order: the logged shared search of `order_candidate_request`."""
    return search_and_log(order_candidate_request(order, query=query, k=k, use_playbook=use_playbook), actor=actor)
