"""A floor under the HNSW walk's answer, from a uniform sample of the corpus.

On this corpus (role × city clusters) the greedy descent of an HNSW walk sometimes settles in the wrong
cluster: at 100k and ef_search 100, about 2 % of coordinator-style queries came back with recall@10
below 0.5 — picker packers for a shipping-clerk query — and a walk at ef_search 400 found the true
neighbours for 37 of 44 such queries (benchmarks/README.md, issue 18, seventh pass). Any row of the
corpus that passes the filters bounds the true nearest neighbour's similarity from below, so when a
sampled row beats the walk's best result, the walk has certainly missed; the caller walks again,
wider, then exactly. A few thousand sampled rows catch most such misses and never raise a false alarm
on a walk that found the true nearest neighbour.

The full product with 2,000 × 768 float32 rows took ~0.06 ms in a loop but added ~0.65 ms to a
search at 100k: right after a wait each numpy call runs several times its loop time, the 6 MB product
most of all. So a screen picks the rows worth the full product: each row's coordinates along the
sample's 64 principal directions (512 KB) rank the passing rows, and the 16 best are compared in full.
The floor is still one real passing row's exact similarity, so it never exceeds the full product's and
a walk it beats is still certainly missed; on 8,000 walks at 100k it flagged the same 44 walks as the
full product (`python -m benchmarks.bench_walk_floor`).

Pure numpy over plain data: the rows are loaded by `apps.workers.selectors.walk_floor`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from apps.workers.search import SearchRequest

# The sampled row must beat the walk by more than float rounding: both sides are cosines of the same
# stored half-precision vectors, computed by PostgreSQL and by numpy.
TOLERANCE = 1e-4
# The screen's principal directions, and the rows it hands to the full product.
SCREEN_DIMENSIONS = 64
SCREEN_CANDIDATES = 16
# The sampled rows that stand for a query's neighbourhood (of 2,000: the nearest ~3 % of the corpus)
# when estimating how many of the rows a graph walk meets pass the filters.
NEIGHBOURHOOD = 64


@dataclass(frozen=True)
class WalkFloor:
    vectors: np.ndarray  # (n, dim) float32, unit rows
    worker_ids: np.ndarray  # (n,) str, like the four filter columns
    status: np.ndarray
    state: np.ndarray
    city: np.ndarray
    role: np.ndarray
    basis: np.ndarray  # (dim, d) orthonormal: the sample's top principal directions
    projected: np.ndarray  # (n, d): vectors @ basis, the screen
    _masks: dict[tuple[str, str], tuple[np.ndarray, int]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_rows(cls, rows: list[tuple[str, str, str, str, str, np.ndarray]]) -> WalkFloor:
        """From (worker_id, status, state, city, role, vector) rows; zero vectors are left out."""
        rows = [row for row in rows if np.any(row[5])]
        if not rows:
            empty = np.zeros((0, 0), dtype=np.float32)
            return cls(empty, *(np.array([], dtype=str) for _ in range(5)), basis=empty, projected=empty)
        vectors = np.vstack([row[5] for row in rows]).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        basis = principal_basis(vectors, SCREEN_DIMENSIONS)
        # Fixed-width unicode columns: comparing them is one vectorized pass, not a Python call per row.
        columns = (np.array([value or "" for value in column], dtype=str) for column in list(zip(*rows))[:5])
        return cls(vectors, *columns, basis=basis, projected=np.ascontiguousarray(vectors @ basis))

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

    def reading(self, request: SearchRequest, query: np.ndarray) -> FloorReading:
        """The sample read for one search: what `best_similarity` and `neighbourhood_pass_rate` answer,
        sharing the passing rows and the screen's scores between them."""
        return FloorReading(self, request, np.asarray(query, dtype=np.float32))

    def best_similarity(self, request: SearchRequest, query: np.ndarray) -> float | None:
        """`FloorReading.best_similarity`, for one question."""
        return self.reading(request, query).best_similarity

    def neighbourhood_pass_rate(self, request: SearchRequest, query: np.ndarray) -> float | None:
        """`FloorReading.neighbourhood_pass_rate`, for one question."""
        return self.reading(request, query).neighbourhood_pass_rate

    def _passing(self, request: SearchRequest) -> tuple[np.ndarray, int]:
        """The sampled rows that pass the request's filters and exclusions, and how many. Inside a
        search each numpy call costs several times what it does in a loop, so a filter's rows are
        found once per value (a comparison of the sample's strings cost ~50 µs), and an unfiltered
        search takes its status's rows as they are."""
        f = request.filters
        filters = [("status", f.status)] + [(column, value) for column in ("state", "city", "role") if (value := getattr(f, column))]
        masks = [self._mask(column, value) for column, value in filters]
        excluded = [row for worker_id in request.exclude_ids if (row := self.row_of.get(worker_id)) is not None]
        if len(masks) == 1 and not excluded:
            return masks[0]
        passing = np.logical_and.reduce([mask for mask, _ in masks])  # a new array: the cached masks stay
        passing[excluded] = False
        return passing, int(np.count_nonzero(passing))

    def _mask(self, column: str, value: str) -> tuple[np.ndarray, int]:
        """The rows whose `column` is `value`, and how many. Only values some sampled row has are kept,
        so requests naming any number of other values cannot grow the cache past the sample's own."""
        key = (column, value)
        if key not in self._masks:  # threads that race here compute the same array
            mask = getattr(self, column) == value
            count = int(np.count_nonzero(mask))
            if not count:
                return mask, 0
            self._masks[key] = (mask, count)
        return self._masks[key]


