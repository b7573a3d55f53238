"""Relevance of the embedders on the labelled recruiter queries (issue 19): nDCG@10 and P@10, per
embedder and per query class.

`queries.jsonl` holds one query a line — `{"id", "class", "query", "roles": [...], "certifications":
[...]}` — written as a recruiter types them (synonyms, trade slang, abbreviations, misspellings,
paraphrases, and the corpus's own words). A worker's gain for a query is 2 when its role is one of the
query's roles and it holds every certification the query requires, 1 for the right role alone, 0
otherwise. The ideal ranking for nDCG is the corpus's own best possible top 10 (all its gain-2 workers,
then gain-1), so a query whose right role is rare is not penalized for it. P@10 counts gain > 0.

The corpus is the generator's (same seed, same workers), embedded as ingest embeds it
(`profile_text`), and ranked exactly (cosine over every vector, numpy): this measures the embedder, not
the HNSW index (whose recall is benchmarked separately in bench_search). `hybrid` fuses the `hash` and
`minilm` rankings by reciprocal rank fusion, as the search would.

    python -m benchmarks.relevance.evaluate [--embedders hash] [--count 20000] [--seed 7] [--json-out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from apps.search.fusion import reciprocal_rank_fusion

BASE_DIR = Path(__file__).resolve().parent.parent.parent
QUERIES = Path(__file__).resolve().parent / "queries.jsonl"
K = 10


# ------------------------------------------------------------------------------------- pure parts


def load_queries(path: Path = QUERIES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def gain(query: dict[str, Any], role: str, certifications: Iterable[str]) -> int:
    """2: right role with every required certification; 1: right role; 0: anything else."""
    if role not in query["roles"]:
        return 0
    return 2 if set(query["certifications"]) <= set(certifications) else 1


def ndcg_at_k(gains: Sequence[float], ideal: Sequence[float], k: int = K) -> float:
    """nDCG@k with linear gains; `ideal` is every gain available in the corpus (any order)."""
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    best = sorted(ideal, reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(best))
    return dcg / idcg if idcg else 0.0


# ------------------------------------------------------------------------------------- the corpus


def build_corpus(count: int, seed: int) -> tuple[list[str], list[str], list[list[str]]]:
    """Profile texts, roles and certifications of the generator's corpus, normalized as ingest does."""
    from apps.workers.generator import generate_workers
    from apps.workers.normalize import NormalizedRow, normalize_row
    from apps.workers.profile import profile_text

    texts, roles, certifications = [], [], []
    for raw in generate_workers(count, seed):
        row = normalize_row(raw)
        if not isinstance(row, NormalizedRow) or row.status != "active":
            continue
        texts.append(profile_text(row.worker_fields()))
        roles.append(row.role)
        certifications.append(list(row.certifications))
    return texts, roles, certifications


def embedder_by_name(name: str):
    """`hash` (the default provider) or `minilm` (sentence-transformers with the packaged model)."""
    from django.conf import settings

    from apps.providers.embeddings import build_embedder

    if name == "hash":
        return build_embedder("hash", dim=settings.EMBEDDING_DIM)
    if name == "minilm":
        return build_embedder("sentence-transformers", dim=settings.SEMANTIC_EMBEDDING_DIM, model=settings.SEMANTIC_EMBEDDING_MODEL)
    raise ValueError(f"unknown embedder {name!r}")


def _normalized(matrix: np.ndarray) -> np.ndarray:
    return matrix / (np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12)


def rankings_for(embedder, texts: list[str], queries: list[dict[str, Any]], depth: int) -> tuple[list[list[int]], dict[str, float]]:
    """Each query's top `depth` corpus rows by exact cosine, and the embedding timings."""
    started = time.perf_counter()
    corpus = _normalized(np.vstack([embedder.embed(texts[i : i + 512]) for i in range(0, len(texts), 512)]))
    corpus_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors = _normalized(embedder.embed([q["query"] for q in queries]))
    query_ms = (time.perf_counter() - started) * 1000 / len(queries)
    sims = vectors @ corpus.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :depth]
    return top.tolist(), {"profiles_per_s": round(len(texts) / corpus_s, 1), "query_ms": round(query_ms, 2)}


