"""Playbook boost scoring — pure: nearest playbooks in, per-worker boost out (SPEC §4.6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

POSITIVE_OUTCOMES = frozenset({"filled"})


@dataclass(frozen=True)
class PlaybookHit:
    id: int
    similarity: float
    outcome: str
    worker_ids: tuple[str, ...]
    created_at: datetime


def decay(age_days: float, half_life_days: float) -> float:
    """Exponential time decay: a playbook half_life_days old counts half."""
    return 0.5 ** (max(age_days, 0.0) / half_life_days)


def worker_boosts(hits: list[PlaybookHit], *, now: datetime, half_life_days: float) -> dict[str, float]:
    """boost(worker) = Σ similarity × decay(age) over filled playbooks naming the worker, minus the same
    for declined/no_show ones, clamped to [-1, 1]."""
    totals: dict[str, float] = {}
    for hit in hits:
        weight = hit.similarity * decay((now - hit.created_at).total_seconds() / 86400.0, half_life_days)
        sign = 1.0 if hit.outcome in POSITIVE_OUTCOMES else -1.0
        for worker_id in set(hit.worker_ids):
            totals[worker_id] = totals.get(worker_id, 0.0) + sign * weight
    return {w: max(-1.0, min(1.0, total)) for w, total in totals.items()}


def final_score(similarity: float, boost: float, beta: float) -> float:
    return similarity + beta * boost


def worker_playbooks(hits: list[PlaybookHit]) -> dict[str, list[int]]:
    """For each worker, the ids of the playbooks (among the hits) that name them, most similar first —
    what an explanation shows as "the playbooks behind this boost"."""
    ids: dict[str, list[int]] = {}
    for hit in sorted(hits, key=lambda h: (-h.similarity, -h.id)):
        for worker_id in dict.fromkeys(hit.worker_ids):
            ids.setdefault(worker_id, []).append(hit.id)
    return ids


def rerank(results: list[dict[str, Any]], boosts: dict[str, float], *, beta: float, k: int) -> list[dict[str, Any]]:
    """The top k of `results` by similarity + β × boost (ties: nearer, then worker id); each result's
    `score` and `playbook_boost` are set in place. Results carry `worker_id` and `distance`."""
    for result in results:
        boost = boosts.get(result["worker_id"], 0.0)
        result["playbook_boost"] = round(boost, 6)
        result["score"] = round(final_score(1.0 - result["distance"], boost, beta), 6)
    return sorted(results, key=lambda r: (-r["score"], r["distance"], r["worker_id"]))[:k]
