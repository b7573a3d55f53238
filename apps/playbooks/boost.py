"""Playbook boost scoring — pure: nearest playbooks in, per-worker boost out (SPEC §4.6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
