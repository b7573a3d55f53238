"""Search benchmark at 100k workers (SPEC §7, issue 4).

Serves the app with the web server exactly as `make run` does (unless --base-url is given) and measures,
over real HTTP with one keep-alive client (the standard library's, so the figures are the API's):

* single-client latency p50/p95/p99 of POST /api/v1/workers/search — unfiltered, one-city filter
  (vocabulary.BENCHMARK_CITY, ≈3 % of rows), the query's own city, its role, a role it does not name,
  role+city, and 50 excluded ids;
* throughput at concurrency 8 (threads, one client each);
* recall@10 of every query against exact cosine ranking computed with numpy over the stored vectors;
* the same queries as raw SQL over one psycopg connection, to show the API's overhead;
* relevance of the `hash` embedder on a labelled set (relevant = same role and city): nDCG@10, P@10;
* radius search (`near` one of the query city's ZIPs) at 10, 25 and 50 miles: p99 and recall@10.

Every query string is distinct so that the result cache never answers: these are cold searches.

    python -m benchmarks.bench_search [--queries 300] [--json-out PATH] [--only radius] [--quick]

`--only` keeps the scenarios whose name contains one of the given words; `--quick` skips the
throughput, raw SQL and relevance parts (for a loaded machine).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import django
import httpx
import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from apps.core.services import issue_api_token  # noqa: E402
from apps.core.stats import percentile as nearest_rank  # noqa: E402
from apps.indexes.embedders import get_embedder  # noqa: E402
from apps.workers import vocabulary as vocab  # noqa: E402
from apps.workers.geo import EARTH_RADIUS_MILES, zip_coordinates  # noqa: E402
from apps.workers.models import Worker  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    value = nearest_rank(sorted(values), q)
    return float("nan") if value is None else value


def summarize(latencies_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies_ms),
        "p50": round(percentile(latencies_ms, 50), 2),
        "p95": round(percentile(latencies_ms, 95), 2),
        "p99": round(percentile(latencies_ms, 99), 2),
        "mean": round(statistics.fmean(latencies_ms), 2),
    }


# ------------------------------------------------------------------------------------ the corpus


class Corpus:
    """All stored vectors and the filter columns, for the exact (numpy) oracle."""

    def __init__(self) -> None:
        rows = Worker.objects.filter(embedding__isnull=False).values_list(
            "worker_id", "embedding", "status", "city", "state", "role", "latitude", "longitude"
        )
        ids, vectors, status, city, state, role, lat, lon = [], [], [], [], [], [], [], []
        for r in rows.iterator(chunk_size=5000):
            ids.append(r[0])
            vectors.append(np.asarray(r[1], dtype=np.float32))
            status.append(r[2])
            city.append(r[3])
            state.append(r[4])
            role.append(r[5])
            lat.append(np.nan if r[6] is None else r[6])
            lon.append(np.nan if r[7] is None else r[7])
        self.ids = np.array(ids)
        self.matrix = np.vstack(vectors)
        self.matrix /= np.linalg.norm(self.matrix, axis=1, keepdims=True) + 1e-12
        self.status, self.city, self.state, self.role = map(np.array, (status, city, state, role))
        self.lat, self.lon = np.radians(np.array(lat)), np.radians(np.array(lon))

    def miles_from(self, zip_code: str) -> np.ndarray:
        """Haversine miles of every worker from a ZIP (NaN without coordinates), vectorized."""
        lat0, lon0 = (np.radians(x) for x in zip_coordinates(zip_code))
        a = np.sin((self.lat - lat0) / 2) ** 2 + np.cos(lat0) * np.cos(self.lat) * np.sin((self.lon - lon0) / 2) ** 2
        return 2 * EARTH_RADIUS_MILES * np.arcsin(np.minimum(1.0, np.sqrt(a)))

    def exact(self, vector: np.ndarray, filters: dict[str, Any], exclude: list[str], k: int = 10, near: dict[str, Any] | None = None) -> list[str]:
        mask = self.status == filters.get("status", "active")
        for key, column in (("city", self.city), ("state", self.state), ("role", self.role)):
            if key in filters and not (near and key == "city"):  # near replaces the city match
                mask &= column == filters[key]
        if near:
            mask &= self.miles_from(near["zip"]) <= near["radius_miles"]  # NaN compares False
        if exclude:
            mask &= ~np.isin(self.ids, exclude)
        candidates = np.flatnonzero(mask)
        sims = self.matrix[candidates] @ (vector / (np.linalg.norm(vector) + 1e-12))
        top = candidates[np.argsort(-sims, kind="stable")[:k]]
        return self.ids[top].tolist()


# ---------------------------------------------------------------------------------------- queries


def make_queries(n: int, seed: int) -> list[dict[str, Any]]:
    """Distinct coordinator-style queries: role words + a skill + a shift + a city, and a serial."""
    rng = random.Random(seed)
    queries = []
    for i in range(n):
        role = rng.choice(vocab.ROLES)
        skill = rng.choice(vocab.ROLE_SKILLS[role])
        city = rng.choice(vocab.CITIES)
        shift = rng.choice(vocab.SHIFTS)
        text = f"{role.replace('_', ' ')} {skill} {shift} shift {city.name} #{i}"
        queries.append({"text": text, "role": role, "city": city.name, "state": city.state, "zip": city.zips[0]})
    return queries


SCENARIOS: dict[str, Callable[[dict[str, Any], list[str]], dict[str, Any]]] = {
    "unfiltered": lambda q, top: {},
    "one city (≈3 %)": lambda q, top: {"filters": {"city": vocab.BENCHMARK_CITY[0], "state": vocab.BENCHMARK_CITY[1]}},
    # The query's own city and role, as the load harness's coordinators filter: cities run from 0.5 to
    # 14 % of the corpus and roles from 3 to 12 %, so these cross the exact path's row limit both ways.
    "its city": lambda q, top: {"filters": {"city": q["city"], "state": q["state"]}},
    "its role": lambda q, top: {"filters": {"role": q["role"]}},
    # A role the query's words do not name (a coordinator searching "reliable, weekends" among CNAs):
    # its rows can be 5 % of the corpus and still absent around the query.
    "another role": lambda q, top: {"filters": {"role": vocab.ROLES[(vocab.ROLES.index(q["role"]) + len(vocab.ROLES) // 2) % len(vocab.ROLES)]}},
    "role + city": lambda q, top: {"filters": {"city": q["city"], "state": q["state"], "role": q["role"]}},
    "50 excluded ids": lambda q, top: {"exclude_ids": top[:50]},
    # Radius around one of the query city's ZIPs (SPEC §4.3 `near`); cities are 3–15 miles across.
    **{f"radius {miles} mi": (lambda miles: lambda q, top: {"near": {"zip": q["zip"], "radius_miles": miles}})(miles) for miles in (10, 25, 50)},
    "radius 25 mi + role": lambda q, top: {"filters": {"role": q["role"]}, "near": {"zip": q["zip"], "radius_miles": 25}},
}


# ------------------------------------------------------------------------------------ the server


def start_web_server(port: int, command: list[str] | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The web server as `make run` starts it (granian, or gunicorn with WEB_SERVER=gunicorn), or
    `command`, once it answers."""
    from lakehouse.run import web_command

    command = command or web_command(str(port))
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/schema/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the web server did not start")


