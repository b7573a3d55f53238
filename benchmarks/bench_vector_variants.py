"""Vector storage variants side by side (issue 18, item 2): `vector`, `halfvec`, and binary
quantization with re-ranking, each in its own scratch table built the same way.

For every variant: table and index size, copy and HNSW build seconds (m 16, ef_construction 64,
maintenance_work_mem 1GB, 2 parallel maintenance workers), and single-connection latency
p50/p95/p99 + recall@10 of the unfiltered top-10 at each `hnsw.ef_search`, against the exact float32
cosine top-10 computed with numpy over the same stored vectors.

Variants (scratch tables `scratch_variant_*`, dropped at the end, also on error or Ctrl-C/SIGTERM):

* `vector`  — `vector(dim)`, HNSW `vector_cosine_ops`;
* `halfvec` — `halfvec(dim)`, HNSW `halfvec_cosine_ops`;
* `halfvec_efc<N>` — `halfvec` built with ef_construction N instead of HNSW_EF_CONSTRUCTION, one per
  value of `--ef-construction` (how the graph's build trades build time for recall at each ef_search);
* `binary`  — an `--bq-column` (default `halfvec`) column, HNSW on the expression
  `(binary_quantize(embedding)::bit(dim)) bit_hamming_ops`; the N nearest by Hamming distance are
  re-ranked by cosine (pgvector's documented form):

      SELECT … FROM (SELECT … ORDER BY binary_quantize(embedding)::bit(dim) <~> binary_quantize($q) LIMIT N)
      ORDER BY embedding <=> $q LIMIT 10

  An HNSW scan returns at most ef_search rows, so the inner scan runs with
  `hnsw.iterative_scan = relaxed_order` (order is restored by the re-rank) to deliver N candidates
  when N > ef_search; the table reports the mean candidates actually returned.

The source is the active workers with an embedding in `workers_worker` (read only, never modified),
cast through `vector(dim)` so it works whether that column is `vector` or `halfvec`. Latency is the
SELECT alone (execute + fetch) on one autocommit connection with the HNSW settings set once per row,
after a warm-up pass of different queries; every query string is distinct.

    python -m benchmarks.bench_vector_variants [--count N] [--queries 150] [--ef 40,120]
        [--candidates 40,100,200] [--bq-column halfvec] [--ef-construction 64,160,200]
        [--variants halfvec,halfvec_efc160,...] [--json-out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from apps.core.vectors import vector_literal  # noqa: E402
from apps.indexes.embedders import get_embedder  # noqa: E402
from apps.workers.models import Worker  # noqa: E402
from benchmarks.bench_search import make_queries, summarize  # noqa: E402

SCRATCH_PREFIX = "scratch_variant_"
K = 10
WARM_UP_QUERIES = 50


@dataclass(frozen=True)
class Variant:
    """One storage variant: its scratch table, column type and HNSW index, and (binary quantization)
    the candidate counts re-ranked by the full-precision column."""

    name: str
    column_type: str  # "vector" or "halfvec"
    index_expression: str  # what goes inside `USING hnsw (...)`
    candidates: tuple[int, ...] = ()
    ef_construction: int | None = None  # None: settings.HNSW_EF_CONSTRUCTION

    @property
    def table(self) -> str:
        return SCRATCH_PREFIX + self.name

    @property
    def index(self) -> str:
        return self.table + "_hnsw"


def build_variants(dim: int, bq_column: str, candidates: tuple[int, ...], ef_constructions: tuple[int, ...] = ()) -> list[Variant]:
    return [
        Variant("vector", "vector", "embedding vector_cosine_ops"),
        Variant("halfvec", "halfvec", "embedding halfvec_cosine_ops"),
        *(Variant(f"halfvec_efc{n}", "halfvec", "embedding halfvec_cosine_ops", ef_construction=n) for n in ef_constructions),
        Variant("binary", bq_column, f"(binary_quantize(embedding)::bit({dim})) bit_hamming_ops", candidates),
    ]


def shortlist_sql(variant: Variant, dim: int, candidates: int) -> str:
    """The `candidates` nearest by Hamming distance of the binary-quantized vectors (the bit index)."""
    return (
        f"SELECT worker_id, embedding FROM {variant.table} ORDER BY binary_quantize(embedding)::bit({dim}) "
        f"<~> binary_quantize(%s::{variant.column_type}({dim})) LIMIT {int(candidates)}"
    )


def knn_sql(variant: Variant, dim: int, candidates: int | None) -> str:
    """The unfiltered top-K; with `candidates`, the binary-quantized shortlist re-ranked by cosine."""
    query = f"%s::{variant.column_type}({dim})"
    if candidates is None:
        return f"SELECT worker_id FROM {variant.table} ORDER BY embedding <=> {query} LIMIT {K}"
    return f"SELECT worker_id FROM ({shortlist_sql(variant, dim, candidates)}) AS shortlist ORDER BY embedding <=> {query} LIMIT {K}"


def bq_verdict(rows: list[dict[str, Any]]) -> list[str]:
    """Binary-quantization rows that beat `halfvec` at the same ef_search on both p50 and recall@10."""
    halfvec = {r["ef_search"]: r for r in rows if r["variant"] == "halfvec"}
    return [
        f"binary N={r['candidates']} ef {r['ef_search']}"
        for r in rows
        if r["variant"] == "binary" and r["ef_search"] in halfvec
        and r["p50"] < halfvec[r["ef_search"]]["p50"] and r["recall@10"] >= halfvec[r["ef_search"]]["recall@10"]
    ]


# ------------------------------------------------------------------------------------ the database


def raw_connection() -> psycopg.Connection:
    """A plain autocommit psycopg connection to the database Django is configured for."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def drop_scratch(variants: list[Variant]) -> None:
    # A fresh connection: after an interrupt the measuring one may be mid-statement.
    with raw_connection() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(v.table for v in variants)}")


