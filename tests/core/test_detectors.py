"""Unit tests for apps.core.detectors: detection, normalization and masking."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from apps.core.detectors import (
    Span,
    extract_contacts,
    find_cards,
    find_emails,
    find_phones,
    find_ssns,
    mask_pii,
    normalize_email,
    normalize_phone,
)


# --- SSN ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "matched", "value"),
    [
        ("SSN 219-09-9999 on file", "219-09-9999", "219-09-9999"),
        ("SSN 219 09 9999 on file", "219 09 9999", "219-09-9999"),
        ("SSN 219099999 on file", "219099999", "219-09-9999"),
        ("SSN 219–09–9999 on file", "219–09–9999", "219-09-9999"),
        ("078-05-1120", "078-05-1120", "078-05-1120"),
        ("123-45-6789", "123-45-6789", "123-45-6789"),
        ("(219-09-9999)", "219-09-9999", "219-09-9999"),
        ("SSN #219099999", "219099999", "219-09-9999"),
    ],
)
def test_find_ssns_reports_span_and_normalized_value(text: str, matched: str, value: str) -> None:
    [span] = find_ssns(text)
    assert span.kind == "ssn"
    assert text[span.start : span.end] == matched == span.text
    assert span.value == value


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "999-12-3456",
        "219-00-3456",
        "219-09-0000",
        "219-09 9999",  # inconsistent separators
        "1219-09-9999",
        "219-09-99991",
        "2024-219-09-9999",
        "219-09-9999-01",
        "219-09-9999.5",
        "1.219099999",
        "Order #219099999",
        "PO 219099999",
        "invoice no. 219099999",
        "Columbus, OH 432151234",
        "zip: 432151234",
        "W219099999",
        "$219099999",
        "+219099999",
        "555-123-4567",
        "(555) 123-4567",
        "+1 555 123 4567",
        "5551234567",
    ],
)
def test_find_ssns_ignores_non_ssns(text: str) -> None:
    assert find_ssns(text) == []


def test_find_ssns_label_does_not_hide_a_separated_ssn() -> None:
    # Reference labels only excuse nine bare digits; an SSN-shaped number is reported anyway.
    assert [span.value for span in find_ssns("Order #219-09-9999")] == ["219-09-9999"]


def test_find_ssns_finds_every_occurrence_in_order() -> None:
    spans = find_ssns("a 219-09-9999 b 078-05-1120 c")
    assert [span.value for span in spans] == ["219-09-9999", "078-05-1120"]
    assert spans[0].start < spans[1].start


# --- cards ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("4111 1111 1111 1111", "4111111111111111"),
        ("4111-1111-1111-1111", "4111111111111111"),
        ("4111111111111111", "4111111111111111"),
        ("3782 822463 10005", "378282246310005"),
        ("4222222222222", "4222222222222"),
        ("pay 5555 5555 5555 4444.", "5555555555554444"),
    ],
)
def test_find_cards_accepts_luhn_valid_numbers(text: str, digits: str) -> None:
    [span] = find_cards(text)
    assert span.value == digits
    assert "".join(ch for ch in span.text if ch.isdigit()) == digits
    assert text[span.start : span.end] == span.text


def test_find_cards_separates_a_card_from_a_trailing_expiry() -> None:
    text = "card 4111 1111 1111 1111 12/27"
    [span] = find_cards(text)
    assert span.text == "4111 1111 1111 1111"
    assert (span.start, span.end) == (5, 24)


def test_find_cards_separates_a_card_from_a_leading_number() -> None:
    [span] = find_cards("Call 555-123-4567 4111 1111 1111 1111")
    assert span.value == "4111111111111111"


def test_find_cards_finds_adjacent_and_sandwiched_cards() -> None:
    two = "4111 1111 1111 1111 5555 5555 5555 4444"
    assert [span.value for span in find_cards(two)] == ["4111111111111111", "5555555555554444"]
    masked, counts = mask_pii(two)
    assert masked == "[CARD] [CARD]" and counts["card"] == 2
    sandwich = "555-123-4567 4111 1111 1111 1111 555-987-6543"
    [span] = find_cards(sandwich)
    assert (span.start, span.end) == (13, 32)


@pytest.mark.parametrize(
    "text",
    ["1 " * 20_000, "1-" * 20_000, "1234 " * 8_000, "555-123-4567 " * 3_000, "219-09-9999 " * 3_000],
)
def test_long_digit_runs_are_scanned_in_linear_time(text: str) -> None:
    # Quadratic window search took ~40 s of CPU on these; linear takes a few ms. Measured as this
    # thread's CPU time, not wall time: on a saturated machine the wall clock also counts the time the
    # thread waited for a core (make test-under-load), which says nothing about the algorithm.
    started = time.thread_time()
    mask_pii(text)
    assert time.thread_time() - started < 2.0


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "4111 1111 1111",  # 12 digits
        "41111111111111111111",  # 20 digits
        "0000 0000 0000 0000",
        "SKU4111111111111111",
        "0.4111111111111111",
        "12 14 16 18 20 22 24 26",  # not card-shaped groups
        "4111 1111-1111 1111",  # mixed separators
    ],
)
def test_find_cards_rejects_non_cards(text: str) -> None:
    assert find_cards(text) == []


# --- email ----------------------------------------------------------------------------------------


def test_find_emails_lowercases_value_and_keeps_original_text() -> None:
    text = "Write to Ana.Lopez+jobs@Example.COM, thanks."
    [span] = find_emails(text)
    assert span.text == "Ana.Lopez+jobs@Example.COM"
    assert span.value == "ana.lopez+jobs@example.com"
    assert text[span.start : span.end] == span.text


@pytest.mark.parametrize("text", ["no at sign", "user@", "@example.com", "a@b", "ana@example.c"])
def test_find_emails_rejects_incomplete_addresses(text: str) -> None:
    assert find_emails(text) == []


def test_find_emails_is_linear_on_long_words() -> None:
    # A quadratic regex would take seconds here.
    assert find_emails("a" * 200_000 + "@") == []


# --- phones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("555-123-4567", "+15551234567"),
        ("(555) 123-4567", "+15551234567"),
        ("(555)123-4567", "+15551234567"),
        ("555.123.4567", "+15551234567"),
        ("555 123 4567", "+15551234567"),
        ("5551234567", "+15551234567"),
        ("+1 555 123 4567", "+15551234567"),
        ("+1-555-123-4567", "+15551234567"),
        ("+15551234567", "+15551234567"),
        ("1-555-123-4567", "+15551234567"),
        ("1 (555) 123-4567", "+15551234567"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("1.555.123.4567", "+15551234567"),
        ("555-123-4567 ext. 89", "+15551234567"),
        ("614-555-0142", "+16145550142"),
    ],
)
def test_find_phones_normalizes_every_common_format(raw: str, value: str) -> None:
    text = f"Call {raw} today"
    [span] = find_phones(text)
    assert span.value == value
    assert span.text == raw
    assert text[span.start : span.end] == raw
    assert find_ssns(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "155-123-4567",  # area codes never start with 1
        "055-123-4567",
        "55512345678",  # eleven digits not starting with 1
        "555-123-45678",
        "12-555-123-4567",
        "+44 20 7946 0958",
        "+5551234567",  # '+' without country code 1
        "ID5551234567",
        "219-09-9999",
    ],
)
def test_find_phones_rejects_non_nanp_numbers(text: str) -> None:
    assert find_phones(text) == []


def test_normalize_phone_requires_exactly_one_whole_number() -> None:
    assert normalize_phone(" (555) 123-4567 ") == "+15551234567"
    assert normalize_phone("+15551234567") == "+15551234567"
    assert normalize_phone("call 555-123-4567") is None
    assert normalize_phone("555-123-4567 555-987-6543") is None
    assert normalize_phone("") is None
    assert normalize_phone(None) is None


def test_normalize_email() -> None:
    assert normalize_email("  Ana@Example.COM ") == "ana@example.com"
    assert normalize_email(None) == ""


def test_extract_contacts_normalizes_and_deduplicates() -> None:
    text = "Ana: (555) 123-4567, +1 555 123 4567, ANA@Example.com and bob@example.com"
    assert extract_contacts(text) == {
        "phones": {"+15551234567"},
        "emails": {"ana@example.com", "bob@example.com"},
    }


def test_extract_contacts_of_plain_text_is_empty() -> None:
    assert extract_contacts("See you Monday") == {"phones": set(), "emails": set()}


# --- masking --------------------------------------------------------------------------------------


def test_mask_pii_replaces_every_kind_and_counts_them() -> None:
    text = (
        "Ana ana@example.com, 555-123-4567, SSN 219-09-9999, card 4111 1111 1111 1111, "
        "alt (555) 987-6543"
    )
    masked, counts = mask_pii(text)
    assert masked == "Ana [EMAIL], [PHONE], SSN [SSN], card [CARD], alt [PHONE]"
    assert counts == {"ssn": 1, "card": 1, "email": 1, "phone": 2}


def test_mask_pii_prefers_the_longer_overlapping_finding() -> None:
    # The phone digits are the local part of the email: the whole address is masked once.
    masked, counts = mask_pii("write 5551234567@example.com")
    assert masked == "write [EMAIL]"
    assert counts == {"ssn": 0, "card": 0, "email": 1, "phone": 0}


def test_mask_pii_leaves_clean_text_identical_with_zero_counts() -> None:
    text = "Shift Monday 7am at Dock 4, order #219099999, zip 43215-1234."
    masked, counts = mask_pii(text)
    assert masked == text
    assert counts == {"ssn": 0, "card": 0, "email": 0, "phone": 0}


def test_mask_pii_returns_non_strings_unchanged() -> None:
    for value in (None, 42, 4.5, ["219-09-9999"]):
        masked, counts = mask_pii(value)  # type: ignore[arg-type]
        assert masked is value
        assert sum(counts.values()) == 0


def test_mask_pii_is_idempotent() -> None:
    once, _ = mask_pii("SSN 219-09-9999 call 555-123-4567")
    twice, counts = mask_pii(once)
    assert twice == once
    assert sum(counts.values()) == 0


def test_span_is_frozen() -> None:
    span = Span("ssn", 0, 11, "219-09-9999", "219-09-9999")
    with pytest.raises(AttributeError):
        span.start = 3  # type: ignore[misc]


def test_validator_modules_import_no_django() -> None:
    # The validators must stay usable from replay, the materializer and scripts without Django set up.
    code = (
        "import sys\n"
        "import apps.core.detectors, apps.validation.sms, apps.validation.email_validator, "
        "apps.orders.fill_validator\n"
        "leaked = sorted(name for name in sys.modules if name.split('.')[0] in ('django', 'rest_framework'))\n"
        "assert not leaked, leaked\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