# ------------------------------------------------------------------------------------- measuring


class KeepAliveClient:
    """One keep-alive HTTP/1.1 connection through the standard library. The single-client latencies are
    the API's, so the client must cost little: httpx added ~0.6 ms of its own to each search here."""

    def __init__(self, base_url: str, token: str) -> None:
        url = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.connection.request("POST", path, body=json.dumps(payload), headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status} {body[:200]!r}")
        return json.loads(body)

    def __enter__(self) -> KeepAliveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def run_single_client(base_url: str, token: str, queries: list[dict[str, Any]], corpus: Corpus, only: list[str] | None = None) -> dict[str, Any]:
    embedder = get_embedder()
    results: dict[str, Any] = {}
    with KeepAliveClient(base_url, token) as client:
        # top-50 of each query (for the exclusion scenario) and a warm-up of connections and caches
        tops: list[list[str]] = []
        for q in queries:
            body = client.post("/api/v1/workers/search", {"query": q["text"] + " warm", "k": 50})
            tops.append([r["worker_id"] for r in body["results"]])
        for name, build in SCENARIOS.items():
            if only and not any(word in name for word in only):
                continue
            # Time every request first, then score recall: the numpy oracle (300 MB of vectors) run
            # between requests would evict the server's working set from the CPU caches.
            latencies, answered, paths = [], [], {}
            for q, top in zip(queries, tops):
                extra = build(q, top)
                payload = {"query": f"{q['text']} {name}", "k": 10, **extra}
                started = time.perf_counter()
                body = client.post("/api/v1/workers/search", payload)
                latencies.append((time.perf_counter() - started) * 1000)
                answered.append((payload, extra, [r["worker_id"] for r in body["results"]]))
                paths[body["index"]["path"]] = paths.get(body["index"]["path"], 0) + 1
            recalls, short = [], 0
            for payload, extra, got in answered:
                expected = corpus.exact(
                    embedder.embed([payload["query"]])[0], extra.get("filters", {}), extra.get("exclude_ids", []), near=extra.get("near")
                )
                short += len(got) < min(10, len(expected))
                if expected:
                    recalls.append(len(set(got) & set(expected)) / len(expected))
            results[name] = {**summarize(latencies), "recall@10": round(statistics.fmean(recalls), 4), "short": short, "paths": paths}
    return results


