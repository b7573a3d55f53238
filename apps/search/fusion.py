"""Hybrid ranking (issue 19): fuse the lexical and the semantic rankings by reciprocal rank fusion.
Pure: ranked id lists in, fused ids and scores out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

RRF_K = 60  # the constant of Cormack, Clarke & Büttcher (2009)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hashable]], k: int, constant: int = RRF_K) -> list[tuple[Hashable, float]]:
    """The top `k` of score(d) = Σ 1 / (constant + rank of d in each list), rank from 1, as (id, score)
    with the score scaled to 0..1 (1 = first in every list), so a playbook boost adds to it on the
    same scale as to a cosine similarity. Ties keep the order of first appearance (lexical first)."""
    scores: dict[Hashable, float] = defaultdict(float)
    first_seen: dict[Hashable, int] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] += 1.0 / (constant + rank)
            first_seen.setdefault(item, len(first_seen))
    best = len(rankings) / (constant + 1) or 1.0
    ordered = sorted(scores, key=lambda item: (-scores[item], first_seen[item]))[:k]
    return [(item, scores[item] / best) for item in ordered]
