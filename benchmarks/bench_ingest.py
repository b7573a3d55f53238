"""Ingest benchmark (issue 3): generate 100k workers (seed 7) and ingest them with the `hash`
provider at dim 768, HNSW build included, in a child process whose peak RSS is measured; then ingest
the same file again, which must write 0 rows and embed 0 texts.

    python -m benchmarks.bench_ingest [--count 100000] [--format parquet] [--skip-drop]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def corpus_path(count: int, seed: int, fmt: str) -> Path:
    return BASE_DIR / "data" / f"workers_{count // 1000}k_seed{seed}.{fmt}"


def ensure_corpus(count: int, seed: int, fmt: str) -> Path:
    path = corpus_path(count, seed, fmt)
    if not path.exists():
        subprocess.run(
            [sys.executable, "manage.py", "generate_workers", "--count", str(count), "--seed", str(seed), "--out", str(path)],
            cwd=BASE_DIR, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    return path


def run_ingest(path: Path, *, drop: bool) -> dict:
    """One `manage.py ingest_workers --sync` in a child process: wall time, peak RSS, the job line."""
    import psutil

    args = [sys.executable, "manage.py", "ingest_workers", str(path), "--sync"] + (["--drop"] if drop else [])
    started = time.monotonic()
    child = subprocess.Popen(args, cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched, peak = psutil.Process(child.pid), 0
    while child.poll() is None:  # sample the ingesting process's RSS (the bar goes to stderr)
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    stdout, stderr = child.communicate()
    wall = time.monotonic() - started
    if child.returncode != 0:
        raise RuntimeError(stderr[-2000:])
    peak_kb = peak / 1024
    line = next(l for l in stdout.splitlines() if l.startswith("job "))
    numbers = {k: int(v) for k, v in re.findall(r"(read|written|unchanged|rejected|embedded) (\d+)", line)}
    timings = json.loads(re.search(r"timings (\{.*\})", line).group(1).replace("'", '"'))
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(peak_kb / 1024, 1), **numbers, "timings": timings}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv", "jsonl"])
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args()

    path = ensure_corpus(args.count, args.seed, args.format)
    first = run_ingest(path, drop=True)
    second = run_ingest(path, drop=False)
    report = {"rows": args.count, "format": args.format, "fresh": first, "again": second}
    t = first["timings"]
    print(
        f"Ingest of {args.count} generated workers ({args.format}, seed {args.seed}, `hash` embeddings at dim 768, "
        f"HNSW build included), `manage.py ingest_workers --drop --sync`:\n\n"
        "| run | wall s | rows/s | written | unchanged | embedded | peak RSS MB | read+normalize s | embed s | COPY+upsert s | HNSW build s |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        f"| fresh (--drop) | {first['wall_s']} | {round(args.count / first['wall_s'])} | {first['written']} | {first['unchanged']} | {first['embedded']} | {first['peak_rss_mb']} | {t['read_normalize_s']} | {t['embed_s']} | {t['write_s']} | {t['index_s']} |\n"
        f"| same file again | {second['wall_s']} | {round(args.count / second['wall_s'])} | {second['written']} | {second['unchanged']} | {second['embedded']} | {second['peak_rss_mb']} | {second['timings']['read_normalize_s']} | {second['timings']['embed_s']} | {second['timings']['write_s']} | {second['timings']['index_s']} |"
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0 if second["written"] == 0 and second["embedded"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
