"""Unit tests for apps.validation.email_validator (SPEC §4.4)."""

from __future__ import annotations

import pytest

from apps.validation.email_validator import EmailValidator, Verdict

CLASSIC_SMS = "Hi Ana, shift Mon 7am at Dock 4. Questions? Call 555-123-4567. Reply STOP to opt out"

RECIPIENT = {
    "worker_id": "W-000777",
    "found": True,
    "status": "active",
    "sms_opt_out": False,
    "phone": "+15557770000",
    "email": "w777@example.com",
}


@pytest.fixture
def validator() -> EmailValidator:
    return EmailValidator()


def codes(verdict: Verdict) -> list[str]:
    return sorted(error["code"] for error in verdict.errors)


# --- the spec's examples --------------------------------------------------------------------------


def test_classic_sms_passes(validator: EmailValidator) -> None:
    verdict = validator.validate("sms", None, CLASSIC_SMS, None, None)
    assert verdict.to_dict() == {
        "ok": True,
        "kind": "sms",
        "errors": [],
        "warnings": [],
        "stats": {"chars": len(CLASSIC_SMS), "encoding": "GSM-7", "segments": 1},
    }


def test_classic_sms_with_ssn_reports_the_span(validator: EmailValidator) -> None:
    body = CLASSIC_SMS.replace("Questions?", "SSN 219-09-9999. Questions?")
    verdict = validator.validate("sms", None, body, None, None)
    assert verdict.ok is False
    [error] = verdict.errors
    assert error["code"] == "PII_SSN"
    assert body[error["start"] : error["end"]] == "219-09-9999"
    assert set(error) == {"code", "message", "start", "end"}


def test_161_char_gsm_sms_is_too_long(validator: EmailValidator) -> None:
    tail = " Reply STOP to opt out"
    body = "Hi Ana, shift Mon. " + "a" * (161 - 19 - len(tail)) + tail
    assert len(body) == 161
    verdict = validator.validate("sms", None, body, None, None)
    assert codes(verdict) == ["SMS_TOO_LONG"]
    assert verdict.stats == {"chars": 161, "encoding": "GSM-7", "segments": 2}
    assert validator.validate("sms", None, body[1:], None, None).ok


def test_71_char_sms_with_emoji_is_too_long(validator: EmailValidator) -> None:
    body = "Hi 👍 " + "a" * 43 + " Reply STOP to opt out"
    assert len(body) == 70  # 70 code points, 71 UTF-16 units
    verdict = validator.validate("sms", None, body, None, None)
    assert codes(verdict) == ["SMS_TOO_LONG"]
    assert verdict.stats["encoding"] == "UCS-2"
    assert verdict.stats["chars"] == 71


def test_to_dict_is_exactly_the_response_body(validator: EmailValidator) -> None:
    body = {"ok", "kind", "errors", "warnings", "stats"}
    assert set(validator.validate("email", "Hi", "Shift Monday.", None, None).to_dict()) == body
    verdict = validator.validate("email", None, "Dear [NAME], SSN 219-09-9999", None, None)
    payload = verdict.to_dict()
    assert payload["ok"] is False
    for error in payload["errors"]:
        assert {"code", "message"} <= set(error) <= {"code", "message", "start", "end"}
        assert isinstance(error["message"], str) and error["message"]


# --- structure rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("subject", [None, "", "   \n"])
def test_email_without_subject(validator: EmailValidator, subject: str | None) -> None:
    assert codes(validator.validate("email", subject, "Shift Monday.", None, None)) == ["EMAIL_MISSING_SUBJECT"]


def test_sms_needs_no_subject(validator: EmailValidator) -> None:
    assert validator.validate("sms", None, CLASSIC_SMS, None, None).ok


@pytest.mark.parametrize("body", [None, "", "  \t\n "])
def test_empty_body(validator: EmailValidator, body: str | None) -> None:
    assert codes(validator.validate("email", "Hi", body, None, None)) == ["EMPTY_BODY"]
    # An empty SMS is not also asked for opt-out language.
    assert codes(validator.validate("sms", None, body, None, None)) == ["EMPTY_BODY"]


def test_email_body_limit_is_10000_characters(validator: EmailValidator) -> None:
    assert validator.validate("email", "Hi", "a" * 10_000, None, None).ok
    verdict = validator.validate("email", "Hi", "a" * 10_001, None, None)
    assert codes(verdict) == ["BODY_TOO_LONG"]
    assert verdict.stats == {"chars": 10_001}


def test_sms_has_no_body_too_long_rule_only_segments(validator: EmailValidator) -> None:
    verdict = validator.validate("sms", None, "a" * 10_001 + " Reply STOP", None, None)
    assert codes(verdict) == ["SMS_TOO_LONG"]


