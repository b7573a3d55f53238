"""SPEC §3.5 end to end: a search, an outreach validation, a playbook record and a feedback that all
carry every secret shape (and an SSN and a card number) leave none of them in the interaction,
playbook or evidence tables, nor anywhere under KB_DIR after the materializer ran."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from apps.evidence.services import build_evidence_index
from apps.interactions.models import Interaction

pytestmark = pytest.mark.django_db

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
# (as written in the request, a piece of it that must be found nowhere afterwards)
SHAPES: list[tuple[str, str]] = [
    ("sk-live-abc123DEF456ghi789JKL012mno345", "abc123DEF456ghi789JKL012mno345"),
    ("sk-test-4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
    ("sk-proj-Zz12Yy34Xx56Ww78Vv90", "Zz12Yy34Xx56Ww78Vv90"),
    ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ", "1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "11ABCDEFG0123456789"),
    ("xoxb-123456789012-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    (JWT, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ("api_key=zq9TopSecretValue", "zq9TopSecretValue"),
    ("apikey=Apk3yValue55", "Apk3yValue55"),
    ("password=hunter2Pass", "hunter2Pass"),
    ("secret=s3cr3tValueX", "s3cr3tValueX"),
    ("token=tok3nValue77", "tok3nValue77"),
    ("Authorization: Bearer bearerTok3n123456", "bearerTok3n123456"),
    ("Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
    ("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "QWxhZGRpbjpvcGVuIHNlc2FtZQ"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75eUn0Vm8zQ1\n-----END RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA75eUn0Vm8zQ1"),
    ("SSN 123-45-6789", "123-45-6789"),
    ("card 4111 1111 1111 1111", "4111 1111 1111 1111"),
]
LEAKY = " ; ".join(text for text, _ in SHAPES)


def _table_text(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {table} t")
        return cursor.fetchone()[0]


def _kb_text(kb_dir: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(kb_dir.rglob("*")) if path.is_file())


def test_no_secret_shape_is_stored_anywhere(search_corpus, coordinator_client, settings, tmp_path):
    settings.KB_DIR = tmp_path / "kb"
    assert len(LEAKY) <= 1000  # one search query carries them all

    search = coordinator_client.post("/api/v1/workers/search", {"query": f"forklift {LEAKY}", "k": 5}, format="json")
    assert search.status_code == 200, search.content
    workers = [row["worker_id"] for row in search.json()["results"][:2]]
    assert workers

    validate = coordinator_client.post("/api/v1/validate/email", {"kind": "sms", "body": f"Shift tonight. {LEAKY} Reply STOP to opt out"}, format="json")
    assert validate.status_code == 200, validate.content

    record = coordinator_client.post(
        "/api/v1/playbooks/record",
        {"query": f"night forklift {LEAKY}", "worker_ids": workers, "outcome": "filled", "filters": {"city": "Columbus"}},
        format="json",
    )
    assert record.status_code == 201, record.content

    target = str(Interaction.objects.get(kind="search").id)
    feedback = coordinator_client.post("/api/v1/evidence/feedback/", {"target_id": target, "verdict": "edit", "edited_text": LEAKY}, format="json")
    assert feedback.status_code == 201, feedback.content

    assert Interaction.objects.count() == 4  # search, validate_sms, playbook_record, feedback
    run = build_evidence_index()
    assert run.status == "succeeded" and run.records_written == 4, (run.errors, run.records_written)

    stored = {
        "interactions": _table_text("evidence_interaction"),
        "playbooks": _table_text("playbooks_playbook"),
        "evidence": _table_text("evidence_evidencerecord"),
        "KB_DIR": _kb_text(settings.KB_DIR),
    }
    assert all(stored.values()) and "[REDACTED]" in stored["interactions"] and "[REDACTED]" in stored["KB_DIR"]
    leaks = [(where, secret) for where, text in stored.items() for _, secret in SHAPES if secret in text]
    assert leaks == []
