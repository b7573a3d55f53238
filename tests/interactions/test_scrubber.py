"""The secret scrubber (apps.interactions.scrubber) on a table of credentials that must go and of
look-alikes that must survive untouched. Pure: no database."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from apps.interactions.scrubber import ScrubSecretsFilter, scrub, scrub_text

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75eUn0Vm8zQ1aBcDeFgHiJkLmNoPqRsTuVwXyZ\n"
    "q8s9F0Gx+Hk2lN3b4A==\n-----END RSA PRIVATE KEY-----"
)

# (text, the secret that must be gone afterwards)
POSITIVES: list[tuple[str, str]] = [
    # sk- keys (OpenAI, Stripe, Anthropic shapes)
    ("sk-live-abc123DEF456ghi789JKL012mno345", "abc123DEF456ghi789JKL012mno345"),
    ("key sk-live-abc123DEF456ghi789JKL012mno345 leaked", "abc123DEF456ghi789JKL012mno345"),
    ("sk-test-4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
    ("sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34", "Ab12Cd34Ef56Gh78Ij90Kl12Mn34"),
    ("sk-ABCDEFGHIJKLMNOP1234567890abcdef", "ABCDEFGHIJKLMNOP1234567890abcdef"),
    ("sk_live_51H8xYZabcdefghijklmnop", "51H8xYZabcdefghijklmnop"),
    ("sk_test_BQokikJOvBiI2HlWgH4olfQ2", "BQokikJOvBiI2HlWgH4olfQ2"),
    ("rk_live_51H8xYZabcdefghijklmnop", "51H8xYZabcdefghijklmnop"),
    ("sk-ant-api03-AbCdEf0123456789GhIjKl", "AbCdEf0123456789GhIjKl"),
    ("(sk-1234567890abcdefghij)", "1234567890abcdefghij"),
    ('{"key": "sk-live-abc123DEF456ghi789JKL012mno345"}', "abc123DEF456ghi789JKL012mno345"),
    # AWS
    ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("aws key AKIAJ5Q7R2D9EXAMPLE1 in config", "AKIAJ5Q7R2D9EXAMPLE1"),
    ("ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("id=AKIAIOSFODNN7EXAMPLE;", "AKIAIOSFODNN7EXAMPLE"),
    # GitHub
    ("ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ", "ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ"),
    ("token ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 here", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    ("gho_16C7e42F292c6912E7710c838347Ae178B4a", "gho_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("ghs_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "ghs_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_11ABCDEFG0123456789"),
    # Slack
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-123456789012"),
    ("xoxp-1234-5678-9012-abcdefabcdef", "xoxp-1234-5678"),
    ("xoxa-2-abcdef1234567890", "xoxa-2-abcdef1234567890"),
    ("xoxr-refresh-0987654321abc", "xoxr-refresh-0987654321abc"),
    # JWT
    (JWT, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    (f"session={JWT}", "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"),
    (f"cookie jar: {JWT} end", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"),
    # name=value pairs
    ("api_key=sk-live-abc123DEF456ghi789JKL012mno345", "abc123DEF456ghi789JKL012mno345"),
    ("api_key=plainvalue", "plainvalue"),
    ("apikey=hunter2hunter2", "hunter2hunter2"),
    ("API-KEY: 0123456789abcdef", "0123456789abcdef"),
    ("https://api.example.com/v1?apikey=zzzTOPzzz&q=forklift", "zzzTOPzzz"),
    ("password=hunter2", "hunter2"),
    ("PASSWORD = 'correct horse battery staple'", "correct horse battery staple"),
    ('password: "s3cr3t pass"', "s3cr3t pass"),
    ("db_password=Pa55w0rd!", "Pa55w0rd!"),
    ("secret=topsecretvalue", "topsecretvalue"),
    ("client_secret=abcXYZ987", "abcXYZ987"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("token=abcdef", "abcdef"),
    ("auth_token=9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
    ("access_token: ya29.a0AfH6SMBexample", "ya29.a0AfH6SMBexample"),
    ("refresh_token=1//0gExampleRefresh", "1//0gExampleRefresh"),
    ('{"password": "hunter2"} as text', "hunter2"),
    ("pwd=letmein99", "letmein99"),
    ("credentials: admin-pass-77", "admin-pass-77"),
    # headers
    ("Authorization: Bearer abc.def.ghi123", "abc.def.ghi123"),
    ("Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
    ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("authorization=Digest username=bob, nonce=abc", "username=bob"),
    ("Proxy-Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", "YWxhZGRpbjpvcGVuc2VzYW1l"),
    ("curl -H 'Authorization: Bearer tok_12345678' https://x", "tok_12345678"),
    ("Bearer 0123456789abcdef", "0123456789abcdef"),
    ("bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"),
    ("Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
    ("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
    # PEM private keys
    (PEM, "MIIEpAIBAAKCAQEA75eUn0Vm8zQ1aBcDeFgHiJkLmNoPqRsTuVwXyZ"),
    ("key:\n-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\nthanks", "MC4CAQAwBQYDK2VwBCIEIA=="),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAA"),
    ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49 (cut off", "MHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY"),
    ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkq\n-----END ENCRYPTED PRIVATE KEY-----", "MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkq"),
    # SSNs and cards: masked with the validators' detectors
    ("SSN 123-45-6789", "123-45-6789"),
    ("her social is 078 05 1120, call me", "078 05 1120"),
    ("ssn: 219099999", "219099999"),
    ("card 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111"),
    ("pay with 5500-0000-0000-0004", "5500-0000-0000-0004"),
    ("amex 378282246310005", "378282246310005"),
    ("Visa: 4012888888881881.", "4012888888881881"),
]

NEAR_MISSES: list[str] = [
    # order, worker, sku and other ids
    "JO-1003", "order JO-1003 for Columbus", "W-000123", "worker W-000123 and W-004567", "sku-12345",
    "sku-forklift-2024-blue", "SKU-00042", "PO-2024-0001", "INV-000123", "ticket #45321",
    "task-runner-2024-12-01-report", "risk-assessment-2024-report-v2", "desk-booking-system-2024",
    "ask-a-question-2024-thread", "sk-12", "sk-short", "skills: forklift, OSHA-10", "sk-learn-tutorial-for-beginners",
    # phones
    "555-123-4567", "(555) 123-4567", "+1 555 123 4567", "call 614-555-0199 ext. 12", "5551234567",
    # dates, times, zip codes, money
    "2026-11-27", "11/27/2026", "2026-11-27T08:00:00Z", "shift 07:00-15:30", "43215", "ZIP 43215-1234",
    "OH 432151234", "$1,234.56", "pay 18.50/hr", "2024-219-09-9999",
    # words that look like the labels, without a credential
    "Bearer of bad news", "Bearer instruments", "Token ring network", "basic forklift training",
    "Basic information about the shift", "password reset requested by the coordinator",
    "the secret to a good shift is coffee", "token economy", "prompt_tokens: 512", "completion_tokens=64",
    "max_tokens=256", "tokens_estimated: true", "api keys are managed by IT", "keyboard operator",
    "Authorization form signed", "authorization pending",
    # things with eyJ/AKIA/ghp/xox fragments that are not credentials
    "eyJ alone", "eyJhbGciOi.notajwt", "AKIA short", "AKIAlowercase1234567890", "ghp_short",
    "xox-not-slack", "xoxo hugs", "github_pat_short",
    # PEM that is not a private key
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
    # people and places
    "Maria Lopez, forklift operator, Columbus OH", "jane.doe@example.com", "cert: OSHA-30, CDL-A",
    "build 1.2.3-rc4", "uuid 3f2504e0-4f89-11d3-9a0c-0305e82c3301", "room 101, floor 3",
]


@pytest.mark.parametrize("text, secret", POSITIVES, ids=[f"pos{i:02d}" for i in range(len(POSITIVES))])
def test_every_secret_shape_is_masked(text: str, secret: str) -> None:
    scrubbed = scrub_text(text)
    assert secret not in scrubbed, scrubbed
    assert "[REDACTED]" in scrubbed or "[SSN]" in scrubbed or "[CARD]" in scrubbed
    assert scrub_text(scrubbed) == scrubbed  # scrubbing twice changes nothing


@pytest.mark.parametrize("text", NEAR_MISSES, ids=[f"neg{i:02d}" for i in range(len(NEAR_MISSES))])
def test_near_misses_survive_untouched(text: str) -> None:
    assert scrub_text(text) == text


def test_the_corpus_is_big_enough() -> None:
    assert len(POSITIVES) >= 60 and len(NEAR_MISSES) >= 60


def test_labels_stay_so_a_reader_sees_what_was_there() -> None:
    assert scrub_text("api_key=abc123 and Bearer 0123456789abcdef") == "api_key=[REDACTED] and Bearer [REDACTED]"
    assert scrub_text("SSN 123-45-6789, phone 555-123-4567") == "SSN [SSN], phone 555-123-4567"


def test_json_values_are_scrubbed_keys_and_all() -> None:
    value = {
        "query": "forklift api_key=sk-live-abc123DEF456ghi789JKL012mno345",
        "api_key": "anything at all",
        "X-Api-Key": 12345,
        "password": None,
        "prompt_tokens": 12,
        "filters": {"city": "Columbus", "notes": ["SSN 123-45-6789", "AKIAIOSFODNN7EXAMPLE"]},
        "sk-live-abc123DEF456ghi789JKL012mno345": "a secret as a key",
        "worker_ids": ["W-000123"],
        "k": 10,
        "ok": True,
    }
    assert scrub(value) == {
        "query": "forklift api_key=[REDACTED]",
        "api_key": "[REDACTED]",
        "X-Api-Key": "[REDACTED]",
        "password": None,
        "prompt_tokens": 12,
        "filters": {"city": "Columbus", "notes": ["SSN [SSN]", "[REDACTED]"]},
        "[REDACTED]": "a secret as a key",
        "worker_ids": ["W-000123"],
        "k": 10,
        "ok": True,
    }


def test_log_lines_are_scrubbed_arguments_and_tracebacks_too() -> None:
    logger = logging.getLogger("tests.scrubber")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(ScrubSecretsFilter())
    logger.addHandler(handler)
    try:
        logger.warning("calling with %s", "Authorization: Bearer sk-live-abc123DEF456ghi789JKL012mno345")
        try:
            raise ValueError("bad key AKIAIOSFODNN7EXAMPLE")
        except ValueError:
            logger.exception("failed for SSN %s", "123-45-6789")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(logging.Formatter().format(record) for record in records)
    for secret in ("abc123DEF456ghi789JKL012mno345", "AKIAIOSFODNN7EXAMPLE", "123-45-6789"):
        assert secret not in text
    assert "ValueError" in text and "[REDACTED]" in text and "[SSN]" in text


def test_the_scrubber_imports_no_django() -> None:
    code = (
        "import sys\nimport apps.interactions.scrubber, apps.core.detectors\n"
        "leaked = sorted(name for name in sys.modules if name.split('.')[0] in ('django', 'rest_framework'))\n"
        "assert not leaked, leaked\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