@pytest.mark.parametrize("kind", ["fax", "", None, 3])
def test_unknown_kind_is_a_caller_error(validator: EmailValidator, kind: object) -> None:
    with pytest.raises(ValueError, match="kind"):
        validator.validate(kind, "Hi", "Body", None, None)  # type: ignore[arg-type]


def test_kind_is_normalized(validator: EmailValidator) -> None:
    assert validator.validate(" SMS ", None, CLASSIC_SMS, None, None).kind == "sms"


# --- recipients -----------------------------------------------------------------------------------


def test_unknown_recipient(validator: EmailValidator) -> None:
    recipient = {"worker_id": "W-404", "found": False}
    verdict = validator.validate("sms", None, CLASSIC_SMS, recipient, None)
    assert codes(verdict) == ["UNKNOWN_RECIPIENT"]
    assert "W-404" in verdict.errors[0]["message"]


def test_sms_opt_out_blocks_sms_but_not_email(validator: EmailValidator) -> None:
    recipient = dict(RECIPIENT, sms_opt_out=True)
    assert codes(validator.validate("sms", None, CLASSIC_SMS, recipient, None)) == ["RECIPIENT_OPTED_OUT"]
    assert validator.validate("email", "Shift", "Shift Monday.", recipient, None).ok


@pytest.mark.parametrize("kind", ["sms", "email"])
def test_do_not_contact_blocks_every_kind(validator: EmailValidator, kind: str) -> None:
    recipient = dict(RECIPIENT, status="do_not_contact")
    verdict = validator.validate(kind, "Shift", CLASSIC_SMS, recipient, None)
    assert codes(verdict) == ["RECIPIENT_OPTED_OUT"]


def test_opted_out_do_not_contact_worker_is_reported_once(validator: EmailValidator) -> None:
    recipient = dict(RECIPIENT, status="do_not_contact", sms_opt_out=True)
    assert codes(validator.validate("sms", None, CLASSIC_SMS, recipient, None)) == ["RECIPIENT_OPTED_OUT"]


# --- another worker's contact ---------------------------------------------------------------------

CONTEXT = {
    "worker_contacts": {
        "+15559876543": "W-000002",
        "bob@example.com": "W-000002",
        "+15557770000": "W-000777",
    },
    "agency_phones": ["555-123-4567"],
    "agency_emails": ["Jobs@Lakehouse.example"],
}


def test_other_workers_phone_is_flagged_with_span(validator: EmailValidator) -> None:
    body = "Ride with Bob (555) 987-6543. Reply STOP to opt out"
    verdict = validator.validate("sms", None, body, RECIPIENT, CONTEXT)
    [error] = verdict.errors
    assert error["code"] == "PII_OTHER_WORKER"
    assert body[error["start"] : error["end"]] == "(555) 987-6543"
    assert "W-000002" in error["message"]


def test_other_workers_email_is_flagged_case_insensitively(validator: EmailValidator) -> None:
    verdict = validator.validate("email", "Carpool", "Write to BOB@example.com", RECIPIENT, CONTEXT)
    assert codes(verdict) == ["PII_OTHER_WORKER"]


def test_recipient_and_agency_contacts_are_never_flagged(validator: EmailValidator) -> None:
    body = "Your phone 555-777-0000, our line 555-123-4567, jobs@lakehouse.example."
    assert validator.validate("email", "Contacts", body, RECIPIENT, CONTEXT).ok


def test_recipients_contact_owned_by_recipient_is_not_flagged_even_without_recipient_phone(
    validator: EmailValidator,
) -> None:
    recipient = dict(RECIPIENT, phone="", email="")
    assert validator.validate("email", "Hi", "Your phone is 555-777-0000.", recipient, CONTEXT).ok


def test_without_context_no_contact_is_flagged(validator: EmailValidator) -> None:
    assert validator.validate("email", "Hi", "Bob is at 555-987-6543.", RECIPIENT, None).ok


# --- text findings --------------------------------------------------------------------------------


def test_messages_never_repeat_the_pii(validator: EmailValidator) -> None:
    body = "SSN 219-09-9999, card 4111 1111 1111 1111, Bob 555-987-6543"
    verdict = validator.validate("email", "SSN 078-05-1120", body, RECIPIENT, CONTEXT)
    assert codes(verdict) == ["PII_CARD", "PII_OTHER_WORKER", "PII_SSN", "PII_SSN"]
    for error in verdict.errors:
        for secret in ("219", "9999", "4111", "1111", "987", "6543", "078", "1120"):
            assert secret not in error["message"]


def test_subject_findings_carry_no_span_and_say_subject(validator: EmailValidator) -> None:
    verdict = validator.validate("email", "Hi {{first_name}}", "Shift Monday.", None, None)
    [error] = verdict.errors
    assert error["code"] == "UNRESOLVED_PLACEHOLDER"
    assert "start" not in error and "end" not in error
    assert error["message"].startswith("Subject:")


