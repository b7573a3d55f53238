"""The labelled adversarial corpus: every case must produce exactly its expected error codes.

``cases/outreach.jsonl`` holds EmailValidator cases (``expect_codes`` is the sorted set of error
codes; ``expect_warnings``, when present, the sorted set of warning codes). ``cases/fill.jsonl``
holds FillValidator cases (``expect_errors`` is the sorted list of ``[code, worker_id]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.validation.email_validator import EmailValidator
from apps.orders.fill_validator import FillValidator

CASES_DIR = Path(__file__).parent / "cases"


def _load(name: str) -> list[dict[str, Any]]:
    with (CASES_DIR / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


OUTREACH_CASES = _load("outreach.jsonl")
FILL_CASES = _load("fill.jsonl")


def test_corpus_is_large_unique_and_well_formed() -> None:
    assert len(OUTREACH_CASES) >= 150
    ids = [case["id"] for case in OUTREACH_CASES + FILL_CASES]
    assert len(ids) == len(set(ids))
    for case in OUTREACH_CASES:
        assert case["kind"] in ("email", "sms")
        assert case["expect_codes"] == sorted(set(case["expect_codes"])), case["id"]
        assert case["note"], case["id"]


def test_corpus_covers_every_error_code() -> None:
    covered = {code for case in OUTREACH_CASES for code in case["expect_codes"]}
    assert covered == {
        "PII_SSN", "PII_CARD", "PII_OTHER_WORKER", "SMS_TOO_LONG", "SMS_MISSING_OPT_OUT",
        "RECIPIENT_OPTED_OUT", "UNKNOWN_RECIPIENT", "EMAIL_MISSING_SUBJECT", "EMPTY_BODY",
        "UNRESOLVED_PLACEHOLDER", "DISCRIMINATORY_LANGUAGE", "BODY_TOO_LONG",
    }  # fmt: skip
    # Near-misses matter as much as hits: plenty of cases must pass.
    assert sum(not case["expect_codes"] for case in OUTREACH_CASES) >= 60
    fill_codes = {code for case in FILL_CASES for code, _ in case["expect_errors"]}
    assert fill_codes == {
        "HEADCOUNT_MISMATCH", "DUPLICATE_WORKER", "UNKNOWN_WORKER", "WORKER_UNAVAILABLE",
        "LOCATION_MISMATCH", "ROLE_MISMATCH", "MISSING_CERTIFICATION", "DOUBLE_BOOKED",
    }  # fmt: skip


@pytest.mark.parametrize("case", OUTREACH_CASES, ids=[case["id"] for case in OUTREACH_CASES])
def test_outreach_case(case: dict[str, Any]) -> None:
    verdict = EmailValidator().validate(
        case["kind"], case["subject"], case["body"], case.get("recipient"), case.get("context")
    )
    assert sorted({error["code"] for error in verdict.errors}) == case["expect_codes"], case["note"]
    assert verdict.ok is (not case["expect_codes"])
    if "expect_warnings" in case:
        assert sorted({warning["code"] for warning in verdict.warnings}) == case["expect_warnings"], case["note"]
    for error in verdict.errors:
        if "start" in error:
            assert 0 <= error["start"] < error["end"] <= len(case["body"])


@pytest.mark.parametrize("case", FILL_CASES, ids=[case["id"] for case in FILL_CASES])
def test_fill_case(case: dict[str, Any]) -> None:
    verdict = FillValidator().validate(case["order"], case["worker_ids"], case["workers"], case["bookings"])
    got = sorted(([error["code"], error["worker_id"]] for error in verdict.errors), key=lambda e: (e[0], e[1] or ""))
    assert got == case["expect_errors"], case["note"]
    assert verdict.ok is (not case["expect_errors"])