def run_concurrent(base_url: str, token: str, queries: list[dict[str, Any]], *, clients: int = 8, seconds: float = 15.0) -> dict[str, Any]:
    stop = time.monotonic() + seconds
    counts, latencies, errors = [0] * clients, [[] for _ in range(clients)], [0] * clients

    def loop(i: int) -> None:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Token {token}"}, timeout=30) as client:
            n = 0
            while time.monotonic() < stop:
                q = queries[(i * 7919 + n) % len(queries)]
                started = time.perf_counter()
                response = client.post("/api/v1/workers/search", json={"query": f"{q['text']} c{i}-{n}", "k": 10})
                latencies[i].append((time.perf_counter() - started) * 1000)
                errors[i] += response.status_code != 200
                counts[i] += 1
                n += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    flat = [x for part in latencies for x in part]
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": sum(counts), "errors": sum(errors),
            "req_per_s": round(sum(counts) / elapsed, 1), **summarize(flat)}


def run_raw_sql(queries: list[dict[str, Any]]) -> dict[str, Any]:
    """The same searches as plain SQL on one connection: the floor the API stands on. Each query takes
    one round trip, its `SET` included, as the API's does (`apps.workers.selectors._knn`): wrapped in
    BEGIN / SET LOCAL / COMMIT, four round trips, it measured ~0.27 ms more and flattered the API's
    ratio to it."""
    from apps.core.vectors import vector_literal

    embedder = get_embedder()
    out = {}
    for name, where, params, exact in (
        (f"unfiltered (HNSW, ef {settings.SEARCH_EF_SEARCH})", "status = 'active'", [], False),
        ("one city (exact, B-tree)", "status = 'active' AND state = %s AND city = %s", [vocab.BENCHMARK_CITY[1], vocab.BENCHMARK_CITY[0]], True),
    ):
        latencies = []
        for q in queries:
            literal = vector_literal(embedder.embed([q["text"] + " raw"])[0])
            order = "(embedding <=> %s::halfvec) + 0" if exact else "embedding <=> %s::halfvec"
            started = time.perf_counter()
            with connection.cursor() as cursor:
                # The API's unfiltered walk; a session-level SET, sent with the SELECT (client-side binding).
                cursor.execute(
                    f"SET hnsw.ef_search = {settings.SEARCH_EF_SEARCH}; "
                    f"SELECT worker_id FROM workers_worker WHERE {where} ORDER BY {order} LIMIT 10",
                    [*params, literal],
                )
                cursor.nextset()
                cursor.fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
        out[name] = summarize(latencies)
    return out


def run_raw_ceiling(queries: list[dict[str, Any]], *, clients: int = 2, seconds: float = 15.0) -> dict[str, Any]:
    """Raw unfiltered kNN queries/s with `clients` connections (threads) at once: what the database alone
    allows on this machine, to read the multitier figure against (issue 18)."""
    import psycopg

    from apps.core.vectors import vector_literal

    embedder = get_embedder()
    literals = [vector_literal(v) for v in embedder.embed([q["text"] + " ceiling" for q in queries])]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    def loop(i: int) -> None:
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(f"SET hnsw.ef_search = {settings.SEARCH_EF_SEARCH}")
            n = i
            while time.perf_counter() < deadline:
                conn.execute(
                    "SELECT worker_id FROM workers_worker WHERE status = 'active' ORDER BY embedding <=> %s::halfvec LIMIT 10",
                    [literals[n % len(literals)]],
                ).fetchall()
                counts[i] += 1
                n += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"clients": clients, "seconds": round(elapsed, 1), "queries": sum(counts), "per_s": round(sum(counts) / elapsed, 1),
            "ef_search": settings.SEARCH_EF_SEARCH}