def scratch_tables_left() -> list[str]:
    with raw_connection() as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s", [SCRATCH_PREFIX + "%"]).fetchall()
    return [r[0] for r in rows]


def copy_and_build(conn: psycopg.Connection, variant: Variant, dim: int, count: int | None) -> dict[str, Any]:
    """Copy the first `count` active workers' vectors into the variant's table and build its index."""
    source = Worker._meta.db_table
    limit = "" if count is None else f" LIMIT {int(count)}"
    started = time.perf_counter()
    conn.execute(f"CREATE TABLE {variant.table} (worker_id text NOT NULL, embedding {variant.column_type}({dim}) NOT NULL)")
    conn.execute(
        f"INSERT INTO {variant.table} (worker_id, embedding) "
        f"SELECT worker_id, embedding::vector({dim})::{variant.column_type}({dim}) FROM {source} "
        f"WHERE status = 'active' AND embedding IS NOT NULL ORDER BY id{limit}"
    )
    conn.execute(f"VACUUM ANALYZE {variant.table}")  # hint bits and visibility map set before timing reads
    copy_s = time.perf_counter() - started
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    conn.execute("SET min_parallel_table_scan_size = 0")  # else a heap < 8 MB silently gets no parallel workers
    started = time.perf_counter()
    conn.execute(
        f"CREATE INDEX {variant.index} ON {variant.table} USING hnsw ({variant.index_expression}) "
        f"WITH (m = {int(settings.HNSW_M)}, ef_construction = {int(variant.ef_construction or settings.HNSW_EF_CONSTRUCTION)})"
    )
    build_s = time.perf_counter() - started
    conn.execute("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers; RESET min_parallel_table_scan_size")
    table_rows, table_bytes, index_bytes = conn.execute(
        "SELECT count(*), pg_table_size(%s::regclass), pg_relation_size(%s::regclass) FROM " + variant.table,
        [variant.table, variant.index],
    ).fetchone()
    return {
        "table_rows": table_rows,
        "table_mb": round(table_bytes / 2**20, 1),  # heap + TOAST: `vector(768)` rows are stored out of line
        "index_mb": round(index_bytes / 2**20, 1),
        "copy_s": round(copy_s, 1),
        "build_s": round(build_s, 1),
    }