def test_body_findings_are_ordered_by_position(validator: EmailValidator) -> None:
    body = "Hi [NAME], young workers only, SSN 219-09-9999, card 4111 1111 1111 1111."
    verdict = validator.validate("email", "Shift", body, None, None)
    starts = [error["start"] for error in verdict.errors]
    assert starts == sorted(starts)
    assert [error["code"] for error in verdict.errors] == [
        "UNRESOLVED_PLACEHOLDER",
        "DISCRIMINATORY_LANGUAGE",
        "PII_SSN",
        "PII_CARD",
    ]
    spans = {error["code"]: body[error["start"] : error["end"]] for error in verdict.errors}
    assert spans == {
        "UNRESOLVED_PLACEHOLDER": "[NAME]",
        "DISCRIMINATORY_LANGUAGE": "young workers",
        "PII_SSN": "219-09-9999",
        "PII_CARD": "4111 1111 1111 1111",
    }


def test_discriminatory_message_names_the_protected_class(validator: EmailValidator) -> None:
    expectations = {
        "Must be under 40.": "age",
        "Female only.": "sex",
        "No pregnant applicants.": "pregnancy",
        "Native English speaker.": "national origin",
        "Christians only.": "religion",
        "Able-bodied only.": "disability",
    }
    for body, category in expectations.items():
        [error] = validator.validate("email", "Shift", body, None, None).errors
        assert error["code"] == "DISCRIMINATORY_LANGUAGE"
        assert category in error["message"], body


# --- warnings -------------------------------------------------------------------------------------


def test_warnings_never_fail_and_carry_spans(validator: EmailValidator) -> None:
    body = "URGENT SHIFT TONIGHT!!! Details bit.ly/abc. Reply STOP to opt out"
    verdict = validator.validate("sms", None, body, None, None)
    assert verdict.ok
    by_code = {warning["code"]: warning for warning in verdict.warnings}
    assert set(by_code) == {"ALL_CAPS", "EXCLAMATION_OVERLOAD", "LINK_SHORTENER"}
    assert body[by_code["ALL_CAPS"]["start"] : by_code["ALL_CAPS"]["end"]] == "URGENT SHIFT TONIGHT"
    assert body[by_code["EXCLAMATION_OVERLOAD"]["start"] : by_code["EXCLAMATION_OVERLOAD"]["end"]] == "!!!"
    assert body[by_code["LINK_SHORTENER"]["start"] : by_code["LINK_SHORTENER"]["end"]] == "bit.ly/abc."
    assert [warning["start"] for warning in verdict.warnings] == sorted(w["start"] for w in verdict.warnings)


def test_mostly_capitals_is_shouting_even_without_a_long_run(validator: EmailValidator) -> None:
    verdict = validator.validate("email", "Shift", "HI ANA. SHIFT AT 7. BE ON TIME. THANKS.", None, None)
    assert [warning["code"] for warning in verdict.warnings] == ["ALL_CAPS"]


def test_calm_text_has_no_warnings(validator: EmailValidator) -> None:
    verdict = validator.validate("email", "Shift", "Great news! Shift Monday with the CNA, RN, LPN team.", None, None)
    assert verdict.warnings == []


# --- robustness -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "\x00\x01\x02",
        "\ud800\udfff lone surrogates",
        "👍" * 5000,
        "9" * 50_000,
        "-" * 10_000 + "1",
        "{" * 5000 + "}" * 5000,
        "[" * 5000,
        "%" * 5000 + "s",
        "a@" * 5000,
        "Ⅻ ٢١٩٠٩٩٩٩٩ ＳＳＮ",
    ],
)
def test_never_raises_on_hostile_text(validator: EmailValidator, body: str) -> None:
    for kind in ("email", "sms"):
        recipient = {"worker_id": 7, "found": True, "status": 3}
        verdict = validator.validate(kind, body, body, recipient, {"worker_contacts": 5})
        assert isinstance(verdict.to_dict()["ok"], bool)


def test_odd_recipient_and_context_shapes_are_tolerated(validator: EmailValidator) -> None:
    assert validator.validate("sms", None, CLASSIC_SMS, "W-1", ["not", "a", "dict"]).ok  # type: ignore[arg-type]
    context = {"worker_contacts": {"+15559876543": ["W-2", "W-3"], 42: "W-4"}, "agency_phones": None}
    verdict = validator.validate("sms", None, "Bob 555-987-6543 Reply STOP", RECIPIENT, context)
    assert codes(verdict) == ["PII_OTHER_WORKER"]
    assert "W-2, W-3" in verdict.errors[0]["message"]
