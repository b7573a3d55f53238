"""Fixtures of the evidence tests: a private KB_DIR per test, and interaction rows of every kind
shaped like the ones the search, validation, playbook and chat code paths log."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

DAY = "2026-11-20"
AT = datetime(2026, 11, 20, 14, 30, 0, 250000, tzinfo=timezone.utc)


@pytest.fixture
def kb_dir(settings, tmp_path) -> Path:
    settings.KB_DIR = tmp_path / "kb"
    return settings.KB_DIR


# ------------------------------------------------------------------------- payloads per kind


def search_request(query: str = "forklift operator night shift Columbus", exclude_ids: list[str] | None = None, use_playbook: bool = False) -> dict:
    return {
        "query": query,
        "k": 3,
        "filters": {"city": "Columbus", "state": "OH", "role": "forklift_operator", "status": "active"},
        "exclude_ids": exclude_ids or [],
        "use_playbook": use_playbook,
    }


def search_response(ids: tuple[str, ...] = ("W-000777", "W-000123", "W-004242"), boost: float = 0.0) -> dict:
    return {
        "results": [{"worker_id": wid, "score": round(0.9 - i / 10, 4), "playbook_boost": boost} for i, wid in enumerate(ids)],
        "index": {"name": "workers", "version": 42, "ef_search": 100, "path": "hnsw"},
        "embedding_cache": "miss",
        "playbooks_used": [17] if boost else [],
    }


def verdict(ok: bool = True, errors: list | None = None, kind: str = "sms") -> dict:
    return {"ok": ok, "kind": kind, "errors": errors or [], "warnings": [], "stats": {"chars": 64, "encoding": "GSM-7", "segments": 1}}


SMS_BODY = "Hi Ana, night shift Mon 10pm at Dock 4. Questions? Call 555-123-4567. Reply STOP to opt out"
EMAIL_SUBJECT = "Night shift forklift work in Columbus"
EMAIL_BODY = "Hi Ana,\n\nTwo night-shift openings in Columbus, OH starting Monday. Reply to this email.\n\nMaria"
ORDER = {
    "order_id": "O-1001", "city": "Columbus", "state": "OH", "role": "forklift_operator", "headcount": 2, "shift": "night",
    "start_date": "2026-12-01", "end_date": None, "required_certifications": ["OSHA-10"],
}


def interaction_kwargs(kind: str) -> dict[str, Any]:
    """Keyword arguments of a realistic Interaction of each kind (what the services log)."""
    if kind == "search":
        return {"request": search_request(), "response": search_response(), "latency_ms": 3.1}
    if kind == "profile_swap":
        return {"request": search_request(exclude_ids=["W-000777"]), "response": search_response(("W-000555", "W-000556")), "latency_ms": 2.5}
    if kind == "playbook_search":
        return {"request": search_request(use_playbook=True), "response": search_response(boost=0.12), "latency_ms": 4.0}
    if kind == "validate_email":
        return {
            "request": {"kind": "email", "worker_id": "W-000777", "subject": EMAIL_SUBJECT, "body": EMAIL_BODY},
            "response": verdict(kind="email"), "latency_ms": 0.8,
        }
    if kind == "validate_sms":
        return {"request": {"kind": "sms", "worker_id": "W-000777", "subject": None, "body": SMS_BODY}, "response": verdict(), "latency_ms": 0.6}
    if kind == "validate_fill":
        errors = [{"code": "ROLE_MISMATCH", "worker_id": "W-000123", "message": "Worker W-000123 is a line_cook."}]
        return {
            "request": {"order_id": "O-1001", "order": ORDER, "worker_ids": ["W-000777", "W-000123"]},
            "response": {"ok": False, "errors": errors}, "ok": False, "errors": errors, "latency_ms": 1.7,
        }
    if kind == "playbook_record":
        return {
            "request": {"query": "forklift night Columbus", "filters": {"city": "Columbus"}, "worker_ids": ["W-000777"], "order_id": "O-1001", "outcome": "filled"},
            "response": {"id": 17, "index": {"name": "playbook_memory", "size": 18, "version": 9}}, "latency_ms": 6.2,
        }
    if kind == "chat":
        return {
            "request": {"messages": [{"role": "system", "content": "You draft outreach."}, {"role": "user", "content": "Draft an SMS for Ana."}], "provider": "local", "purpose": "draft_sms"},
            "response": {"text": "Hi Ana, a night shift is open. Reply STOP to opt out"},
            "model": "local-drafter", "prompt_tokens": 21, "completion_tokens": 13, "latency_ms": 120.5,
        }
    raise ValueError(kind)


KINDS = ("search", "profile_swap", "playbook_search", "validate_email", "validate_sms", "validate_fill", "playbook_record", "chat")


@pytest.fixture
def make_interaction(db) -> Callable[..., Any]:
    from apps.interactions.models import Interaction

    def make(kind: str, *, occurred_at: datetime = AT, actor: str = "coordinator", **overrides: Any):
        fields = {"ok": True, "errors": [], **interaction_kwargs(kind), **overrides} if kind != "feedback" else {"response": {}, **overrides}
        return Interaction.objects.create(kind=kind, occurred_at=occurred_at, actor=actor, **fields)

    return make


@pytest.fixture
def every_kind(make_interaction) -> dict[str, Any]:
    """One interaction of each of the eight workflow kinds plus a feedback on the search."""
    rows = {kind: make_interaction(kind) for kind in KINDS}
    rows["feedback"] = make_interaction("feedback", request={"target_id": str(rows["search"].id), "verdict": "accept"})
    return rows


# ------------------------------------------------------------------------------ inbox / files


def chat_log_line(log_id: str, *, occurred_at: str = "2026-11-20T09:15:00Z", content: str = "Sure, here is a draft.", **extra: Any) -> dict:
    return {
        "schema": "chat_log.v1",
        "id": log_id,
        "occurred_at": occurred_at,
        "model": "llama3.1:8b",
        "messages": [{"role": "user", "content": "Draft a reminder for tomorrow's shift."}],
        "response": {"content": content},
        "usage": {"prompt_tokens": 12, "completion_tokens": 7},
        "latency_ms": 350.0,
        "metadata": {"session": "s-1"},
        **extra,
    }


def write_inbox(kb_dir: Path, name: str, lines: list[Any]) -> Path:
    inbox = kb_dir / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines), encoding="utf-8")
    return path


def partition_lines(kb_dir: Path, day: str = DAY) -> list[str]:
    """Every line of every file of a day's partition."""
    lines: list[str] = []
    for path in sorted((kb_dir / "evidence" / f"day={day}").glob("*.jsonl")):
        lines += path.read_text(encoding="utf-8").splitlines()
    return lines


@pytest.fixture
def other_connection_holding_the_lock(db):
    """Another database session holding the materialize advisory lock (as a running run would)."""
    import psycopg
    from django.db import connection

    from apps.evidence.services import _LOCK_KEY

    other = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    other.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    yield other
    other.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    other.close()