def run_relevance(base_url: str, token: str, n: int, seed: int) -> dict[str, float]:
    """Labelled set from the generator's vocabulary: a query names a role, a skill and a city;
    a result is relevant when its role and city both match."""
    rng = random.Random(seed + 1)
    ndcgs, precisions = [], []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Token {token}"}, timeout=30) as client:
        for i in range(n):
            role = rng.choice(vocab.ROLES)
            city = rng.choice(vocab.CITIES)
            query = f"{role.replace('_', ' ')} {rng.choice(vocab.ROLE_SKILLS[role])} {city.name} r{i}"
            body = client.post("/api/v1/workers/search", json={"query": query, "k": 10}).json()
            gains = [1.0 if r["worker"]["role"] == role and r["worker"]["city"] == city.name else 0.0 for r in body["results"]]
            available = Worker.objects.filter(role=role, city=city.name, state=city.state, status="active").count()
            ideal = [1.0] * min(10, available)
            dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
            idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal)) or 1.0
            ndcgs.append(dcg / idcg)
            precisions.append(sum(gains) / 10)
    return {"queries": n, "nDCG@10": round(statistics.fmean(ndcgs), 4), "P@10": round(statistics.fmean(precisions), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=None, help="a running server; default: start the web server as `make run` does")
    parser.add_argument("--port", type=int, default=8021)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--only", default="", help="comma-separated words: run only the scenarios whose name contains one")
    parser.add_argument("--quick", action="store_true", help="skip throughput, raw SQL and relevance")
    args = parser.parse_args()

    rows = Worker.objects.count()
    if rows < 1000:
        print(f"only {rows} workers; ingest the 100k corpus first (make bench does)", file=sys.stderr)
        return 2
    _, token = issue_api_token(username="bench", staff=True)
    server = None if args.base_url else start_web_server(args.port)
    base_url = args.base_url or f"http://127.0.0.1:{args.port}"
    try:
        print(f"loading {rows} vectors for the exact oracle ...", file=sys.stderr)
        corpus = Corpus()
        queries = make_queries(args.queries, args.seed)
        only = [word.strip() for word in args.only.split(",") if word.strip()]
        report = {
            "workers": rows,
            "dim": settings.EMBEDDING_DIM,
            "single_client": run_single_client(base_url, token, queries, corpus, only),
        }
        if not args.quick:
            report |= {
                "concurrency_8": run_concurrent(base_url, token, queries),
                "raw_sql": run_raw_sql(queries[:200]),
                "raw_ceiling": run_raw_ceiling(queries),
                "relevance": run_relevance(base_url, token, 200, args.seed),
            }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    print(render(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


def render(report: dict[str, Any]) -> str:
    lines = [f"Search at {report['workers']} workers × {report['dim']} dims, one client over HTTP (the web server as `make run`):", ""]
    lines += ["| query | p50 ms | p95 ms | p99 ms | recall@10 | short results | plan |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for name, r in report["single_client"].items():
        plan = ", ".join(f"{k} {v}" for k, v in sorted(r["paths"].items()))
        lines.append(f"| {name} | {r['p50']} | {r['p95']} | {r['p99']} | {r['recall@10']} | {r['short']} | {plan} |")
    if "concurrency_8" not in report:
        return "\n".join(lines)
    c = report["concurrency_8"]
    lines += ["", f"Throughput, {c['clients']} clients, {c['seconds']} s: **{c['req_per_s']} searches/s**, p50 {c['p50']} ms, p99 {c['p99']} ms, {c['errors']} errors.", ""]
    lines += ["Raw SQL on one connection (same kind of queries):", "", "| query | p50 ms | p95 ms | p99 ms |", "| --- | ---: | ---: | ---: |"]
    for name, r in report["raw_sql"].items():
        lines.append(f"| {name} | {r['p50']} | {r['p95']} | {r['p99']} |")
    ceiling = report["raw_ceiling"]
    lines += ["", f"Ceiling: raw unfiltered kNN (ef {ceiling['ef_search']}), {ceiling['clients']} connections at once, {ceiling['seconds']} s: **{ceiling['per_s']} queries/s**."]
    rel = report["relevance"]
    lines += ["", f"Relevance of the `hash` embedder ({rel['queries']} labelled role+skill+city queries; relevant = same role and city): nDCG@10 **{rel['nDCG@10']}**, P@10 **{rel['P@10']}**."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
