"""`make bench`: the whole benchmark suite at 100k workers, written into benchmarks/README.md.

1. ingest: generate (or reuse) the 100k corpus and ingest it (benchmarks/bench_ingest.py) — this also
   leaves the corpus in place for the rest;
2. bring up the stack as `make run` does (gunicorn + one Celery worker);
3. search (bench_search.py), the load harness (`manage.py multitier`, concurrency 50, 60 s, with
   the resource footprint), validation throughput, the learning loop and the materializer;
4. replace each section between `<!-- BEGIN name -->` and `<!-- END name -->` in the README with
   the fresh output, the command and the date.

    python -m benchmarks.run_all [--only search,multitier] [--skip-ingest] [--duration 60s]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
README = BASE_DIR / "benchmarks" / "README.md"
PY = sys.executable


def run(args: list[str], *, timeout: int = 3600) -> str:
    print(f"$ {' '.join(args)}", file=sys.stderr, flush=True)
    done = subprocess.run(args, cwd=BASE_DIR, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0, 1):  # multitier exits 1 when a scenario failed: still report it
        raise RuntimeError(f"{args} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def write_section(name: str, command: str, body: str) -> None:
    text = README.read_text() if README.exists() else ""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = f"<!-- BEGIN {name} -->\n_Measured {stamp} with `{command}`._\n\n{body}\n<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + f"\n\n{block}\n"
    README.write_text(text)


def start_stack(port: int) -> list[subprocess.Popen]:
    import httpx

    from lakehouse.run import celery_command, stop_processes, web_command

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
    import django

    django.setup()
    from lakehouse.celery import all_queue_names

    children = [
        subprocess.Popen(celery_command(all_queue_names()), cwd=BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(web_command(str(port)), cwd=BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return children
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_processes(children)
    raise RuntimeError("the stack did not become healthy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="ingest,search,multitier,validate,learning_loop,materialize")
    parser.add_argument("--skip-ingest", action="store_true", help="reuse the ingested corpus without re-measuring ingest")
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--port", type=int, default=8031)
    args = parser.parse_args()
    only = set(args.only.split(","))

    run([PY, "manage.py", "migrate", "--verbosity", "0"])
    if "ingest" in only and not args.skip_ingest:
        write_section("ingest", "python -m benchmarks.bench_ingest", run([PY, "-m", "benchmarks.bench_ingest"]))
    for name, command in (
        ("validate", [PY, "benchmarks/bench_validate.py"]),
        ("learning_loop", [PY, "-m", "benchmarks.bench_learning_loop"]),
        ("materialize", [PY, "benchmarks/bench_materialize.py"]),
    ):
        if name in only:
            write_section(name, " ".join(["python"] + command[1:]), run(command))

    if only & {"search", "multitier"}:
        children = start_stack(args.port)
        try:
            base = f"http://127.0.0.1:{args.port}"
            if "search" in only:
                write_section("search", "python -m benchmarks.bench_search", run([PY, "-m", "benchmarks.bench_search", "--base-url", base]))
            if "multitier" in only:
                token = run([PY, "manage.py", "api_token", "bench", "--staff"])
                plot = "benchmarks/multitier.png"  # throughput and latency over time, next to the table
                command = [PY, "manage.py", "multitier", "--base-url", base, "--token", token, "--concurrency", str(args.concurrency),
                           "--duration", args.duration, "--warmup", "5s", "--footprint", "--no-fail-on-error", "--plot", plot]
                shown = (f"python manage.py multitier --base-url {base} --token $TOKEN --concurrency {args.concurrency} "
                         f"--duration {args.duration} --warmup 5s --footprint --plot {plot}")
                output = "\n".join(line for line in run(command, timeout=1800).splitlines() if not line.startswith("plot: "))
                write_section("multitier", shown, f"```\n{output}\n```\n\n![multitier over time](multitier.png)")
        finally:
            from lakehouse.run import stop_processes

            stop_processes(children)
    print(f"updated {README.relative_to(BASE_DIR)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
