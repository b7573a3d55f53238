"""Where an unfiltered search's time goes, stage by stage, in a web process served over HTTP (issue 18).

Serves `benchmarks.profiled_wsgi` (the app with the stages of a search timed inside the process) with
granian as `make run` does — one worker, WEB_THREADS threads, the web environment of `lakehouse.run` —
and sends `--queries` distinct unfiltered searches through one keep-alive client, one at a time. Then
it prints the median of each stage per request, and beside them raw SQL of the same kind of queries on
one connection (`bench_search.run_raw_sql`), measured right after: the floor SPEC §7's "≤ 2 × raw"
compares the API with.

    LAKEHOUSE_VAR_DIR=/work/bench/varB python -m benchmarks.profile_search [--queries 300] [--seed 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

import httpx

from benchmarks.bench_search import KeepAliveClient, make_queries, run_raw_sql, start_web_server  # sets Django up
from apps.core.services import issue_api_token
from lakehouse.run import granian_command, web_env

# (label, how to get it from one request's stages and its client-side time); each row is the median over
# the requests of that difference, so the rows need not add up exactly to the total.
ROWS = (
    ("whole request, at the client", lambda s, client: client),
    ("HTTP and granian", lambda s, client: client - s["wsgi application"]),
    ("Django middleware, DRF dispatch, token check, JSON response", lambda s, client: s["wsgi application"] - s["view"]),
    ("request validation (serializer) and view", lambda s, client: s["view"] - s["search_and_log"]),
    ("interaction log (scrub, entry, one Redis round trip)", lambda s, client: s["interaction log"]),
    ("redis write: log entry + cache writes, in that round trip", lambda s, client: s["redis write (log + caches)"]),
    ("search: Redis read (versions, cached vector, cached result)", lambda s, client: s["redis read (MGET)"]),
    ("search: query embedding", lambda s, client: s["query embedding"]),
    ("search: kNN query (walk, re-rank, result columns)", lambda s, client: s["kNN query"]),
    ("search: rest of nearest_workers (plan, walk floor, results)", lambda s, client: s["nearest_workers"] - s["kNN query"]),
    (
        "search: rest (cache key, result body, pickling)",
        lambda s, client: s["search_workers"] - s["nearest_workers"] - s["query embedding"] - s["redis read (MGET)"],
    ),
)


def serve(port: int) -> subprocess.Popen:
    command = granian_command(str(port))
    command[command.index("lakehouse.wsgi:application")] = "benchmarks.profiled_wsgi:application"
    command[command.index("--workers") + 1] = "1"  # one process: every request's stages are in it
    return start_web_server(port, command, env={**os.environ, **web_env()})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--port", type=int, default=8023)
    args = parser.parse_args()

    _, token = issue_api_token(username="bench", staff=True)
    queries = make_queries(args.queries + 30, args.seed)
    server = serve(args.port)
    try:
        client_ms = []
        with KeepAliveClient(f"http://127.0.0.1:{args.port}", token) as client:
            for i, q in enumerate(queries):
                if i == 30:  # the first 30 warm the process (connections, walk floor, statistics)
                    httpx.get(f"http://127.0.0.1:{args.port}/__stages__")
                started = time.perf_counter()
                client.post("/api/v1/workers/search", {"query": f"{q['text']} profile {args.seed}-{i}", "k": 10})
                client_ms.append((time.perf_counter() - started) * 1000)
        stages = httpx.get(f"http://127.0.0.1:{args.port}/__stages__").json()
    finally:
        server.terminate()
        server.wait(timeout=30)
    raw = next(r for name, r in run_raw_sql(queries[30:]).items() if name.startswith("unfiltered"))
    per_request = list(zip(stages, client_ms[30:]))
    print(f"Unfiltered search, {len(per_request)} requests, one keep-alive client, one granian worker (medians per request, ms):\n")
    print("| stage | p50 ms |\n| --- | ---: |")
    for label, value in ROWS:
        print(f"| {label} | {statistics.median(value(s, client) for s, client in per_request):.2f} |")
    api = statistics.median(client_ms[30:])
    print(f"\nRaw SQL of the same kind of queries, one connection, right after: p50 {raw['p50']:.2f} ms; the API is {api / raw['p50']:.2f} × that.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