def load_oracle(variant: Variant) -> tuple[np.ndarray, np.ndarray]:
    """Ids and unit-normalized float32 vectors of a `vector` scratch table (the stored values)."""
    from pgvector.psycopg import register_vector

    with raw_connection() as conn:
        register_vector(conn)
        rows = conn.execute(f"SELECT count(*) FROM {variant.table}").fetchone()[0]
        ids, matrix = [], np.empty((rows, settings.EMBEDDING_DIM), dtype=np.float32)
        with conn.transaction(), conn.cursor(name="oracle", binary=True) as cursor:
            cursor.itersize = 5000
            cursor.execute(f"SELECT worker_id, embedding FROM {variant.table}")
            for i, (worker_id, vector) in enumerate(cursor):
                ids.append(worker_id)
                matrix[i] = vector.to_numpy()
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
    return np.array(ids), matrix


def exact_top_k(ids: np.ndarray, matrix: np.ndarray, query_vectors: np.ndarray) -> list[set[str]]:
    """Exact cosine top-K of each query, ranked as bench_search's Corpus ranks (stable sort)."""
    out = []
    for vector in query_vectors:
        sims = matrix @ (vector / (np.linalg.norm(vector) + 1e-12))
        out.append(set(ids[np.argsort(-sims, kind="stable")[:K]].tolist()))
    return out


def measure(
    conn: psycopg.Connection, variant: Variant, dim: int, ef_search: int, candidates: int | None,
    literals: list[str], warm_literals: list[str], expected: list[set[str]],
) -> dict[str, Any]:
    sql = knn_sql(variant, dim, candidates)
    binds = 1 if candidates is None else 2
    iterative = "relaxed_order" if candidates is not None else "off"
    conn.execute(f"SET hnsw.ef_search = {int(ef_search)}; SET hnsw.iterative_scan = {iterative}")
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, [literals[0]] * binds).fetchall())
    delivered = None
    if candidates is not None:
        shortlist = shortlist_sql(variant, dim, candidates)
        counts = [conn.execute(f"SELECT count(*) FROM ({shortlist}) AS s", [lit]).fetchone()[0] for lit in literals[:10]]
        delivered = round(sum(counts) / len(counts), 1)
    for literal in warm_literals:
        conn.execute(sql, [literal] * binds).fetchall()
    latencies, recalls = [], []
    for literal, truth in zip(literals, expected):
        started = time.perf_counter()
        got = conn.execute(sql, [literal] * binds).fetchall()
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len({r[0] for r in got} & truth) / len(truth))
    return {
        "variant": variant.name, "ef_search": ef_search, "candidates": candidates, "candidates_returned": delivered,
        **summarize(latencies), "recall@10": round(float(np.mean(recalls)), 4), "uses_index": variant.index in plan,
    }


