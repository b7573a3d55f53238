"""`make soak`: a long open-loop run at a moderate rate with leak detection (not part of `make bench`).

Brings the stack up as `make bench` does (gunicorn + one Celery worker on the ingested corpus), runs

    manage.py multitier --arrival-rate RATE --soak DURATION --soak-every 30s --footprint --plot benchmarks/soak.png

and writes the tables and the plots into the `soak` section of benchmarks/README.md.

    python -m benchmarks.soak [--duration 60m] [--rate 10/s] [--every 30s] [--port 8032]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.run_all import BASE_DIR, PY, run, start_stack, write_section

PLOT = Path("benchmarks") / "soak.png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", default="60m")
    parser.add_argument("--rate", default="10/s", help="a moderate arrival rate: well under the knee")
    parser.add_argument("--every", default="30s", help="sampling interval")
    parser.add_argument("--port", type=int, default=8032)
    args = parser.parse_args()

    run([PY, "manage.py", "migrate", "--verbosity", "0"])
    children = start_stack(args.port)
    try:
        base = f"http://127.0.0.1:{args.port}"
        token = run([PY, "manage.py", "api_token", "bench", "--staff"])
        options = ["--arrival-rate", args.rate, "--soak", args.duration, "--soak-every", args.every, "--warmup", "30s",
                   "--footprint", "--plot", str(PLOT), "--no-fail-on-error", "-v", "0"]
        output = run([PY, "manage.py", "multitier", "--base-url", base, "--token", token, *options], timeout=24 * 3600)
    finally:
        from lakehouse.run import stop_processes

        stop_processes(children)
    body = "\n".join(line for line in output.splitlines() if not line.startswith("plot: "))
    images = "\n".join(f"![{name}]({name})" for name in (PLOT.name, PLOT.with_name(f"{PLOT.stem}-soak.png").name)
                       if (BASE_DIR / PLOT.with_name(name)).exists())
    shown = f"python manage.py multitier --base-url {base} --token $TOKEN " + " ".join(options[:-2])
    write_section("soak", shown, f"```\n{body}\n```\n\n{images}")
    print("updated benchmarks/README.md (soak)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
