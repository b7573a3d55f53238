"""The sample that catches a graph walk settled in the wrong cluster (apps.workers.walk_floor): pure
checks of the floor, then the walk on the real 3,000-worker corpus made to miss."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from apps.indexes.embedders import get_embedder
from apps.workers.search import Near, SearchFilters, SearchRequest
from apps.workers.walk_floor import SCREEN_CANDIDATES, SCREEN_DIMENSIONS, WalkFloor, beats_walk
from tests.oracle import exact_ranking


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _floor() -> WalkFloor:
    return WalkFloor.from_rows(
        [
            ("W-1", "active", "IL", "Chicago", "forklift_operator", _unit(1, 0, 0)),
            ("W-2", "active", "TX", "Houston", "line_cook", _unit(0, 1, 0)),
            ("W-3", "do_not_contact", "IL", "Chicago", "line_cook", _unit(0, 0, 1)),
            ("W-4", "active", "IL", "Chicago", "line_cook", np.zeros(3, dtype=np.float32)),  # no direction: left out
        ]
    )


def test_the_floor_is_the_nearest_sampled_row_that_passes_the_filters():
    floor, query = _floor(), _unit(1, 1, 1)
    assert len(floor) == 3
    assert floor.best_similarity(SearchRequest("q"), _unit(0, 1, 0)) == pytest.approx(1.0)  # W-2
    assert floor.best_similarity(SearchRequest("q", filters=SearchFilters(state="IL")), _unit(0, 1, 0)) == pytest.approx(0.0)  # W-1 only
    assert floor.best_similarity(SearchRequest("q", filters=SearchFilters(role="line_cook", city="Chicago")), query) is None
    assert floor.best_similarity(SearchRequest("q", filters=SearchFilters(status="do_not_contact")), query) == pytest.approx(1 / np.sqrt(3))
    assert floor.best_similarity(SearchRequest("q", exclude_ids=("W-2",)), _unit(0, 1, 0)) == pytest.approx(0.0)
    assert floor.best_similarity(SearchRequest("q"), _unit(0, 1, 0)) == pytest.approx(1.0)  # the exclusion stayed with its request


@pytest.mark.parametrize(
    "filters, near",
    [
        (SearchFilters(skills=("forklift",)), None),
        (SearchFilters(shift="night"), None),
        (SearchFilters(certifications=("OSHA 10",)), None),
        (SearchFilters(available_on=date(2027, 1, 4)), None),
        (SearchFilters(), Near("60601", 10, 41.88, -87.63)),
    ],
)
def test_filters_the_sample_cannot_apply_give_no_floor(filters, near):
    """A sampled row the real filter would refuse could raise the floor above every eligible row."""
    request = SearchRequest("q", filters=filters, near=near)
    assert not _floor().applies_to(request)
    assert _floor().best_similarity(request, _unit(1, 0, 0)) is None
    assert not beats_walk(_floor().best_similarity(request, _unit(1, 0, 0)), best_walk_similarity=-1.0)


def test_a_walk_is_missed_only_when_a_sampled_row_beats_its_best_result():
    floor, request, query = _floor(), SearchRequest("q"), _unit(1, 0.2, 0)
    best_sampled = floor.best_similarity(request, query)
    assert beats_walk(floor.best_similarity(request, query), best_sampled - 0.01)
    assert not beats_walk(floor.best_similarity(request, query), best_sampled)  # the walk found that very row
    assert not beats_walk(floor.best_similarity(request, query), best_sampled + 0.01)
    assert not beats_walk(WalkFloor.from_rows([]).best_similarity(request, query), -1.0)


def _wide_floor(
    clusters: int = 20, per_cluster: int = 20, dim: int = 128, role_of=lambda row: "line_cook" if row % 2 else "forklift_operator"
) -> tuple[WalkFloor, np.ndarray, np.ndarray]:
    """Rows in clusters, like the corpus's role × city clusters: more rows than the screen hands over,
    in more dimensions than it keeps (the screened path). Row i's role is `role_of(i)`. Returns the
    floor, its unit rows and the cluster centres."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.repeat(centres, per_cluster, axis=0) + rng.standard_normal((clusters * per_cluster, dim)).astype(np.float32) * 0.03
    floor = WalkFloor.from_rows([(f"W-{i}", "active", "IL", "Chicago", role_of(i), vectors[i]) for i in range(len(vectors))])
    assert len(floor) > SCREEN_CANDIDATES and floor.basis.shape == (dim, SCREEN_DIMENSIONS)
    return floor, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), centres


def test_the_screen_hands_the_full_product_the_sampled_row_nearest_the_query():
    """A query at a cluster's centre: of 400 rows only 16 are compared in full, and the nearest must be
    one of them, so the floor is exactly the full product's."""
    floor, vectors, centres = _wide_floor()
    for query in centres:
        assert floor.best_similarity(SearchRequest("q"), query) == pytest.approx(float((vectors @ query).max()), abs=1e-6)


