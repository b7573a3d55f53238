"""Learning-loop effect (issue 6): does recording a fill move those workers up for the next similar order?

For N repeated orders (role + city + shift, from the generator's vocabulary): search the first
wording of the order, take two workers from ranks 21–30 as "the ones who filled it", record the
playbook, then search a second wording of the same order with and without `use_playbook=true` and
compare the mean rank of the two workers (rank 51 when outside the top 50). Runs in-process through
the same services the API calls; the playbooks it records are deleted afterwards.

    python -m benchmarks.bench_learning_loop [--orders 50]
    python -m benchmarks.bench_learning_loop --aged-playbooks 50000   # before/after a retention run

With `--aged-playbooks N` the memory first gets N playbooks past the archive horizon (created
PLAYBOOK_ARCHIVE_AFTER_DAYS + 1 to 3 × that ago, worded like the benchmark's orders, naming workers of
the same city and role), the loop is measured with them in the table, a retention run archives them,
and the loop is measured again; the boosted search's latency is reported for both. Everything the
benchmark adds (aged, archived and fresh playbooks) is deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
django.setup()

from apps.playbooks.models import Playbook  # noqa: E402
from apps.playbooks.services import record_playbook  # noqa: E402
from apps.workers import vocabulary as vocab  # noqa: E402
from apps.workers.search import SearchFilters, SearchRequest  # noqa: E402
from apps.search.services import search_workers  # noqa: E402

MISSING_RANK = 51


def rank_of(worker_ids: list[str], results: list[dict]) -> list[int]:
    order = [r["worker_id"] for r in results]
    return [order.index(w) + 1 if w in order else MISSING_RANK for w in worker_ids]


def measure(orders: int, seed: int, created: list[int]) -> dict:
    """One pass of the loop over `orders` repeated orders; the playbooks it records go into `created`."""
    rng = random.Random(seed)
    plain_ranks, boosted_ranks, top10_plain, top10_boosted, boosted_ms = [], [], 0, 0, []
    recorded = 0
    for i in range(orders):
        role, city, shift = rng.choice(vocab.ROLES), rng.choice(vocab.CITIES[:12]), rng.choice(vocab.SHIFTS)
        words = role.replace("_", " ")
        filters = SearchFilters(city=city.name, state=city.state, role=role)
        first = f"{words} {shift} shift {city.name} order {i}"
        again = f"need {words} for {shift} shift in {city.name} {i}"
        cold = search_workers(SearchRequest(first, k=50, filters=filters))["results"]
        if len(cold) < 30:
            continue
        filled = [r["worker_id"] for r in rng.sample(cold[20:30], 2)]
        created.append(record_playbook(query=first, worker_ids=filled, outcome="filled", filters=filters.to_dict(), actor="bench")["id"])
        recorded += 1
        plain = search_workers(SearchRequest(again, k=50, filters=filters))["results"]
        started = time.perf_counter()
        boosted = search_workers(SearchRequest(again, k=50, filters=filters, use_playbook=True))["results"]
        boosted_ms.append((time.perf_counter() - started) * 1000)
        p, b = rank_of(filled, plain), rank_of(filled, boosted)
        plain_ranks += p
        boosted_ranks += b
        top10_plain += sum(r <= 10 for r in p)
        top10_boosted += sum(r <= 10 for r in b)
    return {
        "orders": recorded, "plain": plain_ranks, "boosted": boosted_ranks, "top10_plain": top10_plain, "top10_boosted": top10_boosted,
        "boosted_ms": sorted(boosted_ms),
    }


def table(result: dict) -> str:
    n = len(result["plain"])
    return (
        "| search of the repeated order | mean rank of the successful workers | median | in the top 10 |\n"
        "| --- | ---: | ---: | ---: |\n"
        f"| without playbooks | {statistics.fmean(result['plain']):.1f} | {statistics.median(result['plain']):.0f} | {result['top10_plain']} of {n} |\n"
        f"| `use_playbook=true` | {statistics.fmean(result['boosted']):.1f} | {statistics.median(result['boosted']):.0f} | {result['top10_boosted']} of {n} |"
    )


def latency(result: dict) -> str:
    ms = result["boosted_ms"]
    return f"boosted search p50 {ms[len(ms) // 2]:.1f} ms, p95 {ms[min(len(ms) - 1, int(len(ms) * 0.95))]:.1f} ms (in-process, {len(ms)} searches)"


def add_aged_playbooks(count: int, seed: int) -> list[int]:
    """`count` playbooks past the archive horizon, worded like the benchmark's orders (so they compete
    for the nearest PLAYBOOK_MAX_PLAYBOOKS), each naming two workers of its city and role."""
    from datetime import timedelta

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from apps.indexes.embedders import get_embedder
    from apps.workers.models import Worker

    rng = random.Random(seed)
    pool: dict[tuple[str, str], list[str]] = {}
    for worker_id, city, role in Worker.objects.filter(status="active").values_list("worker_id", "city", "role").iterator():
        pool.setdefault((city, role), []).append(worker_id)
    embedder, now, horizon = get_embedder(), timezone.now(), settings.PLAYBOOK_ARCHIVE_AFTER_DAYS
    ids: list[int] = []
    for start in range(0, count, 2000):
        rows, texts = [], []
        for j in range(start, min(count, start + 2000)):
            role, city, shift = rng.choice(vocab.ROLES), rng.choice(vocab.CITIES[:12]), rng.choice(vocab.SHIFTS)
            candidates = pool.get((city.name, role)) or [w for ws in pool.values() for w in ws[:2]]
            texts.append(f"{role.replace('_', ' ')} {shift} shift {city.name} order {j}")
            rows.append((role, city, rng.sample(candidates, min(2, len(candidates)))))
        vectors = embedder.embed(texts)
        batch = Playbook.objects.bulk_create(
            Playbook(query=text, query_embedding=vector, embedding_model=embedder.key, worker_ids=workers, outcome="filled",
                     filters={"city": city.name, "state": city.state, "role": role}, created_by="bench-aged")
            for text, vector, (role, city, workers) in zip(texts, vectors, rows)
        )
        ids += [p.pk for p in batch]
    with connection.cursor() as cursor:  # ages spread over 1–3 horizons past the cutoff
        cursor.execute(
            f"UPDATE {Playbook._meta.db_table} SET created_at = %s - make_interval(days => (%s + random() * 2 * %s)::int) WHERE created_by = 'bench-aged'",
            [now, int(horizon) + 1, int(horizon)],
        )
        cursor.execute(f"ANALYZE {Playbook._meta.db_table}")
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--aged-playbooks", type=int, default=0, help="measure before/after archiving this many aged playbooks")
    args = parser.parse_args()

    created: list[int] = []
    try:
        if not args.aged_playbooks:
            result = measure(args.orders, args.seed, created)
            print(
                f"Learning loop over {result['orders']} repeated orders ({len(result['plain'])} previously successful workers, picked from ranks 21–30 "
                "of the first search; the repeat uses different wording):\n\n" + table(result)
            )
            return 0
        from apps.evidence.retention import apply_retention
        from apps.playbooks.models import ArchivedPlaybook

        started = time.perf_counter()
        created += add_aged_playbooks(args.aged_playbooks, args.seed)
        setup_s = time.perf_counter() - started
        before = measure(args.orders, args.seed, created)
        Playbook.objects.filter(pk__in=created, created_by="bench").delete()  # the pass's own records: not aged
        in_memory = Playbook.objects.count()
        started = time.perf_counter()
        run = apply_retention(actor="bench")
        archive_s = time.perf_counter() - started
        after = measure(args.orders, args.seed, created)
        print(
            f"Learning loop over {before['orders']} repeated orders with {args.aged_playbooks:,} aged playbooks in the memory "
            f"(created {setup_s:.0f} s, {in_memory:,} rows), then after retention run {run.pk} archived "
            f"{run.playbooks_archived:,} of them in {archive_s:.1f} s ({Playbook.objects.count():,} rows left):\n\n"
            f"**Before archiving** ({latency(before)}):\n\n{table(before)}\n\n"
            f"**After archiving** ({latency(after)}):\n\n{table(after)}"
        )
        ArchivedPlaybook.objects.filter(created_by__in=("bench", "bench-aged")).delete()
        return 0
    finally:
        Playbook.objects.filter(pk__in=created).delete()


if __name__ == "__main__":
    raise SystemExit(main())