def run(
    count: int | None, n_queries: int, seed: int, ef_values: list[int], candidates: tuple[int, ...], bq_column: str,
    ef_constructions: tuple[int, ...] = (), only: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Build every variant (or those named in `only`), measure, and drop the scratch tables whatever happens."""
    dim = settings.EMBEDDING_DIM
    variants = [v for v in build_variants(dim, bq_column, candidates, ef_constructions) if not only or v.name in only]
    drop_scratch(variants)  # a run killed with SIGKILL may have left them
    try:
        with raw_connection() as conn:
            builds = {}
            for variant in variants:
                print(f"copying and indexing {variant.table} ...", file=sys.stderr, flush=True)
                builds[variant.name] = copy_and_build(conn, variant, dim, count)
            ids, matrix = load_oracle(variants[0])
            embedder = get_embedder()
            texts = [q["text"] for q in make_queries(n_queries + WARM_UP_QUERIES, seed)]
            query_vectors = np.asarray(embedder.embed([t + " variants" for t in texts[:n_queries]]), dtype=np.float32)
            literals = [vector_literal(v) for v in query_vectors]
            warm_literals = [vector_literal(v) for v in embedder.embed([t + " warm" for t in texts[n_queries:]])]
            expected = exact_top_k(ids, matrix, query_vectors)
            del matrix
            rows = []
            for variant in variants:
                for ef_search in ef_values:
                    for n in variant.candidates or (None,):
                        print(f"measuring {variant.name} ef {ef_search}" + (f" N {n}" if n else "") + " ...", file=sys.stderr, flush=True)
                        rows.append({
                            **measure(conn, variant, dim, ef_search, n, literals, warm_literals, expected),
                            **builds[variant.name], "ef_construction": variant.ef_construction,
                        })
            server = conn.execute("SELECT current_setting('server_version'), extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    finally:
        drop_scratch(variants)
    return {
        "workers": int(len(ids)), "dim": dim, "queries": n_queries, "m": settings.HNSW_M,
        "ef_construction": settings.HNSW_EF_CONSTRUCTION, "postgresql": server[0], "pgvector": server[1],
        "bq_column": bq_column, "rows": rows, "binary_wins_on_both": bq_verdict(rows),
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"Vector variants at {report['workers']} workers × {report['dim']} dims, unfiltered top-10, one connection, "
        f"{report['queries']} queries (PostgreSQL {report['postgresql']}, pgvector {report['pgvector']}; "
        f"HNSW m {report['m']}, ef_construction {report['ef_construction']}):",
        "",
        "| variant | ef_search | table MB | index MB | build s | p50 ms | p95 ms | p99 ms | recall@10 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["rows"]:
        name = r["variant"]
        if r.get("ef_construction"):
            name += f" (ef_construction {r['ef_construction']})"
        if r["candidates"] is not None:
            name = f"binary → {report['bq_column']} re-rank, N {r['candidates']} (got {r['candidates_returned']})"
        if not r["uses_index"]:
            name += " (no index in plan!)"
        lines.append(
            f"| {name} | {r['ef_search']} | {r['table_mb']} | {r['index_mb']} | {r['build_s']} "
            f"| {r['p50']} | {r['p95']} | {r['p99']} | {r['recall@10']} |"
        )
    if any(r["variant"] == "binary" for r in report["rows"]):
        wins = report["binary_wins_on_both"]
        lines += ["", "Binary quantization beats `halfvec` at the same ef_search on both p50 and recall@10: "
                  + (", ".join(wins) if wins else "**no** — do not keep it.")]
    return "\n".join(lines)


def interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=None, help="use only the first N active workers (by id); default all")
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ef", default="40,120", help="comma-separated hnsw.ef_search values")
    parser.add_argument("--candidates", default="40,100,200", help="comma-separated shortlist sizes re-ranked after binary quantization")
    parser.add_argument("--bq-column", choices=["halfvec", "vector"], default="halfvec", help="the re-ranked column of the binary variant")
    parser.add_argument("--ef-construction", default="", help="comma-separated: a halfvec variant built with each")
    parser.add_argument("--variants", default="", help="comma-separated variant names to build and measure; default all")
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args()

    available = Worker.objects.filter(status="active", embedding__isnull=False).count()
    if min(available, args.count or available) < 1000:
        print(f"only {available} active workers with an embedding; ingest a corpus first", file=sys.stderr)
        return 2
    # SIGTERM unwinds like Ctrl-C, so the scratch tables are dropped.
    signal.signal(signal.SIGTERM, interrupt)
    report = run(
        args.count, args.queries, args.seed,
        [int(x) for x in args.ef.split(",") if x.strip()],
        tuple(int(x) for x in args.candidates.split(",") if x.strip()),
        args.bq_column,
        tuple(int(x) for x in args.ef_construction.split(",") if x.strip()),
        tuple(x.strip() for x in args.variants.split(",") if x.strip()),
    )
    print(render(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
