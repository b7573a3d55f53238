"""Brute-force search oracle for tests."""

from __future__ import annotations

import numpy as np


def exact_ranking(corpus, query_vector: np.ndarray, keep, k: int) -> list[str]:
    """Brute-force cosine ranking over the stored embeddings: the oracle for search tests."""
    mask = np.array([keep(wid, m) for wid, m in zip(corpus["ids"], corpus["meta"])])
    if not mask.any():
        return []
    distances = 1.0 - corpus["matrix"] @ query_vector / (
        np.linalg.norm(corpus["matrix"], axis=1) * np.linalg.norm(query_vector) + 1e-12
    )
    candidates = np.flatnonzero(mask)
    order = candidates[np.argsort(distances[candidates], kind="stable")][:k]
    return [corpus["ids"][i] for i in order]
