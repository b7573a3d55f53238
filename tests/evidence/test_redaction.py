"""No SSN, card number, email or phone survives materialization: interactions and inbox chat logs full
of them go in; the partition files, the receipt and the evidence rows are scanned with the same
detectors (apps.core.detectors) and must come out clean."""

from __future__ import annotations

import pytest

from apps.evidence import selectors, services, transforms
from apps.evidence.models import EvidenceRecord
from apps.core.detectors import find_cards, find_emails, find_phones, find_ssns
from tests.evidence.conftest import chat_log_line, write_inbox

pytestmark = pytest.mark.django_db

PII = {
    "ssn": ["219-09-9999", "078-05-1120", "219 09 9999"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "email": ["ana.lopez@example.com", "Bob@Example.org"],
    "phone": ["(614) 555-0199", "555.123.4567", "+1 555 867 5309", "6145550100"],
}
EVERYTHING = " / ".join(value for values in PII.values() for value in values)


def _findings(text: str) -> list:
    return find_ssns(text) + find_cards(text) + find_emails(text) + find_phones(text)


def test_no_output_file_or_row_contains_pii(kb_dir, make_interaction):
    body = f"Hi Ana, details: {EVERYTHING}. Reply STOP to opt out"
    assert len(_findings(body)) == sum(len(v) for v in PII.values())  # the detectors do see them all
    make_interaction("validate_email", request={"kind": "email", "worker_id": "W-1", "subject": "Call (614) 555-0199", "body": body})
    make_interaction("validate_sms", request={"kind": "sms", "worker_id": "W-1", "subject": None, "body": body})
    chat = make_interaction(
        "chat",
        request={"messages": [{"role": "user", "content": body}], "provider": "local"},
        response={"text": f"Sure: {EVERYTHING}"},
    )
    make_interaction("search", request={"query": f"worker with phone {PII['phone'][0]} and {PII['email'][0]}", "k": 5, "filters": {}, "exclude_ids": [], "use_playbook": False})
    make_interaction("playbook_record", request={"query": f"ask {PII['email'][1]}", "filters": {}, "worker_ids": ["W-1"], "order_id": None, "outcome": "filled"})
    make_interaction("validate_fill", request={"order": {"headcount": 1, "notes": body}, "worker_ids": ["W-1"]})
    make_interaction("feedback", request={"target_id": str(chat.id), "verdict": "edit", "edited_text": body})
    write_inbox(
        kb_dir,
        "chats.jsonl",
        [
            chat_log_line("log-1", content=body),
            {**chat_log_line("log-2"), "messages": [{"role": "user", "content": body}], "metadata": {"caller": PII["email"][0], PII["phone"][1]: PII["ssn"][0]}},
        ],
    )

    run = services.build_evidence_index()
    assert run.status == "succeeded" and run.errors_count == 0
    assert run.records_written == 9

    files = sorted(path for path in kb_dir.rglob("*") if path.is_file() and "inbox" not in path.parts)
    assert {path.parent.name for path in files} == {"day=2026-11-20", "receipts"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert _findings(text) == [], path
        for values in PII.values():
            for value in values:
                assert value.lower() not in text.lower(), (path, value)

    rows = list(selectors.record_values(EvidenceRecord.objects.all()))
    assert len(rows) == 9
    for row in rows:
        assert _findings(transforms.dumps(selectors.record_as_dict(row))) == [], row["evidence_id"]

    # Masked, not dropped: every record says what it removed.
    totals = {kind: sum(row["metadata"]["redactions"][kind] for row in rows) for kind in PII}
    assert all(count > 0 for count in totals.values()), totals
    sms = EvidenceRecord.objects.get(transform="sms_draft")
    assert sms.output["body"].count("[SSN]") == 3 and sms.output["body"].count("[CARD]") == 3