def test_the_screened_floor_is_a_passing_rows_exact_similarity_and_never_above_the_full_product():
    floor, vectors, _ = _wide_floor()
    cooks = np.array([i % 2 == 1 for i in range(len(vectors))])
    request = SearchRequest("q", filters=SearchFilters(role="line_cook"), exclude_ids=("W-3",))
    allowed = cooks.copy()
    allowed[3] = False
    for query in [vectors[3], vectors[4], *np.random.default_rng(9).standard_normal((50, vectors.shape[1])).astype(np.float32)]:
        exact = vectors @ (query / np.linalg.norm(query))
        best = floor.best_similarity(request, query)
        assert best <= exact[allowed].max() + 1e-6  # the excluded row and the forklift operators stay out
        assert np.isclose(exact[allowed], best, atol=1e-6).any()  # and it is one real row's similarity


def test_filter_values_no_sampled_row_has_are_not_kept():
    """A filter's rows are kept per value; values from requests that match nothing must not pile up."""
    floor = _floor()
    for i in range(50):
        assert floor.best_similarity(SearchRequest("q", filters=SearchFilters(city=f"Nowhere {i}")), _unit(1, 0, 0)) is None
    assert floor.best_similarity(SearchRequest("q", filters=SearchFilters(city="Chicago")), _unit(1, 0, 0)) == pytest.approx(1.0)
    assert set(floor._masks) == {("status", "active"), ("city", "Chicago")}


def test_the_neighbourhood_pass_rate_is_the_share_of_the_nearest_sampled_rows_that_pass():
    """20 clusters of 20 rows, one role each: around a cluster's centre its own 20 rows are among the
    64 nearest, a far cluster's none."""
    floor, _, centres = _wide_floor(role_of=lambda row: f"role_{row // 20}")
    far = int(np.argmin(centres @ centres[0]))

    def rate(role: str, **request) -> float | None:
        return floor.neighbourhood_pass_rate(SearchRequest("q", filters=SearchFilters(role=role), **request), centres[0])

    assert rate("role_0") == pytest.approx(20.5 / 65)
    assert rate(f"role_{far}") == pytest.approx(0.5 / 65)  # none pass: small, never zero
    assert rate("role_0", exclude_ids=("W-0", "W-1", "W-2")) == pytest.approx(17.5 / 65)
    assert floor.neighbourhood_pass_rate(SearchRequest("q", filters=SearchFilters(skills=("forklift",))), centres[0]) is None
    # No state, city or role: nothing narrower than the status to leave the neighbourhood.
    assert floor.neighbourhood_pass_rate(SearchRequest("q", exclude_ids=("W-0",)), centres[0]) is None
    # One reading answers both questions, in either order, as two separate readings would.
    reading = floor.reading(SearchRequest("q", filters=SearchFilters(role=f"role_{far}")), centres[0])
    assert reading.best_similarity == floor.best_similarity(reading.request, centres[0])
    assert reading.neighbourhood_pass_rate == rate(f"role_{far}")  # the floor's screen left the scores as they were


# --------------------------------------------------------------------------- on the real corpus

QUERY = "forklift operator night shift rf scanner"


@pytest.fixture
def floor_cache():
    """The per-process sample cache, emptied before and after: a test's floor must not reach another."""
    from apps.workers import selectors

    selectors._floor_cache.clear()
    yield selectors._floor_cache
    selectors._floor_cache.clear()


@pytest.mark.django_db
def test_the_sample_is_stored_workers_with_their_stored_vectors(search_corpus, floor_cache, settings):
    from apps.indexes.selectors import index_version
    from apps.workers.selectors import walk_floor

    settings.SEARCH_WALK_FLOOR_SAMPLE = 1000
    floor = walk_floor(index_version("workers"))
    assert 500 <= len(floor) <= 1000  # 3,000 rows, every n-th kept
    rows = {wid: i for i, wid in enumerate(search_corpus["ids"])}
    stored = search_corpus["matrix"][[rows[wid] for wid in floor.worker_ids]]
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    assert np.allclose((floor.vectors * stored).sum(axis=1), 1.0, atol=1e-5)
    for wid, status, role in zip(floor.worker_ids[:50], floor.status[:50], floor.role[:50]):
        meta = search_corpus["meta"][rows[wid]]
        assert (status, role) == (meta["status"], meta["role"])
    assert walk_floor(index_version("workers")) is floor  # once per version and process
    settings.SEARCH_WALK_FLOOR_SAMPLE = 0
    assert walk_floor(index_version("workers")) is None


