"""Throughput of the evidence materializer on the dev database.

    python benchmarks/bench_materialize.py [--count 100000] [--keep]

Inserts ``--count`` interactions of a realistic mix (searches, swaps, memory searches, email/SMS
drafts — some with PII —, fill proposals, playbook records, chat calls and feedback) on a day no real
interaction has (BENCH_DAY), times one ``build_evidence_index(day=BENCH_DAY)`` into a temporary
KB_DIR, and prints the numbers. Then it deletes everything it created: the interactions, their
evidence records, the run row and the temporary directory (``--keep`` keeps the directory).

The run is a range run for that day only: it neither reads nor moves the dev stack's watermark, and
it refuses to start if the day already holds interactions or evidence. Needs the evidence migrations
applied to the dev database (``python manage.py migrate evidence``).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

from apps.evidence import services  # noqa: E402
from apps.evidence.models import EvidenceRecord, MaterializeRun  # noqa: E402
from apps.interactions.models import Interaction  # noqa: E402

BENCH_DAY = date(1999, 12, 31)
MIX = [  # kind, weight (%): roughly the multitier scenario mix, plus the LLM and feedback traffic
    ("search", 30), ("profile_swap", 12), ("playbook_search", 8), ("validate_email", 15), ("validate_sms", 12),
    ("validate_fill", 8), ("playbook_record", 5), ("chat", 7), ("feedback", 3),
]
CITIES = [("Columbus", "OH"), ("Dallas", "TX"), ("Phoenix", "AZ"), ("Atlanta", "GA"), ("Reno", "NV")]
ROLES = ["forklift_operator", "cna", "line_cook", "warehouse_associate", "welder"]
EMAIL_BODY = (
    "Hi {name},\n\nWe have two {shift}-shift {role} openings at the Dock 4 warehouse in {city}, {state}, starting "
    "Monday 12/01 at 10pm. Pay is $21.50/hr; OSHA-10 is required. If you're interested, reply to this email or "
    "call Maria at 555-123-4567 before Friday.{pii}\n\nThanks,\nMaria Lopez\nLakehouse Staffing"
)
SMS_BODY = "Hi {name}, {shift} shift at Dock 4, {city}. $21.50/hr. Questions? Call 555-123-4567.{pii} Reply STOP to opt out"


def _worker_ids(rng: random.Random, n: int) -> list[str]:
    return [f"W-{rng.randrange(100_000):06d}" for _ in range(n)]


def _interaction(rng: random.Random, kind: str, at: datetime, searches: list[uuid.UUID], actor: str) -> Interaction:
    city, state = rng.choice(CITIES)
    role, shift, name = rng.choice(ROLES), rng.choice(["day", "night", "swing"]), rng.choice(["Ana", "Luis", "Kim", "Dee"])
    pii = " Your SSN on file is 219-09-9999." if rng.random() < 0.05 else ""
    fields: dict = {"ok": True, "errors": [], "latency_ms": round(rng.uniform(0.5, 12.0), 3)}
    query = f"{role.replace('_', ' ')} {shift} shift {city}"
    filters = {"city": city, "state": state, "role": role, "status": "active"}
    if kind in ("search", "profile_swap", "playbook_search"):
        ids = _worker_ids(rng, 10)
        fields["request"] = {
            "query": query, "k": 10, "filters": filters, "exclude_ids": _worker_ids(rng, 10) if kind == "profile_swap" else [],
            "use_playbook": kind == "playbook_search",
        }
        fields["response"] = {
            "results": [{"worker_id": w, "score": round(0.9 - i * 0.01, 4), "playbook_boost": 0.0} for i, w in enumerate(ids)],
            "index": {"name": "workers", "version": 42, "ef_search": 100, "path": "hnsw"},
            "embedding_cache": rng.choice(["hit", "miss"]), "playbooks_used": [],
        }
    elif kind in ("validate_email", "validate_sms"):
        text = (EMAIL_BODY if kind == "validate_email" else SMS_BODY).format(name=name, shift=shift, role=role, city=city, state=state, pii=pii)
        errors = [{"code": "PII_SSN", "message": "Contains a US Social Security number.", "start": 10, "end": 21}] if pii else []
        fields["request"] = {"kind": kind[9:], "worker_id": _worker_ids(rng, 1)[0], "subject": "Open shifts" if kind == "validate_email" else None, "body": text}
        fields["response"] = {"ok": not errors, "kind": kind[9:], "errors": errors, "warnings": [], "stats": {"chars": len(text)}}
        fields["ok"], fields["errors"] = not errors, errors
    elif kind == "validate_fill":
        order = {"city": city, "state": state, "role": role, "headcount": 2, "shift": shift, "start_date": "2000-01-03", "required_certifications": ["OSHA-10"]}
        fields["request"] = {"order_id": None, "order": order, "worker_ids": _worker_ids(rng, 2)}
        fields["response"] = {"ok": True, "errors": []}
    elif kind == "playbook_record":
        fields["request"] = {"query": query, "filters": filters, "worker_ids": _worker_ids(rng, 2), "order_id": None, "outcome": "filled"}
        fields["response"] = {"id": rng.randrange(10_000), "index": {"name": "playbook_memory", "size": 500, "version": 77}}
    elif kind == "chat":
        fields["request"] = {
            "messages": [{"role": "system", "content": "You draft staffing outreach."}, {"role": "user", "content": f"Draft an SMS to {name} about a {shift} shift in {city}."}],
            "provider": "local", "purpose": "draft_sms",
        }
        fields["response"] = {"text": SMS_BODY.format(name=name, shift=shift, city=city, pii=pii)}
        fields.update(model="local-drafter", prompt_tokens=rng.randrange(40, 400), completion_tokens=rng.randrange(20, 80))
    else:  # feedback on an earlier search
        fields["request"] = {"target_id": str(rng.choice(searches)), "verdict": rng.choice(["accept", "reject"])}
        fields["response"] = {}
    return Interaction(id=uuid.uuid4(), kind=kind, occurred_at=at, actor=actor, **fields)


def _check_migrated() -> None:
    executor = MigrationExecutor(connection)
    pending = [m for m, _ in executor.migration_plan(executor.loader.graph.leaf_nodes()) if m.app_label == "evidence"]
    if pending:
        sys.exit(f"evidence migrations not applied to the dev database ({', '.join(m.name for m in pending)}): run python manage.py migrate evidence")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary KB_DIR")
    args = parser.parse_args()

    _check_migrated()
    start_of_day = datetime.combine(BENCH_DAY, datetime.min.time(), tzinfo=timezone.utc)
    end_of_day = start_of_day + timedelta(days=1)
    if Interaction.objects.filter(occurred_at__gte=start_of_day, occurred_at__lt=end_of_day).exists() or EvidenceRecord.objects.filter(day=BENCH_DAY).exists():
        sys.exit(f"{BENCH_DAY} already holds interactions or evidence; refusing to mix the benchmark with them")

    actor = f"bench-materialize-{uuid.uuid4().hex[:8]}"
    rng = random.Random(args.seed)
    kinds = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX], k=args.count)
    kb_dir = Path(tempfile.mkdtemp(prefix="bench-materialize-"))
    settings.KB_DIR = kb_dir
    run = None
    try:
        t0 = time.perf_counter()
        searches: list[uuid.UUID] = []
        batch: list[Interaction] = []
        for i, kind in enumerate(kinds):
            at = start_of_day + timedelta(microseconds=int(i * 86_400e6 / args.count))
            if kind == "feedback" and not searches:
                kind = "search"
            row = _interaction(rng, kind, at, searches, actor)
            if kind == "search":
                searches.append(row.id)
            batch.append(row)
            if len(batch) == 5000:
                Interaction.objects.bulk_create(batch)
                batch = []
        if batch:
            Interaction.objects.bulk_create(batch)
        inserted_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        run = services.build_evidence_index(day=BENCH_DAY, actor=actor)
        elapsed = time.perf_counter() - t0

        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"inserted {args.count} interactions in {inserted_s:.1f} s (setup, not timed)")
        print(f"run {run.run_id} {run.status}: scanned {run.sources_scanned}, written {run.records_written}, "
              f"duplicates {run.duplicates_skipped}, errors {run.errors_count}, files {len(run.files)}")
        print(f"materialize {args.count} interactions: {elapsed:.1f} s ({args.count / elapsed:,.0f} records/s), "
              f"peak RSS of this process {rss_mb:.0f} MB  (target <= 60 s)")
        return 0 if run.status == "succeeded" and run.records_written == args.count else 1
    finally:
        EvidenceRecord.objects.filter(day=BENCH_DAY).delete()
        Interaction.objects.filter(actor=actor).delete()
        if run is not None:
            MaterializeRun.objects.filter(pk=run.pk).delete()
        if not args.keep:
            shutil.rmtree(kb_dir, ignore_errors=True)
        else:
            print(f"kept {kb_dir}")


if __name__ == "__main__":
    sys.exit(main())
