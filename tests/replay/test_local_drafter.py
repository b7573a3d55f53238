"""The deterministic offline drafter (apps/replay/local_drafter.py): drafts, fills picked with the real
FillValidator, chat echoes masked with the real PII masker. No database."""

from __future__ import annotations

import json
import math
import re

from apps.replay.local_drafter import SMS_MAX_CHARS, LocalChat

# GSM 03.38 basic character set (the extension table's characters count double, so none allowed).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SSN_LIKE = re.compile(r"(?<![\d-])\d{3}[- ]?\d{2}[- ]?\d{4}(?![\d-])")


# --- drafts --------------------------------------------------------------------------------------


def candidate(worker_id: str, **fields) -> dict:
    base = {
        "worker_id": worker_id, "first_name": "Ana", "city": "Columbus", "state": "OH",
        "role": "forklift_operator", "certifications": ["OSHA-10", "Forklift"],
        "shift_preference": ["night"], "available_from": None, "status": "active", "sms_opt_out": False,
    }
    return base | fields


ORDER = {
    "city": "Columbus", "state": "OH", "role": "forklift_operator", "headcount": 2, "shift": "night",
    "start_date": "2026-12-01", "required_certifications": ["OSHA-10"],
}


def ask(task_type: str, task: dict, context: dict, chat: LocalChat | None = None) -> str:
    messages = [
        {"role": "system", "content": "You are the agency's drafter."},
        {"role": "user", "content": json.dumps({"task_type": task_type, "task": task, "context": context})},
    ]
    return (chat or LocalChat()).complete(messages).text


def test_local_sms_fits_one_segment_with_opt_out() -> None:
    text = ask("draft_sms", {"worker_id": "W-1"}, {"candidates": [candidate("W-1")], "order": ORDER})

    assert text == (
        "Hi Ana, forklift operator night shift in Columbus starting 2026-12-01. "
        "Questions? Call 555-123-4567. Reply STOP to opt out"
    )
    assert len(text) <= SMS_MAX_CHARS and "STOP" in text


def test_local_sms_truncates_long_fields_and_stays_gsm7() -> None:
    long = candidate(
        "W-2",
        first_name="Maximiliana-Evangelina Łucja 123-45-6789",
        city="Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
        role="senior_industrial_refrigeration_maintenance_technician_{{level}}",
    )
    text = ask("draft_sms", {}, {"candidates": [long], "order": {"shift": "night", "start_date": "2026-12-01"}})

    assert len(text) <= SMS_MAX_CHARS
    assert text.endswith("Reply STOP to opt out")
    assert set(text) <= GSM7_BASIC
    assert not SSN_LIKE.search(text.replace("555-123-4567", ""))
    assert "{" not in text and text.startswith("Hi Maximiliana")


def test_local_email_is_json_without_placeholders() -> None:
    context = {"candidates": [candidate("W-1", first_name="Bo {x}")], "order": ORDER}
    text = ask("draft_email", {"worker_id": "W-1"}, context)

    email = json.loads(text)
    assert set(email) == {"subject", "body"}
    assert email["subject"] == "Forklift operator night shift in Columbus, OH starting 2026-12-01"
    assert email["body"].startswith("Hi Bo x,")
    assert "Required certifications: OSHA-10." in email["body"]
    assert "555-123-4567" in email["body"]
    assert not re.search(r"\{|\}|\[|\]|<|>|%s", email["body"] + email["subject"])


def test_local_propose_fill_picks_matching_active_candidates() -> None:
    candidates = [
        candidate("W-inactive", status="inactive"),
        candidate("W-denver", city="Denver", state="CO"),
        candidate("W-day", shift_preference=["day"]),
        candidate("W-nocert", certifications=["Forklift"]),
        candidate("W-late", available_from="2027-01-01"),
        candidate("W-ok-1"),
        candidate("W-ok-2", available_from="2026-11-15"),
        candidate("W-ok-3"),
    ]
    answer = json.loads(ask("propose_fill", {"order": ORDER}, {"candidates": candidates}))
    assert answer == {"worker_ids": ["W-ok-1", "W-ok-2"]}


def test_local_propose_fill_tops_up_with_first_candidates() -> None:
    candidates = [candidate("W-a", city="Denver"), candidate("W-b", status="inactive"), candidate("W-fit")]
    answer = json.loads(ask("propose_fill", {}, {"candidates": candidates, "order": ORDER | {"headcount": 2}}))
    assert answer == {"worker_ids": ["W-fit", "W-a"]}


def test_local_chat_masks_personal_data() -> None:
    text = ask("chat", {"message": "Is 123-45-6789 or ana@example.com on file? Call 614 555 0199"}, {})
    assert "123-45-6789" not in text and "ana@example.com" not in text and "0199" not in text
    assert text.startswith("Offline answer from the local drafter")

    plain = LocalChat().complete([{"role": "user", "content": "how many forklift operators in Ohio?"}])
    assert "how many forklift operators in Ohio?" in plain.text


def test_local_chat_is_deterministic_and_estimates_tokens() -> None:
    context = {"candidates": [candidate("W-1"), candidate("W-2", first_name="Li")], "order": ORDER}
    messages = [{"role": "user", "content": json.dumps({"task_type": "draft_sms", "task": {}, "context": context})}]

    first = LocalChat().complete(messages)
    second = LocalChat().complete(messages)

    assert first.text == second.text
    assert first.prompt_tokens == math.ceil(len(messages[0]["content"]) / 4)
    assert first.completion_tokens == math.ceil(len(first.text) / 4)
    assert first.tokens_estimated and first.attempts == 1 and first.model == "local-drafter-v1"


def test_a_candidate_the_fill_validator_rejects_is_never_preferred():
    """Role spelling, city case and certification case are compared the validator's way."""
    candidates = [
        candidate("W-cdl", role="cdl_driver"),
        candidate("W-spelled", role="Forklift Operator", city=" columbus ", certifications=["osha-10"]),
        candidate("W-no-status", status=None),
    ]
    answer = json.loads(ask("propose_fill", {}, {"candidates": candidates, "order": ORDER | {"headcount": 1}}))
    assert answer == {"worker_ids": ["W-spelled"]}


def test_an_order_without_a_start_date_tops_up_in_retrieval_order():
    candidates = [candidate("W-a", city="Denver"), candidate("W-b")]
    order = {k: v for k, v in ORDER.items() if k != "start_date"} | {"headcount": 2}
    assert json.loads(ask("propose_fill", {}, {"candidates": candidates, "order": order})) == {"worker_ids": ["W-a", "W-b"]}