def evaluate(
    queries: list[dict[str, Any]], rankings: list[list[int]], roles: list[str], certifications: list[list[str]]
) -> dict[str, dict[str, float]]:
    """nDCG@10 and P@10 per class and over all queries."""
    per_class: dict[str, list[tuple[float, float]]] = defaultdict(list)
    role_certs: dict[str, list[list[str]]] = defaultdict(list)
    for role, certs in zip(roles, certifications):
        role_certs[role].append(certs)
    for query, ranking in zip(queries, rankings):
        gains = [gain(query, roles[i], certifications[i]) for i in ranking[:K]]
        ideal = [gain(query, role, certs) for role in query["roles"] for certs in role_certs.get(role, [])]
        per_class[query["class"]].append((ndcg_at_k(gains, ideal), sum(g > 0 for g in gains) / K))
    per_class["all"] = [pair for name in list(per_class) for pair in per_class[name]]
    return {
        name: {"queries": len(pairs), "nDCG@10": round(statistics.fmean(p[0] for p in pairs), 4), "P@10": round(statistics.fmean(p[1] for p in pairs), 4)}
        for name, pairs in per_class.items()
    }


def render(report: dict[str, Any]) -> str:
    names = list(report["embedders"])
    classes = list(next(iter(report["embedders"].values()))["classes"])
    lines = [
        f"Relevance on {report['queries']} labelled recruiter queries over {report['corpus']} generated workers "
        "(exact cosine ranking; gain 2 = right role + required certifications, 1 = right role):",
        "",
        "| class | queries | " + " | ".join(f"{n} nDCG@10 | {n} P@10" for n in names) + " |",
        "| --- | ---: | " + " | ".join("---: | ---:" for _ in names) + " |",
    ]
    for name in classes:
        first = report["embedders"][names[0]]["classes"][name]
        cells = " | ".join(f"{report['embedders'][n]['classes'][name]['nDCG@10']} | {report['embedders'][n]['classes'][name]['P@10']}" for n in names)
        label = f"**{name}**" if name == "all" else name
        lines.append(f"| {label} | {first['queries']} | {cells} |")
    timing = ", ".join(f"{n}: {t['profiles_per_s']} profiles/s, {t['query_ms']} ms/query" for n, t in report["timings"].items())
    lines += ["", f"Embedding cost in this run (in-process, no cache): {timing}."]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedders", default="hash", help="comma-separated: hash, minilm, hybrid (hybrid needs both)")
    parser.add_argument("--count", type=int, default=20_000, help="generated workers to rank (default 20000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
    import django

    django.setup()

    names = [n.strip() for n in args.embedders.split(",") if n.strip()]
    queries = load_queries()
    texts, roles, certifications = build_corpus(args.count, args.seed)
    rankings: dict[str, list[list[int]]] = {}
    timings: dict[str, dict[str, float]] = {}
    for name in [n for n in ("hash", "minilm") if n in names or "hybrid" in names]:
        print(f"embedding {len(texts)} profiles with {name} ...", file=sys.stderr)
        rankings[name], timings[name] = rankings_for(embedder_by_name(name), texts, queries, depth=100)
    if "hybrid" in names:
        rankings["hybrid"] = [[i for i, _ in reciprocal_rank_fusion([h, m], k=100)] for h, m in zip(rankings["hash"], rankings["minilm"])]
    report = {
        "queries": len(queries),
        "corpus": len(texts),
        "embedders": {name: {"classes": evaluate(queries, rankings[name], roles, certifications)} for name in names},
        "timings": timings,
    }
    print(render(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
