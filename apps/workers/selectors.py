"""Reads of the workers app: nearest-neighbour search and "these ids that pass these filters" (the pieces
`apps.search.services` assembles into a search, SPEC §4.3), lists and lookups."""

from __future__ import annotations

import functools
import math
import threading
from typing import Any, Callable, Iterable, TypeVar

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from apps.core.selectors import pgvector_at_least
from apps.core.vectors import vector_literal
from apps.indexes.selectors import index_version
from apps.workers.models import Worker
from apps.workers.search import CorpusStats, Near, SearchPlan, SearchRequest, filter_sql, plan_search, weigh_walk, widened_ef_search
from apps.workers.walk_floor import WalkFloor, beats_walk

# The worker fields a search result carries (SPEC §4.3 response).
RESULT_FIELDS = (
    "first_name",
    "city",
    "state",
    "role",
    "skills",
    "certifications",
    "shift_preference",
    "available_from",
    "reliability",
    "phone",
    "email",
    "zip",
    "status",
    "sms_opt_out",
)
# Coordinates are selected for the result's `miles` (radius search), not shown in `worker`.
RESULT_SELECT = ", ".join(("worker_id",) + RESULT_FIELDS + ("latitude", "longitude"))


# ------------------------------------------------------------------------------ corpus statistics

T = TypeVar("T")

_stats_lock = threading.Lock()
_stats_cache: dict[str, tuple[int, CorpusStats]] = {}


def _once_per_version(cache: dict[str, tuple[int, T]], lock: threading.Lock, version: int, compute: Callable[[], T]) -> T:
    """`compute()` once per process per `workers` version: the threads of a process that find it stale
    together wait for one of them to compute it."""
    cached = cache.get("workers")
    if cached and cached[0] == version:
        return cached[1]
    with lock:
        cached = cache.get("workers")
        if cached and cached[0] == version:
            return cached[1]
        value = compute()
        cache["workers"] = (version, value)
        return value


def corpus_stats(version: int) -> CorpusStats:
    """Filter statistics for the planner, recomputed only when the workers index version changes."""
    return _once_per_version(_stats_cache, _stats_lock, version, _count_corpus)


def _count_corpus() -> CorpusStats:
    """The counts behind `corpus_stats`: one GROUP BY per filter dimension."""
    table = Worker._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT state, city, role, status, count(*) FROM {table} WHERE embedding IS NOT NULL GROUP BY 1, 2, 3, 4")
        by_key = {(s, c, r, st): n for s, c, r, st, n in cursor.fetchall()}
        counts: list[dict[str, int]] = []
        for column in ("skills", "certifications", "shift_preference"):
            cursor.execute(f"SELECT v, count(*) FROM {table}, unnest({column}) AS v GROUP BY v")
            counts.append(dict(cursor.fetchall()))
        cursor.execute(
            f"SELECT latitude, longitude, state, role, status, count(*) FROM {table} "
            "WHERE embedding IS NOT NULL AND latitude IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
        )
        by_place = {(lat, lon, s, r, st): n for lat, lon, s, r, st, n in cursor.fetchall()}
    return CorpusStats(sum(by_key.values()), by_key, *counts, by_place=by_place)


_floor_lock = threading.Lock()
_floor_cache: dict[str, tuple[int, WalkFloor]] = {}


def walk_floor(version: int) -> WalkFloor | None:
    """A uniform sample of about SEARCH_WALK_FLOOR_SAMPLE embedded workers (apps.workers.walk_floor),
    loaded once per process per `workers` version (a TABLESAMPLE of the heap's pages; the screen's basis
    adds ~20 ms at 100k); None when the setting is 0."""
    size = settings.SEARCH_WALK_FLOOR_SAMPLE
    if size <= 0:
        return None
    return _once_per_version(_floor_cache, _floor_lock, version, lambda: _sample_corpus(version, size))


