"""The web process's own CPU per request and per scenario (issue 18), without HTTP or a load generator.

Runs the multitier scenario mix (`apps.loadtest.scenarios`, the same weights and checks) one scenario
at a time through the real WSGI application (`lakehouse.wsgi.application`: middleware, DRF, services,
PostgreSQL and Redis) in this process, and reports the process CPU spent inside the application per
request, per endpoint and per scenario. The first scenarios warm caches and are not counted. What it
leaves out — the HTTP server, thread switches, contention — is what the multitier run adds on top.

Point it at a stack with a corpus (its own environment: `LAKEHOUSE_VAR_DIR` or `DATABASE_URL` /
`REDIS_URL`) and a staff token:

    LAKEHOUSE_VAR_DIR=/work/bench/varB python -m benchmarks.bench_request_cpu --token TOKEN [--scenarios 500] [--seed 11]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import sys
import time
from itertools import accumulate
from typing import Any

WARMUP_SCENARIOS = 30


class InProcessClient:
    """`apps.loadtest.scenarios.ApiClient`'s interface over the WSGI application, timing its CPU."""

    def __init__(self, application: Any, token: str) -> None:
        self.application, self.token = application, token
        self.requests = 0
        self.on_search = None
        self.cpu_by_path: dict[str, list[float]] = {}

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, bytes]:
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr,
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(data)), "HTTP_AUTHORIZATION": f"Token {self.token}",
            "HTTP_ACCEPT": "application/json", "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1",
        }
        status: list[str] = []
        started = time.process_time()
        answer = b"".join(self.application(environ, lambda s, headers, exc_info=None: status.append(s)))
        spent = time.process_time() - started
        key = "/api/v1/workers/<id>/" if path.startswith("/api/v1/workers/W-") else path
        self.cpu_by_path.setdefault(key, []).append(spent)
        return int(status[0].split()[0]), answer

    async def post(self, path: str, body: dict[str, Any], *, step: str, expect: int = 200) -> dict[str, Any]:
        return self._checked(step, expect, *self._call("POST", path, body))

    async def get(self, path: str, *, step: str, expect: int = 200) -> dict[str, Any]:
        return self._checked(step, expect, *self._call("GET", path, None))

    def _checked(self, step: str, expect: int, status: int, answer: bytes) -> dict[str, Any]:
        from apps.loadtest.scenarios import CheckFailed, http_failure_reason

        self.requests += 1
        if status != expect:
            raise CheckFailed(http_failure_reason(step, status, answer))
        return json.loads(answer)


async def run_mix(client: InProcessClient, *, scenarios: int, seed: int) -> dict[str, Any]:
    from apps.loadtest import scenarios as mix

    rng = random.Random(seed)
    context = mix.ScenarioContext(client_index=0)
    cum_weights = tuple(accumulate(s.weight for s in mix.SCENARIOS))
    failures = 0
    for i in range(WARMUP_SCENARIOS + scenarios):
        if i == WARMUP_SCENARIOS:
            client.cpu_by_path.clear()
        scenario = rng.choices(mix.SCENARIOS, cum_weights=cum_weights)[0]
        try:
            await scenario.run(client, rng, context)
        except mix.CheckFailed as failure:
            failures += i >= WARMUP_SCENARIOS
            print(f"failed: {failure.reason}", file=sys.stderr)
    total = sum(sum(times) for times in client.cpu_by_path.values())
    requests = sum(len(times) for times in client.cpu_by_path.values())
    return {
        "scenarios": scenarios,
        "failures": failures,
        "requests_per_scenario": round(requests / scenarios, 2),
        "cpu_ms_per_scenario": round(1000 * total / scenarios, 3),
        "cpu_ms_per_request": round(1000 * total / requests, 3),
        "endpoints": {
            path: {"requests": len(times), "cpu_ms_per_request": round(1000 * sum(times) / len(times), 3), "share": round(sum(times) / total, 3)}
            for path, times in sorted(client.cpu_by_path.items(), key=lambda kv: -sum(kv[1]))
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--token", required=True, help="a staff API token of the stack")
    parser.add_argument("--scenarios", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
    # The scenarios are coroutines only to share the harness's code; every call here is synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from lakehouse.wsgi import application

    result = asyncio.run(run_mix(InProcessClient(application, args.token), scenarios=args.scenarios, seed=args.seed))
    print(f"web CPU {result['cpu_ms_per_scenario']} ms per scenario, {result['cpu_ms_per_request']} ms per request "
          f"({result['requests_per_scenario']} requests per scenario, {result['failures']} failures)")
    for path, row in result["endpoints"].items():
        print(f"  {path:32s} {row['requests']:5d} requests  {row['cpu_ms_per_request']:.3f} ms  {100 * row['share']:.1f} %")
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump(result, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
