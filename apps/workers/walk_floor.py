"""A floor under the HNSW walk's answer, from a uniform sample of the corpus.

On this corpus (role × city clusters) the greedy descent of an HNSW walk sometimes settles in the wrong
cluster: at 100k and ef_search 100, about 2 % of coordinator-style queries came back with recall@10
below 0.5 — picker packers for a shipping-clerk query — and a walk at ef_search 400 found the true
neighbours for 37 of 44 such queries (benchmarks/README.md, issue 18, seventh pass). Any row of the
corpus that passes the filters bounds the true nearest neighbour's similarity from below, so when a
sampled row beats the walk's best result, the walk has certainly missed; the caller walks again,
wider, then exactly. A few thousand sampled rows catch most such misses for one matrix-vector product
(~0.1 ms) and never raise a false alarm on a walk that found the true nearest neighbour.

Pure numpy over plain data: the rows are loaded by `apps.workers.selectors.walk_floor`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from apps.workers.search import SearchRequest

# The sampled row must beat the walk by more than float rounding: both sides are cosines of the same
# stored half-precision vectors, computed by PostgreSQL and by numpy.
TOLERANCE = 1e-4


@dataclass(frozen=True)
class WalkFloor:
    vectors: np.ndarray  # (n, dim) float32, unit rows
    worker_ids: np.ndarray  # (n,) str, like the four filter columns
    status: np.ndarray
    state: np.ndarray
    city: np.ndarray
    role: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple[str, str, str, str, str, np.ndarray]]) -> WalkFloor:
        """From (worker_id, status, state, city, role, vector) rows; zero vectors are left out."""
        rows = [row for row in rows if np.any(row[5])]
        if not rows:
            return cls(np.zeros((0, 0), dtype=np.float32), *(np.array([], dtype=str) for _ in range(5)))
        vectors = np.vstack([row[5] for row in rows]).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        # Fixed-width unicode columns: comparing them is one vectorized pass, not a Python call per row.
        return cls(vectors, *(np.array([value or "" for value in column], dtype=str) for column in list(zip(*rows))[:5]))

    @functools.cached_property
    def row_of(self) -> dict[str, int]:
        """Sample row by worker id: excluding 50 ids costs 50 lookups, not a scan of the sample."""
        return {worker_id: row for row, worker_id in enumerate(self.worker_ids.tolist())}

    def __len__(self) -> int:
        return len(self.worker_ids)

    def applies_to(self, request: SearchRequest) -> bool:
        """Whether the sample can tell which rows pass the request's filters: status, state, city and
        role only (the clusters the walk gets lost between), no radius."""
        f = request.filters
        return request.near is None and not (f.skills or f.certifications or f.shift or f.available_on)

    def best_similarity(self, request: SearchRequest, query: np.ndarray) -> float | None:
        """The highest cosine similarity to `query` of a sampled row that passes the request's filters
        and exclusions; None when no sampled row does or the filters are beyond `applies_to`."""
        if not len(self) or not self.applies_to(request):
            return None
        f = request.filters
        passing = self.status == f.status
        for column in ("state", "city", "role"):
            value = getattr(f, column)
            if value:
                passing &= getattr(self, column) == value
        for worker_id in request.exclude_ids:
            row = self.row_of.get(worker_id)
            if row is not None:
                passing[row] = False
        if not passing.any():
            return None
        norm = float(np.linalg.norm(query))
        if norm == 0.0:
            return None
        # Every row's product, then the passing ones: cheaper than copying the passing rows out first.
        return float((self.vectors @ (query.astype(np.float32) / norm))[passing].max())


def beats_walk(best_sampled_similarity: float | None, best_walk_similarity: float) -> bool:
    """Whether the floor (`WalkFloor.best_similarity`; None: no floor) is above the walk's best result,
    so the walk certainly missed."""
    return best_sampled_similarity is not None and best_sampled_similarity > best_walk_similarity + TOLERANCE
