"""One realistic record of every kind the console shows, for the browser tests and the crawl."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass
class Seeded:
    worker: Any
    batch: Any
    regressed_run: Any
    evidence: Any
    interaction: Any


def seed_everything() -> Seeded:
    from django.utils import timezone

    from apps.evidence.models import EvidenceRecord, InboxFile, MaterializeRun
    from apps.interactions.models import Interaction
    from apps.indexes.models import IndexJob
    from apps.indexes.services import ensure_all_vector_indexes
    from apps.orders.models import FillProposal, JobOrder
    from apps.orders.services import client_for_name
    from apps.playbooks.models import Playbook
    from apps.replay.bundles import build_bundle
    from apps.replay.models import ReplayBatch, ReplayRun
    from apps.workers.generator import generate_workers
    from apps.workers.models import IngestJob, Worker
    from apps.workers.normalize import normalize_row

    now = timezone.now()
    worker = Worker.objects.create(**normalize_row(next(generate_workers(1, seed=5))).worker_fields())
    indexes = ensure_all_vector_indexes()
    IndexJob.objects.create(index=indexes[0], kind="rebuild", status="succeeded", progress=100.0, rows_done=1, rows_total=1, finished_at=now)
    IngestJob.objects.create(source="/data/workers.csv", format="csv", status="succeeded", progress=100.0, rows_total=400, rows_read=400,
                             rows_written=396, rows_rejected=4, errors=[{"line": 7, "worker_id": "W-9", "reason": "phone is not a phone number"}],
                             timings={"parse_s": 0.4, "embed_s": 2.1, "write_s": 0.3}, started_at=now, finished_at=now)
    IngestJob.objects.create(source="/data/more.csv", format="csv", status="running", progress=42.0, rows_total=1000, rows_read=420, started_at=now)
    interaction = Interaction.objects.create(
        id=uuid.uuid4(), kind="validate_sms", occurred_at=now, actor="coordinator-1", model="local-chat",
        request={"worker_id": worker.worker_id, "body": "Shift Monday 7am. Reply STOP to opt out"}, response={"ok": True, "errors": []},
    )
    materialize = MaterializeRun.objects.create(run_id="mr_20261130T045913_41e06961", status="succeeded", mode="incremental", kb_dir="/tmp/kb",
                                                records_written=1, per_transform={"sms_draft": 1}, started_at=now, finished_at=now)
    evidence = EvidenceRecord.objects.create(
        evidence_id="ev_" + "a" * 32, day=now.date(), occurred_at=now, source_kind="interaction", source_id=str(interaction.id),
        transform="sms_draft", transform_version=1, task_type="draft_sms", verdict={"ok": True, "errors": []}, verdict_ok=True,
        input={"worker_id": worker.worker_id, "kind": "sms"}, run=materialize,
        output={"body": f"Hi {worker.first_name}, a forklift shift Monday 7am in {worker.city}. Reply STOP to opt out"},
    )
    InboxFile.objects.create(name="chat-2026-11-29.jsonl", sha256="b" * 64, lines=3, records_written=3, run=materialize)
    batch = ReplayBatch.objects.create(batch_id="rb_5e1f0c2a9b7d4e6f8a0b1c2d", status="succeeded", provider="local", model="local-chat", total=2,
                                       passed=1, failed=1, regressions=1, skipped_by_type={"search_session": 3}, started_at=now, finished_at=now)
    candidate = {"worker_id": worker.worker_id, "first_name": worker.first_name, "city": worker.city, "state": worker.state, "role": worker.role}
    bundle = build_bundle("draft_sms", {"worker_id": worker.worker_id, "kind": "sms"}, {"candidates": [candidate]})
    errors = [{"code": "SMS_TOO_LONG", "message": "212 characters; at most 160."}, {"code": "SMS_NO_STOP", "message": "No opt-out line."}]
    regressed = ReplayRun.objects.create(
        run_id="rr_0a1b2c3d4e5f60718293a4b5", batch=batch, evidence_id=evidence.evidence_id, task_type="draft_sms", status="fail", provider="local",
        model="local-chat", bundle=bundle.to_dict(), bundle_sha256=bundle.sha256,
        retrieval={"index": "workers", "ids": [worker.worker_id], "took_ms": 1.5},
        response={"text": "Hello! " * 30, "prompt_tokens": 120, "completion_tokens": 60, "latency_ms": 12.5},
        validation={"ok": False, "errors": errors}, baseline_ok=True, regression=True, started_at=now, finished_at=now,
    )
    ReplayRun.objects.create(
        run_id="rr_9f8e7d6c5b4a39281706f5e4", batch=batch, evidence_id=evidence.evidence_id, task_type="draft_sms", status="pass", provider="local",
        response={"text": "ok"}, validation={"ok": True, "errors": []}, baseline_ok=True, regression=False, started_at=now, finished_at=now,
    )
    order = JobOrder.objects.create(order_id="JO-1003", client=client_for_name("Acme Logistics"), city=worker.city, state=worker.state, role=worker.role,
                                    headcount=1, shift="day", start_date=date.today() + timedelta(days=3))
    FillProposal.objects.create(order=order, worker_ids=[worker.worker_id], verdict={"ok": True, "errors": []}, ok=True)
    Playbook.objects.create(query="forklift day shift", query_embedding=[0.1] * 768, worker_ids=[worker.worker_id], outcome="filled", order=order)
    # A retention run and a playbook it archived (apps.evidence.retention).
    from apps.evidence.models import RetentionRun
    from apps.playbooks.models import ArchivedPlaybook

    RetentionRun.objects.create(interaction_cutoff=now - timedelta(days=90), playbook_cutoff=now - timedelta(days=300), status="succeeded",
                                progress=100.0, interactions_deleted=1200, interactions_kept=3, playbooks_archived=41, started_at=now, finished_at=now,
                                note="3 interactions past the horizon have no evidence record yet and were kept (run materialize)")
    ArchivedPlaybook.objects.create(id=10_000, query="forklift night shift Columbus order 7 with a long wording that a coordinator typed in full",
                                    worker_ids=[worker.worker_id], outcome="filled", order=order, created_at=now - timedelta(days=400), archived_at=now)
    # The staffing-operations records and an alert, so the crawl opens each of their pages too.
    from apps.alerts.models import Alert
    from apps.orders.models import AssignmentEnd, DoNotAssign, OrderImportJob

    DoNotAssign.objects.create(client=order.client, worker_id=worker.worker_id, reason="client request after a safety incident")
    AssignmentEnd.objects.create(order=order, worker_id=worker.worker_id, reason="completed", ended_by="coord")
    OrderImportJob.objects.create(source_name="orders.csv", csv_text="order_id\n", status="succeeded", progress=100.0, finished_at=now)
    Alert.objects.create(key="job:ingest:1", kind=Alert._meta.get_field("kind").choices[0][0], subject="ingest job 1 failed", body="reason")
    from django.contrib.auth.models import Group

    Group.objects.get_or_create(name="coordinators")
    return Seeded(worker=worker, batch=batch, regressed_run=regressed, evidence=evidence, interaction=interaction)


def add_worker(worker_id: str, **fields: Any):
    """A worker with the embedding ingest would give it (the configured embedder over its profile
    text), so the shared search finds it. Defaults: an active, available forklift operator in Columbus."""
    from apps.indexes.embedders import get_embedder
    from apps.workers.models import Worker
    from apps.workers.profile import profile_text

    values = {
        "first_name": "Ana", "last_name": worker_id.replace("-", ""), "city": "Columbus", "state": "OH", "role": "forklift_operator",
        "skills": ["forklift", "rf scanner"], "certifications": ["OSHA-10"], "shift_preference": ["night"], "status": "active",
        "reliability": 0.9, "phone": "", "email": "", **fields,
    }
    embedder = get_embedder()
    vector = embedder.embed([profile_text({"worker_id": worker_id, **values})])[0]
    return Worker.objects.create(worker_id=worker_id, embedding=vector, embedding_model=embedder.key, **values)