@pytest.mark.django_db
def test_a_walk_the_sample_beats_is_walked_again_wider_then_exactly(search_corpus, floor_cache, settings):
    """At 3,000 rows the walk does not get lost, so the sample is given a row no walk can find (the
    query itself): the search walks again at ef_search 400, is still beaten, and takes the exact path,
    which answers the exact top 10."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.indexes.selectors import index_version
    from apps.workers.search import WIDENED_EF_SEARCH
    from apps.workers.selectors import nearest_workers

    # The corpus is under the exact-path threshold, and a role filter's rows are few: walk the graph.
    settings.SEARCH_EXACT_MAX_ROWS, settings.SEARCH_WALK_ROW_COST = 0, 0
    vector = get_embedder().embed([QUERY])[0]
    expected = exact_ranking(search_corpus, vector, lambda wid, m: m["status"] == "active", 10)
    version = index_version("workers")

    floor_cache["workers"] = (version, WalkFloor.from_rows([("W-ghost", "active", "IL", "Chicago", "forklift_operator", vector)]))
    with CaptureQueriesContext(connection) as queries:
        results, plan = nearest_workers(SearchRequest(QUERY, k=10), vector, version=version)
    knn = [q["sql"] for q in queries.captured_queries if "WITH candidates" in q["sql"]]
    assert len(knn) == 3
    assert f"hnsw.ef_search = {settings.SEARCH_EF_SEARCH};" in knn[0] and f"hnsw.ef_search = {WIDENED_EF_SEARCH};" in knn[1]
    assert "hnsw.ef_search" not in knn[2]  # the exact path
    assert plan.path == "exact-fallback" and [r["worker_id"] for r in results] == expected

    # The same row behind a filter the search does not share, or excluded: no floor, one walk.
    results, plan = nearest_workers(SearchRequest(QUERY, k=10, filters=SearchFilters(role="line_cook")), vector)
    assert plan.path == "hnsw"
    results, plan = nearest_workers(SearchRequest(QUERY, k=10, exclude_ids=("W-ghost",)), vector)
    assert plan.path == "hnsw" and [r["worker_id"] for r in results] == expected

    # The real sample: the walk found the nearest rows, so nothing in the sample beats it.
    floor_cache.clear()
    results, plan = nearest_workers(SearchRequest(QUERY, k=10), vector)
    assert plan.path == "hnsw" and [r["worker_id"] for r in results] == expected


class _CountingFloor(WalkFloor):
    """A floor that counts how often a search reads it."""

    calls: list[str] = []

    def reading(self, request, query):
        self.calls.append(request.query)
        return super().reading(request, query)


@pytest.mark.django_db
def test_a_search_computes_its_floor_once_even_when_it_walks_again(search_corpus, floor_cache, settings):
    """The floor is worked out once per search: the widened walk is judged against the same value."""
    from apps.indexes.selectors import index_version
    from apps.workers.selectors import nearest_workers

    settings.SEARCH_EXACT_MAX_ROWS = 0
    vector = get_embedder().embed([QUERY])[0]
    floor_cache["workers"] = (index_version("workers"), _CountingFloor.from_rows([("W-ghost", "active", "IL", "Chicago", "forklift_operator", vector)]))
    _CountingFloor.calls.clear()
    results, plan = nearest_workers(SearchRequest(QUERY, k=10), vector)
    assert plan.path == "exact-fallback" and len(results) == 10  # beaten twice: walked, widened, then exact
    assert _CountingFloor.calls == [QUERY]


@pytest.mark.django_db
def test_a_role_absent_around_the_query_takes_the_exact_path_and_a_role_it_names_walks(search_corpus, floor_cache, settings):
    """One walked row priced at half an exact one, so that this 3,000-row corpus still walks a role
    the query names; a role none of the query's sampled neighbours has would be walked far, and is read
    exactly instead."""
    from apps.workers.selectors import nearest_workers

    settings.SEARCH_EXACT_MAX_ROWS, settings.SEARCH_WALK_ROW_COST = 0, 0.5
    vector = get_embedder().embed([QUERY])[0]
    assert nearest_workers(SearchRequest(QUERY, k=10, filters=SearchFilters(role="forklift_operator")), vector)[1].path == "hnsw"
    absent, plan = nearest_workers(SearchRequest(QUERY, k=10, filters=SearchFilters(role="home_health_aide")), vector)
    assert plan.path == "exact"
    expected = exact_ranking(search_corpus, vector, lambda wid, m: m["status"] == "active" and m["role"] == "home_health_aide", 10)
    assert [r["worker_id"] for r in absent] == expected
    settings.SEARCH_WALK_ROW_COST = 0  # no weighing: the same request walks
    assert nearest_workers(SearchRequest(QUERY, k=10, filters=SearchFilters(role="home_health_aide")), vector)[1].path != "exact"