def _sample_corpus(version: int, size: int) -> WalkFloor:
    """The sample behind `walk_floor`."""
    # Pages are sampled, not rows, so the count is about `size`; REPEATABLE: the same table gives the
    # same sample, so a search's plan does not depend on the process. Read in chunks from a
    # server-side cursor, each chunk's text parsed at once into the matrix: holding every row's
    # ~5 KB of text at once left ~50 MB more in each web process after the load.
    percent = min(100.0, 100.0 * size / max(corpus_stats(version).total, 1))
    matrix = np.zeros((size, Worker._meta.get_field("embedding").dimensions), dtype=np.float32)
    meta: list[tuple[str, str, str, str, str]] = []
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT worker_id, status, state, city, role, embedding::text FROM {Worker._meta.db_table} "
            "TABLESAMPLE SYSTEM (%s) REPEATABLE (0) WHERE embedding IS NOT NULL",
            [percent],
        )
        while len(meta) < size and (chunk := cursor.fetchmany(min(250, size - len(meta)))):
            text = ",".join(row[5][1:-1] for row in chunk)
            matrix[len(meta) : len(meta) + len(chunk)] = np.fromstring(text, dtype=np.float32, sep=",").reshape(len(chunk), -1)
            meta.extend(row[:5] for row in chunk)
    return WalkFloor.from_rows([(*row, vector) for row, vector in zip(meta, matrix)])


# ---------------------------------------------------------------------------------------- search


# Candidates the index order (half precision, or a relaxed-order walk) hands over past k; the final
# order is the full-precision distance over these.
RERANK_MARGIN = 40


@functools.cache
def _stored_type(column: str) -> str:
    """`vector` or `halfvec`, from the column's model field: a query vector binds as the same type,
    since `<=>` takes two values of one type."""
    return Worker._meta.get_field(column).db_type(connection).split("(")[0]


def _distance_sql(column: str) -> str:
    """The distance every result reports: full precision, whatever type the column is stored as."""
    return f"{column}::vector <=> %s::vector" if _stored_type(column) == "halfvec" else f"{column} <=> %s::vector"


def knn_candidates_sql(sql_where: str, *, exact: bool, column: str = "embedding") -> str:
    """The candidate query of one nearest-neighbour search: its parameters are the filter's, the query
    vector and the candidate count. The exact path's candidates are ids; a graph walk's carry the result
    columns and the vector (see `_knn`)."""
    table = Worker._meta.db_table
    order = f"{column} <=> %s::{_stored_type(column)}"
    if exact:
        # `+ 0` hides the ORDER BY from the HNSW index: the planner otherwise keeps the graph walk even
        # when a B-tree on the filter would find every matching row far more cheaply (and exactly).
        return f"SELECT id FROM {table} WHERE {sql_where} ORDER BY ({order}) + 0 LIMIT %s"
    return f"SELECT {RESULT_SELECT}, {column} FROM {table} WHERE {sql_where} ORDER BY {order} LIMIT %s"


def _knn(
    sql_where: str, params: list[Any], vector: str, k: int, *, exact: bool, ef_search: int, iterative: bool, column: str = "embedding"
) -> list[tuple]:
    """Run one nearest-neighbour query: one round trip, its HNSW settings included.

    The candidates come in the index's order — `halfvec` for the lexical column — and the outer query
    ranks those k + RERANK_MARGIN by the full-precision distance to the float32 query. Ranking by the
    half-precision query alone cost about 0.01 recall@10 at 100k (near ties reorder). The exact path's
    candidates are ids only, and the outer query reads the result columns of the k it keeps: a top-k
    sort of full rows over a few thousand matches took ~30 % more time than one of (id, distance). A
    graph walk hands its rows over in order, with no sort, so its candidates carry the result columns
    and the vector themselves, and nothing is looked up again by id: 0.24 ms less per unfiltered
    search at 100k (the median of paired differences over 900 queries, issue 18).
    """
    table = Worker._meta.db_table
    candidates = knn_candidates_sql(sql_where, exact=exact, column=column)
    precise = _distance_sql(column)
    if exact:
        ranked = f"SELECT {RESULT_SELECT}, {precise} AS distance FROM {table} JOIN candidates USING (id)"
        sql = ""
    else:
        # Session-level SETs, sent with the SELECT in one round trip (client-side binding allows several
        # statements): no transaction, so no BEGIN and COMMIT round trips for SET LOCAL. A pooled
        # connection carries them to its next request, whose graph walks set their own first.
        ranked = f"SELECT {RESULT_SELECT}, {precise} AS distance FROM candidates"
        sql = f"SET hnsw.ef_search = {int(ef_search)}; "
        if iterative:
            # pgvector >= 0.8 resumes the walk until LIMIT rows pass the filter; `relaxed_order` hands
            # them over as found, nearly sorted, and the outer sort restores the order. `strict_order`
            # instead drops every candidate found after a nearer one was returned, which under a
            # 5–12 % filter cost both recall (6 of 10 at ef 40) and time (17 vs 5 ms at 100k).
            sql += "SET hnsw.iterative_scan = relaxed_order; "
    # MATERIALIZED: the candidate query runs once, as written (its LIMIT is what the index serves).
    sql += f"WITH candidates AS MATERIALIZED ({candidates}) {ranked} ORDER BY distance LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, vector, k + RERANK_MARGIN, vector, k])
        # Skip the SETs' empty results by count: each `description` builds a Column per result column.
        for _ in range(sql.count("SET hnsw.")):
            cursor.nextset()
        return cursor.fetchall()