@dataclass
class FloorReading:
    """One search's query against the sample. Inside a search each numpy call costs several times its
    loop time, so the rows that pass the filters and the screen's scores are worked out once, and only
    when one of the two questions needs them."""

    floor: WalkFloor
    request: SearchRequest
    query: np.ndarray  # float32

    @functools.cached_property
    def _applies(self) -> bool:
        return bool(len(self.floor)) and self.floor.applies_to(self.request)

    @functools.cached_property
    def _passing(self) -> tuple[np.ndarray, int]:
        return self.floor._passing(self.request)

    @functools.cached_property
    def _screen(self) -> np.ndarray:
        """Every sampled row's score along the sample's principal directions: near the cosine, cheap."""
        return self.floor.projected @ (self.query @ self.floor.basis)

    @functools.cached_property
    def best_similarity(self) -> float | None:
        """The highest cosine similarity to the query of a sampled row that passes the request's filters
        and exclusions; None when no sampled row does or the filters are beyond `applies_to`."""
        if not self._applies:
            return None
        passing, count = self._passing
        norm = math.sqrt(float(self.query @ self.query))
        if not count or norm == 0.0:
            return None
        if count > SCREEN_CANDIDATES:
            # Every row's screen score, then the passing ones' best: cheaper than copying them out first.
            candidates = np.argpartition(np.where(passing, self._screen, -np.inf), -SCREEN_CANDIDATES)[-SCREEN_CANDIDATES:]
        else:
            candidates = np.flatnonzero(passing)
        return float((self.floor.vectors[candidates] @ self.query).max()) / norm

    @functools.cached_property
    def neighbourhood_pass_rate(self) -> float | None:
        """The share of the query's neighbourhood — the NEIGHBOURHOOD sampled rows the screen ranks
        nearest — that passes the request's filters and exclusions, smoothed so that none passing is
        still a small rate, never zero. None when the filters are beyond `applies_to`, or name no
        state, city or role: only those can leave the neighbourhood (unfiltered, ~85 % pass).

        A filtered graph walk keeps going until its candidates pass (an iterative scan), so it meets
        about candidates ÷ this rate rows: a role the query's words do not name can be 5 % of the
        corpus and still absent around the query, and the walk then ran into pgvector's 20,000-row
        scan limit (85–110 ms at 100k) where the exact path reads the role's rows in ~16 ms."""
        f = self.request.filters
        if not self._applies or not (f.state or f.city or f.role):
            return None
        passing, _ = self._passing
        neighbours = min(NEIGHBOURHOOD, len(self.floor))
        nearest = np.argpartition(self._screen, -neighbours)[-neighbours:]
        return (int(np.count_nonzero(passing[nearest])) + 0.5) / (neighbours + 1)


def principal_basis(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """The rows' top `dimensions` principal directions (uncentred: the screen ranks inner products), as
    orthonormal columns. A randomized range finder (Halko, Martinsson & Tropp 2011) with two power
    iterations: ~27 ms for 2,000 × 768 on one thread, against ~100 ms for an eigendecomposition of the
    Gram matrix, which kept 0.781 of the sample's energy where this keeps 0.774 (issue 18). Seeded, so
    every process screens one sample alike."""
    dimensions = min(dimensions, *vectors.shape)
    basis = np.random.default_rng(0).standard_normal((vectors.shape[1], min(dimensions + 8, vectors.shape[1])), dtype=np.float32)
    for _ in range(2):
        basis, _ = np.linalg.qr(vectors.T @ (vectors @ basis))
    _, _, directions = np.linalg.svd(vectors @ basis, full_matrices=False)
    return np.ascontiguousarray(basis @ directions[:dimensions].T)


def beats_walk(best_sampled_similarity: float | None, best_walk_similarity: float) -> bool:
    """Whether the floor (`WalkFloor.best_similarity`; None: no floor) is above the walk's best result,
    so the walk certainly missed."""
    return best_sampled_similarity is not None and best_sampled_similarity > best_walk_similarity + TOLERANCE
