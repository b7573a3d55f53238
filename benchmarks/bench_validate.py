"""Throughput of the pure-Python validators, in-process on one core.

    python benchmarks/bench_validate.py [--seconds 2.0]

Times EmailValidator on typical ~300-character email drafts and ~150-character SMS drafts (clean
ones and ones that trip PII rules), mask_pii on the same texts, and FillValidator on a two-worker
proposal, and prints a markdown table of validations per second.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.validation.email_validator import EmailValidator, Verdict  # noqa: E402
from apps.validation.fill_validator import FillValidator  # noqa: E402
from apps.core.detectors import mask_pii  # noqa: E402

EMAIL_SUBJECT = "Night shift forklift work in Columbus starting Monday"
EMAIL_BODY = (
    "Hi Ana,\n\nWe have two night-shift forklift operator openings at the Dock 4 warehouse in "
    "Columbus, OH, starting Monday 12/01 at 10pm. Pay is $21.50/hr, OSHA-10 and a forklift "
    "certification are required. If you're interested, reply to this email or call Maria at "
    "555-123-4567 before Friday.\n\nThanks,\nMaria Lopez\nLakehouse Staffing"
)
EMAIL_BODY_WITH_PII = EMAIL_BODY.replace("before Friday", "before Friday. Your SSN on file is 219-09-9999")
SMS_BODY = (
    "Hi Ana, night shift Mon 10pm at Dock 4, Columbus. $21.50/hr. Questions? Call 555-123-4567. "
    "Reply STOP to opt out"
)
SMS_BODY_WITH_PII = SMS_BODY.replace("Questions?", "SSN 219-09-9999?")
PLAIN_TEXT = "Thanks, see you at the warehouse on Monday"
RECIPIENT = {
    "worker_id": "W-000777",
    "found": True,
    "status": "active",
    "sms_opt_out": False,
    "phone": "+15559876543",
    "email": "ana@example.com",
}
CONTEXT = {"worker_contacts": {}, "agency_phones": ["+15551234567"], "agency_emails": []}

ORDER = {
    "order_id": "O-1",
    "city": "Columbus",
    "state": "OH",
    "role": "forklift_operator",
    "headcount": 2,
    "shift": "night",
    "start_date": "2026-12-01",
    "required_certifications": ["OSHA-10", "Forklift"],
}
WORKERS = {
    f"W-{n:06d}": {
        "status": "active",
        "available_from": None,
        "shift_preference": ["night", "weekend"],
        "city": "Columbus",
        "state": "OH",
        "role": "forklift_operator",
        "certifications": ["OSHA-10", "Forklift"],
    }
    for n in range(1, 3)
}
BOOKINGS = [{"order_id": "O-9", "worker_ids": ["W-000099"], "start_date": "2026-12-01"}]


def _rate(call: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Calls per second and mean microseconds per call, over about ``seconds`` of wall time."""
    for _ in range(200):  # warm caches and regex internals
        call()
    calls = 0
    batch = 500
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            call()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - started
    return calls / elapsed, elapsed / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="wall time per case (default 2.0)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says

    email = EmailValidator()
    fill = FillValidator()

    def outreach(kind: str, subject: str | None, body: str) -> Callable[[], Verdict]:
        return lambda: email.validate(kind, subject, body, RECIPIENT, CONTEXT)

    cases: list[tuple[str, int, Callable[[], object]]] = [
        ("email, clean", len(EMAIL_BODY), outreach("email", EMAIL_SUBJECT, EMAIL_BODY)),
        ("email, with SSN", len(EMAIL_BODY_WITH_PII), outreach("email", EMAIL_SUBJECT, EMAIL_BODY_WITH_PII)),
        ("sms, clean", len(SMS_BODY), outreach("sms", None, SMS_BODY)),
        ("sms, with SSN", len(SMS_BODY_WITH_PII), outreach("sms", None, SMS_BODY_WITH_PII)),
        ("mask_pii, email body", len(EMAIL_BODY_WITH_PII), lambda: mask_pii(EMAIL_BODY_WITH_PII)),
        ("mask_pii, no digits", len(PLAIN_TEXT), lambda: mask_pii(PLAIN_TEXT)),
        ("fill, 2 workers", 0, lambda: fill.validate(ORDER, list(WORKERS), WORKERS, BOOKINGS)),
    ]

    # The table is only meaningful if the drafts behave as labelled.
    assert outreach("email", EMAIL_SUBJECT, EMAIL_BODY)().ok
    assert outreach("sms", None, SMS_BODY)().ok
    assert not outreach("email", EMAIL_SUBJECT, EMAIL_BODY_WITH_PII)().ok
    assert not outreach("sms", None, SMS_BODY_WITH_PII)().ok
    assert fill.validate(ORDER, list(WORKERS), WORKERS, BOOKINGS).ok

    print(f"Python {platform.python_version()} on {platform.machine()}, one core, {args.seconds:g} s per case\n")
    print("| case | input chars | validations/s | µs/validation |")
    print("| --- | ---: | ---: | ---: |")
    for name, chars, call in cases:
        per_second, micros = _rate(call, args.seconds)
        print(f"| {name} | {chars or '—'} | {per_second:,.0f} | {micros:.1f} |")


if __name__ == "__main__":
    main()