def warm_search_index() -> int:
    """Walk the whole workers HNSW graph once (an iterative scan without a limit), so a PostgreSQL that
    just started has the index and the heap in shared buffers before searches need them: after a
    restart the first minutes otherwise ran 159 → 194 → 212 scenarios/s as the walks filled them
    (issue 18). ~0.7 s warm, ~2 s cold at 100k; `make run` calls it in the background. Returns the
    rows the walk reached (0 on pgvector < 0.8, which cannot walk the whole graph this way)."""
    if not pgvector_at_least(0, 8):
        return 0
    table = Worker._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT embedding::text FROM {table} WHERE embedding IS NOT NULL LIMIT 1")
        row = cursor.fetchone()
        if row is None:
            return 0
        # The planner must take the index (a sort of every row is cheaper by its estimate), and the
        # iterative scan must not stop at its default 20,000 tuples.
        cursor.execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL hnsw.ef_search = 1000; "
            "SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.max_scan_tuples = 100000000"
        )
        cursor.execute(
            f"SELECT count(*) FROM (SELECT id FROM {table} ORDER BY embedding <=> %s::{_stored_type('embedding')} LIMIT 100000000) walk",
            [row[0]],
        )
        return int(cursor.fetchone()[0])


def result_from_row(row: tuple, near: Near | None = None) -> dict[str, Any]:
    """A result from a row of RESULT_SELECT + distance; with `near`, its great-circle `miles`."""
    worker = dict(zip(RESULT_FIELDS, row[1:-3]))
    if worker["available_from"] is not None:
        worker["available_from"] = worker["available_from"].isoformat()
    distance = float(row[-1])
    if math.isnan(distance):  # a worker stored with a zero vector: undefined, ranked as unrelated
        distance = 1.0
    result = {"worker_id": row[0], "score": round(1.0 - distance, 6), "distance": round(distance, 6), "playbook_boost": 0.0, "worker": worker}
    if near is not None:
        result["miles"] = near.miles_to(row[-3], row[-2])
    return result


def nearest_workers(
    request: SearchRequest, vector: np.ndarray, *, version: int | None = None, k: int | None = None, column: str = "embedding"
) -> tuple[list[dict[str, Any]], SearchPlan]:
    """Exactly min(k, matching rows) nearest workers that pass every filter and exclusion, by the
    lexical `embedding` or (hybrid ranking) the `semantic_embedding` column."""
    k = k or request.k
    version = index_version("workers") if version is None else version
    iterative = pgvector_at_least(0, 8)
    plan = plan_search(
        request, corpus_stats(version), base_ef=settings.SEARCH_EF_SEARCH, exact_max_rows=settings.SEARCH_EXACT_MAX_ROWS, iterative=iterative
    )
    floor = walk_floor(version) if plan.path == "hnsw" and column == "embedding" else None
    # One reading per search, on the request's thread: the weighing and a widened walk are judged
    # against the same sample. (A helper thread beside the walk bought nothing, benchmarks/README.md,
    # tenth pass.)
    reading = floor.reading(request, vector) if floor is not None else None
    if reading is not None:
        plan = weigh_walk(plan, reading.neighbourhood_pass_rate, candidates=k + RERANK_MARGIN, walk_row_cost=settings.SEARCH_WALK_ROW_COST)
    literal = vector_literal(vector)
    exact = plan.path == "exact"
    where, params = filter_sql(request.filters, request.exclude_ids, request.near, column, with_box=exact)
    best_sampled = reading.best_similarity if reading is not None and not exact else None
    rows = _knn(where, params, literal, k, exact=exact, ef_search=plan.ef_search, iterative=iterative, column=column)
    missed = _walk_missed(best_sampled, rows)
    if missed:
        # The walk settled in the wrong part of the graph (a sampled row beats its best result): again, wider.
        wide = widened_ef_search(plan.ef_search)
        rows = _knn(where, params, literal, k, exact=False, ef_search=wide, iterative=iterative, column=column)
        plan = SearchPlan("hnsw-widened", wide, plan.estimated_rows)
        missed = _walk_missed(best_sampled, rows)
    if not exact and (len(rows) < k or missed):
        # Short (the graph walk ran out of candidates that pass the filter), or still beaten by the
        # sample after the wider walk. The exact path over the filtered rows is always right; its cost
        # is bounded by the number of matching rows.
        where, params = filter_sql(request.filters, request.exclude_ids, request.near, column)
        rows = _knn(where, params, literal, k, exact=True, ef_search=plan.ef_search, iterative=False, column=column)
        plan = SearchPlan("exact-fallback", plan.ef_search, plan.estimated_rows)
    return [result_from_row(row, request.near) for row in rows], plan


