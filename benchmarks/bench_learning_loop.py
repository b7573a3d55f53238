"""Learning-loop effect (issue 6): does recording a fill move those workers up for the next similar order?

For N repeated orders (role + city + shift, from the generator's vocabulary): search the first
wording of the order, take two workers from ranks 21–30 as "the ones who filled it", record the
playbook, then search a second wording of the same order with and without `use_playbook=true` and
compare the mean rank of the two workers (rank 51 when outside the top 50). Runs in-process through
the same services the API calls; the playbooks it records are deleted afterwards.

    python -m benchmarks.bench_learning_loop [--orders 50]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    created: list[int] = []
    plain_ranks, boosted_ranks, top10_plain, top10_boosted = [], [], 0, 0
    try:
        for i in range(args.orders):
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
            plain = search_workers(SearchRequest(again, k=50, filters=filters))["results"]
            boosted = search_workers(SearchRequest(again, k=50, filters=filters, use_playbook=True))["results"]
            p, b = rank_of(filled, plain), rank_of(filled, boosted)
            plain_ranks += p
            boosted_ranks += b
            top10_plain += sum(r <= 10 for r in p)
            top10_boosted += sum(r <= 10 for r in b)
    finally:
        Playbook.objects.filter(pk__in=created).delete()
    n = len(plain_ranks)
    print(
        f"Learning loop over {len(created)} repeated orders ({n} previously successful workers, picked from ranks 21–30 "
        "of the first search; the repeat uses different wording):\n\n"
        "| search of the repeated order | mean rank of the successful workers | median | in the top 10 |\n"
        "| --- | ---: | ---: | ---: |\n"
        f"| without playbooks | {statistics.fmean(plain_ranks):.1f} | {statistics.median(plain_ranks):.0f} | {top10_plain} of {n} |\n"
        f"| `use_playbook=true` | {statistics.fmean(boosted_ranks):.1f} | {statistics.median(boosted_ranks):.0f} | {top10_boosted} of {n} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