def _walk_missed(best_sampled: float | None, rows: list[tuple]) -> bool:
    """Whether the floor (`WalkFloor.best_similarity`, None: none) beats the walk's nearest result (rows
    come nearest first; a NaN distance is a zero query vector, where nothing is nearer than anything)."""
    return bool(rows) and not math.isnan(rows[0][-1]) and beats_walk(best_sampled, 1.0 - float(rows[0][-1]))


def workers_passing_filters(
    worker_ids: list[str], request: SearchRequest, vector: np.ndarray, column: str = "embedding"
) -> list[dict[str, Any]]:
    """Those of `worker_ids` that pass every filter and exclusion of `request`, as results with their
    distance to `vector` (unordered). The same WHERE clause as `nearest_workers`, so nothing it would
    refuse can enter a result list this way."""
    if not worker_ids:
        return []
    where, params = filter_sql(request.filters, request.exclude_ids, request.near, column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {RESULT_SELECT}, {_distance_sql(column)} AS distance FROM {Worker._meta.db_table} "
            f"WHERE {where} AND worker_id = ANY(%s::text[])",
            [vector_literal(vector), *params, list(worker_ids)],
        )
        return [result_from_row(row, request.near) for row in cursor.fetchall()]


# ------------------------------------------------------------------------------------- lookups


def worker_list() -> QuerySet[Worker]:
    return Worker.objects.defer("embedding", "raw").order_by("worker_id")


def get_worker(worker_id: str) -> Worker:
    return Worker.objects.defer("embedding").get(worker_id=worker_id)


def existing_worker_ids(worker_ids: Iterable[str]) -> set[str]:
    """Which of these ids name a stored worker (one query)."""
    return {row["worker_id"] for row in worker_rows(("worker_id",), worker_ids=worker_ids)}


@functools.cache
def _worker_rows_sql(fields: tuple[str, ...]) -> str:
    columns = {f.attname: f.column for f in Worker._meta.concrete_fields}
    unknown = [name for name in fields if name not in columns]
    if unknown:
        raise ValueError(f"not a Worker column: {', '.join(unknown)}")
    return (
        f"SELECT {', '.join(columns[name] for name in fields)} FROM {Worker._meta.db_table} "
        "WHERE worker_id = ANY(%s::text[]) OR phone = ANY(%s::text[]) OR email = ANY(%s::text[])"
    )


def worker_rows(
    fields: tuple[str, ...], *, worker_ids: Iterable[str] = (), phones: Iterable[str] = (), emails: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """`fields` of the workers with any of these ids, phones or emails, as dicts (one query).

    The validators' lookups on the request path. Plain SQL, built once per field tuple: the same
    `filter(...).values(...)` through the ORM cost ~0.5 ms of Python per request to build and compile,
    five times the query itself (issue 18).
    """
    ids, phones, emails = ([v for v in dict.fromkeys(values) if v] for values in (worker_ids, phones, emails))
    if not (ids or phones or emails):
        return []
    with connection.cursor() as cursor:
        cursor.execute(_worker_rows_sql(tuple(fields)), [ids, phones, emails])
        return [dict(zip(fields, row)) for row in cursor.fetchall()]


def workers_by_id(worker_ids: Iterable[str]) -> dict[str, Worker]:
    """One query for a set of workers (validators look their inputs up in bulk)."""
    ids = list(dict.fromkeys(worker_ids))
    return {w.worker_id: w for w in Worker.objects.defer("embedding", "raw").filter(worker_id__in=ids)}
