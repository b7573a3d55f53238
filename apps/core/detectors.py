"""The one definition of "what is an SSN / card number / email / phone / secret" in Lakehouse.

The outreach validator (and through it replay's checks of chat answers), the evidence
materializer's ``pii_redaction`` transform and the secret scrubber in front of every stored text
(``apps.interactions.scrubber``) all call these functions, so a number is PII, and a string is a
credential, in exactly the same cases everywhere. Plain Python: no Django import.

Detection rules (where SPEC §4.4 is silent, the choice is written next to the rule):

* **SSN** — ``NNN-NN-NNNN``, ``NNN NN NNNN`` or nine bare digits, with the same separator twice
  (any Unicode dash counts as ``-``, a no-break space as a space). The number must stand alone: not
  glued to letters or digits, and not continued by a digit-continuing separator (``-``, dashes,
  ``.``, ``/``, or its own separator, directly followed/preceded by a digit) — so phones in every
  format, decimals, order numbers like ``2024-219-09-9999`` and ZIP+4 are never SSNs. SSA rules
  apply (area not 000/666/900–999, group not 00, serial not 0000); the famous sample numbers
  ``078-05-1120`` and ``123-45-6789`` pass those rules and are reported like any other SSN.
  Nine *bare* digits right after a reference label (``Order #``, ``PO``, ``invoice``, ``ref``,
  ``ticket``, ``tracking``, ``zip``, a bare ``#`` or ``No.``…) or after an upper-case state code
  (``OH 432151234``, an undashed ZIP+4) are read as that reference, unless an SSN word (``SSN``,
  ``social security``, ``tax id``…) appears just before. Separated shapes are always reported: no
  real reference number is written like an SSN.
* **Card** — 13–19 digits, Luhn-valid, either bare or grouped the way cards are printed (groups of
  four with a shorter last group, or the 4-6-5 / 4-6-4 Amex/Diners layout), one kind of separator
  (space or dash). A card glued to other numbers by a space or dash (``4111 1111 1111 1111 12/27``,
  ``555-123-4567 4111 1111 1111 1111``) is still found: every run of digit groups is scanned for
  card-shaped windows. All-zero strings are not cards.
* **Email** — a pragmatic ``local@domain.tld`` (ASCII); values are lower-cased.
* **Phone** — North American numbers in every common layout (``555-123-4567``, ``(555) 123-4567``,
  ``555.123.4567``, ``555 123 4567``, ``5551234567``, ``+1 555 123 4567``, ``+15551234567``,
  ``1-555-123-4567``, ``1 (555) 123-4567``, an ``ext. 12`` suffix…), normalized to E.164
  ``+1NPANXXXXXX``. The area code must start with 2–9; the exchange may be anything, because the
  fictional ``555-123-4567`` that the demo corpus and the spec use has exchange ``123``.
  ``phonenumbers`` is deliberately not used here: it rejects 555 numbers and is far slower than one
  precompiled regex, and this runs on every string the materializer sees.

* **Secret** — credentials of the common shapes (SPEC §3.5): OpenAI/Stripe-style ``sk-``/``sk-live-``/
  ``sk_test_``… keys, AWS access key ids (``AKIA``/``ASIA``), GitHub tokens (``ghp_``… and
  ``github_pat_``), Slack tokens (``xox[abprs]-``), JWTs, ``api_key=``/``apikey=``/``password=``/
  ``secret=``/``token=`` pairs (``=`` or ``:``; the name may carry a prefix or suffix such as
  ``client_secret`` or ``auth_token``), ``Bearer``/``Token``/``Basic`` credentials and whole
  ``Authorization:`` header values, and PEM private key blocks. To spare ordinary words, a key body
  must contain a digit, and a header credential must contain a digit or ``=`` (``Bearer
  instruments`` stays). Only the credential is masked: the label before it (``api_key=``,
  ``Bearer``) is kept so a reader sees what was there.

Only ASCII digits count as digits (``\\d`` would also match other scripts' digits, which no US
number uses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PII_KINDS",
    "Span",
    "extract_contacts",
    "find_cards",
    "find_emails",
    "find_phones",
    "find_secrets",
    "find_ssns",
    "mask_pii",
    "mask_secrets",
    "normalize_email",
    "normalize_phone",
]

#: Kinds in masking priority order (when two findings overlap, the earlier kind wins a tie).
PII_KINDS: tuple[str, ...] = ("card", "ssn", "email", "phone")
#: What the stored-text scrubber masks besides secrets: the identifiers that must never be stored
#: (SPEC §3.5). Phones and emails stay, because outreach requests are about them.
NEVER_STORED_KINDS: tuple[str, ...] = ("card", "ssn")
SECRET_MASK = "[REDACTED]"

_MASK_TOKENS = {"ssn": "[SSN]", "card": "[CARD]", "email": "[EMAIL]", "phone": "[PHONE]"}
_PRIORITY = {kind: rank for rank, kind in enumerate(PII_KINDS)}


@dataclass(frozen=True, slots=True)
class Span:
    """One PII finding: ``text[start:end]`` is the matched text, ``value`` its normalized form."""

    kind: str
    start: int
    end: int
    text: str
    value: str


def _as_text(text: Any) -> str:
    """Callers sometimes hand us None or numbers from JSON; treat them as text instead of raising."""
    if isinstance(text, str):
        return text
    if text is None:
        return ""
    return str(text)


# --- shared character classes -------------------------------------------------------------------

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"  # hyphen-minus, hyphens, en/em dash, minus sign
_DASH_CLASS = "[" + re.escape(_DASHES) + "]"
# Separators that, sitting between a number and another digit, make both one longer number.
_CONTINUING_SEPARATORS = frozenset(_DASHES + "./")


def _is_ascii_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _continues_left(text: str, start: int, own_separator: str) -> bool:
    """True when the digits just before ``start`` belong to the same number (``12-|219...``)."""
    if start >= 2:
        sep = text[start - 1]
        if (sep in _CONTINUING_SEPARATORS or (own_separator and sep == own_separator)) and _is_ascii_digit(
            text[start - 2]
        ):
            return True
    return False


def _continues_right(text: str, end: int, own_separator: str) -> bool:
    """True when the digits just after ``end`` belong to the same number (``...9999|-12``)."""
    if end + 1 < len(text):
        sep = text[end]
        if (sep in _CONTINUING_SEPARATORS or (own_separator and sep == own_separator)) and _is_ascii_digit(
            text[end + 1]
        ):
            return True
    return False


# --- SSN ------------------------------------------------------------------------------------------

_SSN_RE = re.compile(
    r"(?<![\w+$])"  # not glued to a word, a digit, a "+" (phone prefix) or "$" (an amount)
    r"(?P<area>[0-9]{3})"
    r"(?P<sep>" + _DASH_CLASS + r"|[ \u00a0]|)"  # empty alternative = nine bare digits
    r"(?P<group>[0-9]{2})"
    r"(?P=sep)"  # the same separator both times: 219-09 9999 is not an SSN shape
    r"(?P<serial>[0-9]{4})"
    r"(?!\w)"
)
# Nine bare digits right after one of these labels are a reference number, not an SSN.
_REFERENCE_LABEL_BEFORE = re.compile(
    r"(?:\b(?:order|po|p\.o\.|purchase\s+order|invoice|inv|ref|reference|ticket|confirmation|conf"
    r"|tracking|booking|job|req|requisition|zip(?:\s*code)?|postal\s+code)\b\.?"
    r"\s*(?:no\.?|number|num|id)?\s*[:#]?\s*#?\s*"
    r"|#\s*|\bno\.\s*)$",
    re.IGNORECASE,
)
# "OH 432151234": a state code followed by nine digits is an undashed ZIP+4.
_STATE_CODE_BEFORE = re.compile(
    r"\b(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV"
    r"|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP),?\s+$"
)
_SSN_CONTEXT_BEFORE = re.compile(
    r"\b(?:ssn|ss#|ss\s*no|social(?:\s+security)?|tin|taxpayer|tax\s*id)\b", re.IGNORECASE
)
_LABEL_WINDOW = 32  # characters looked at before a bare nine-digit number
_CONTEXT_WINDOW = 40  # characters in which an SSN word overrides a reference label


def _ssa_valid(area: str, group: str, serial: str) -> bool:
    """The SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    return not (area == "000" or area == "666" or area[0] == "9" or group == "00" or serial == "0000")


def _bare_digits_are_reference(text: str, start: int) -> bool:
    before = text[max(0, start - _LABEL_WINDOW) : start]
    if not (_REFERENCE_LABEL_BEFORE.search(before) or _STATE_CODE_BEFORE.search(before)):
        return False
    return not _SSN_CONTEXT_BEFORE.search(text, max(0, start - _CONTEXT_WINDOW), start)


def find_ssns(text: str) -> list[Span]:
    """US Social Security numbers in ``text``; ``value`` is ``NNN-NN-NNNN``."""
    text = _as_text(text)
    spans: list[Span] = []
    for match in _SSN_RE.finditer(text):
        area, sep, group, serial = match.group("area", "sep", "group", "serial")
        if not _ssa_valid(area, group, serial):
            continue
        start, end = match.span()
        if _continues_left(text, start, sep) or _continues_right(text, end, sep):
            continue
        if not sep and _bare_digits_are_reference(text, start):
            continue
        spans.append(Span("ssn", start, end, match.group(), f"{area}-{group}-{serial}"))
    return spans


# --- payment cards --------------------------------------------------------------------------------

# A maximal run of digit groups joined by single spaces or dashes; card shape is checked in Python.
_DIGIT_RUN_RE = re.compile(r"[0-9]+(?:[ \-][0-9]+)*")
_GROUP_SEPARATOR_RE = re.compile(r"[ \-]")
_CARD_MIN_DIGITS, _CARD_MAX_DIGITS = 13, 19
_GROUPED_LAYOUTS = ((4, 6, 5), (4, 6, 4))  # Amex, Diners


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _card_shaped(groups: list[str], separators: list[str]) -> bool:
    digit_count = sum(len(group) for group in groups)
    if not _CARD_MIN_DIGITS <= digit_count <= _CARD_MAX_DIGITS:
        return False
    if len(groups) == 1:
        return True
    if len(set(separators)) != 1:
        return False
    sizes = tuple(len(group) for group in groups)
    if sizes in _GROUPED_LAYOUTS:
        return True
    # Groups of four, the last one possibly shorter (4-4-4-4, 4-4-4-4-3, 4-4-4-1 ...).
    return all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _cards_in_groups(
    groups: list[str], separators: list[str], *, left_open: bool, right_open: bool
) -> list[tuple[int, int]]:
    """Index ranges [i, j) of the groups of one digit run that form cards.

    Scans start groups left to right and takes the longest card-shaped, Luhn-valid window at each,
    so a card glued to a phone number or an expiry date, or two cards in a row, are all found. A run
    end that is glued to something else (``left_open``/``right_open`` false) cannot end a card.
    Windows hold at most 19 groups (each group has a digit), so this stays linear in the run.
    """
    count = len(groups)
    cumulative = [0]
    for group in groups:
        cumulative.append(cumulative[-1] + len(group))
    found: list[tuple[int, int]] = []
    i = 0
    while i < count:
        if i == 0 and not left_open:
            i += 1
            continue
        match = None
        # Every grouped layout starts with four digits; any other group can only be a bare card.
        longest = min(count, i + _CARD_MAX_DIGITS) if len(groups[i]) == 4 else i + 1
        for j in range(longest, i, -1):
            digit_count = cumulative[j] - cumulative[i]
            if digit_count > _CARD_MAX_DIGITS:
                continue
            if digit_count < _CARD_MIN_DIGITS:
                break
            if j == count and not right_open:
                continue
            window = groups[i:j]
            if _card_shaped(window, separators[i : j - 1]):
                digits = "".join(window)
                if digits.strip("0") and _luhn_valid(digits):
                    match = (i, j)
                    break
        if match is None:
            i += 1
        else:
            found.append(match)
            i = match[1]
    return found


def find_cards(text: str) -> list[Span]:
    """Luhn-valid payment card numbers in ``text``; ``value`` is the bare digits."""
    text = _as_text(text)
    spans: list[Span] = []
    for match in _DIGIT_RUN_RE.finditer(text):
        run = match.group()
        if len(run) < _CARD_MIN_DIGITS:
            continue
        start, end = match.span()
        groups = _GROUP_SEPARATOR_RE.split(run)
        separators = [char for char in run if char in " -"]
        # A letter, "_" or a decimal point/slash + digit glued to an end makes that end part of an
        # identifier, a decimal or a date, so no card can end there.
        left_open = not (
            start and (text[start - 1].isalnum() or text[start - 1] == "_" or _continues_left(text, start, ""))
        )
        right_open = not (
            end < len(text) and (text[end].isalnum() or text[end] == "_" or _continues_right(text, end, ""))
        )
        # Offsets of each group inside the text: every separator is one character.
        offsets = []
        cursor = start
        for group in groups:
            offsets.append(cursor)
            cursor += len(group) + 1
        for i, j in _cards_in_groups(groups, separators, left_open=left_open, right_open=right_open):
            card_start = offsets[i]
            card_end = offsets[j - 1] + len(groups[j - 1])
            spans.append(Span("card", card_start, card_end, text[card_start:card_end], "".join(groups[i:j])))
    return spans


# --- email ----------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    # The look-behind pins matches to the start of a local part, which keeps the scan linear on
    # long runs of word characters.
    r"(?<![\w.%+\-])"
    r"[A-Za-z0-9_%+\-](?:[A-Za-z0-9._%+\-]{0,63})"
    r"@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9\-])"
)


def normalize_email(raw: Any) -> str:
    """Lower-cased, stripped email; '' for anything that is not a string."""
    return raw.strip().lower() if isinstance(raw, str) else ""


def find_emails(text: str) -> list[Span]:
    """Email addresses in ``text``; ``value`` is lower-cased."""
    text = _as_text(text)
    if "@" not in text:
        return []
    return [Span("email", m.start(), m.end(), m.group(), m.group().lower()) for m in _EMAIL_RE.finditer(text)]


# --- phone ----------------------------------------------------------------------------------------

_PHONE_SEP = r"[ .\u00a0" + re.escape(_DASHES) + r"]"
_PHONE_RE = re.compile(
    r"(?<![\w+])"  # a "+1" prefix is consumed below, so "+5551234567" (not +1) never matches
    r"(?:\+\s?1" + _PHONE_SEP + r"?|1" + _PHONE_SEP + r"?)?"
    r"(?:\(\s?(?P<area_p>[2-9][0-9]{2})\s?\)\s?|(?P<area>[2-9][0-9]{2})" + _PHONE_SEP + r"?)"
    r"(?P<exchange>[0-9]{3})" + _PHONE_SEP + r"?"
    r"(?P<line>[0-9]{4})"
    r"(?:\s?,?\s?(?i:ext\.?|extension|x)\s?[0-9]{1,6})?"
    r"(?!\w)"
)


def find_phones(text: str) -> list[Span]:
    """North American phone numbers in ``text``; ``value`` is E.164 (``+15551234567``)."""
    text = _as_text(text)
    spans: list[Span] = []
    for match in _PHONE_RE.finditer(text):
        start, end = match.span()
        if _continues_left(text, start, "") or _continues_right(text, end, ""):
            continue
        area = match.group("area") or match.group("area_p")
        value = f"+1{area}{match.group('exchange')}{match.group('line')}"
        spans.append(Span("phone", start, end, match.group(), value))
    return spans


def normalize_phone(raw: Any) -> str | None:
    """E.164 form of a string that is exactly one North American phone number, else None."""
    if not isinstance(raw, str):
        return None
    stripped = raw.strip()
    spans = find_phones(stripped)
    if len(spans) == 1 and spans[0].start == 0 and spans[0].end == len(stripped):
        return spans[0].value
    return None


def extract_contacts(text: str) -> dict[str, set[str]]:
    """Normalized phones (E.164) and lower-cased emails found in ``text``."""
    return {
        "phones": {span.value for span in find_phones(text)},
        "emails": {span.value for span in find_emails(text)},
    }


# --- masking --------------------------------------------------------------------------------------

_MAY_HAVE_NUMBER = re.compile(r"[0-9]")


def _all_spans(text: str, kinds: tuple[str, ...]) -> list[Span]:
    spans: list[Span] = []
    if _MAY_HAVE_NUMBER.search(text):
        if "card" in kinds:
            spans += find_cards(text)
        if "ssn" in kinds:
            spans += find_ssns(text)
        if "phone" in kinds:
            spans += find_phones(text)
    if "email" in kinds and "@" in text:
        spans += find_emails(text)
    return spans


def _without_overlaps(spans: list[Span]) -> list[Span]:
    """Keep one finding per overlapping cluster: the longest, ties going to the higher-priority kind."""
    spans.sort(key=lambda span: (span.start, -(span.end - span.start), _PRIORITY[span.kind]))
    kept: list[Span] = []
    for span in spans:
        if kept and span.start < kept[-1].end:
            previous = kept[-1]
            longer = (span.end - span.start, -_PRIORITY[span.kind]) > (
                previous.end - previous.start,
                -_PRIORITY[previous.kind],
            )
            if longer:
                kept[-1] = span
            continue
        kept.append(span)
    return kept


def mask_pii(text: str, kinds: tuple[str, ...] = PII_KINDS) -> tuple[str, dict[str, int]]:
    """Replace SSNs, cards, emails and phones with ``[SSN]``, ``[CARD]``, ``[EMAIL]``, ``[PHONE]``.

    Returns the masked text and a count per kind (``ssn``, ``card``, ``email``, ``phone``; zeros
    included). Non-string input is returned unchanged with zero counts, so a caller can walk any JSON
    value without type checks. ``kinds`` limits what is masked (the stored-text scrubber masks only
    ``NEVER_STORED_KINDS``).
    """
    counts = {"ssn": 0, "card": 0, "email": 0, "phone": 0}
    if not isinstance(text, str):
        return text, counts
    spans = _all_spans(text, kinds)
    if not spans:
        return text, counts
    pieces: list[str] = []
    cursor = 0
    for span in _without_overlaps(spans):
        pieces.append(text[cursor : span.start])
        pieces.append(_MASK_TOKENS[span.kind])
        counts[span.kind] += 1
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces), counts


# --- secrets --------------------------------------------------------------------------------------

# Each pattern's group "secret" is the credential to mask; whatever else it matched (a label, a
# header scheme) is kept. Ordered so a whole PEM block or header value goes before its pieces. Each
# comes with the substrings (of the text, or of its lower-cased copy) without which it cannot match,
# and the separators a name=value shape needs:
# Python's re has no literal prefix to skip ahead with here, so checking those first keeps ordinary
# text at a few microseconds a string.
_CASED, _LOWER = "cased", "lower"
_NONE: tuple[str, ...] = ()
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[str, ...], tuple[str, ...]], ...] = (
    # PEM private key blocks (RSA, EC, OPENSSH, ENCRYPTED...), also when cut off before the END line.
    (
        re.compile(
            r"(?P<secret>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
            r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|.*\Z))",
            re.DOTALL,
        ),
        _CASED,
        ("PRIVATE KEY",),
        _NONE,
    ),
    # An Authorization header value, whatever its scheme: everything up to the end of the line.
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9])(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED\])"
            r"(?P<secret>[^\s\"',;][^\r\n\"',;]*)"
        ),
        _LOWER,
        ("authorization",),
        (":", "="),
    ),
    # JWT: base64url header and payload (both JSON objects, so both start "eyJ") and a signature.
    (re.compile(r"(?<![\w-])(?P<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"), _CASED, ("eyJ",), _NONE),
    # OpenAI / Anthropic / Stripe-style keys: sk-, sk-live-, sk-test-, sk-proj-, sk_live_, rk_live_...
    (
        re.compile(
            r"(?<![\w-])(?P<secret>(?:sk|rk)[-_](?:(?:live|test|proj|ant(?:-api\d\d)?|svcacct|admin)[-_])?"
            r"(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{16,})"
        ),
        _CASED,
        ("sk-", "sk_", "rk-", "rk_"),
        _NONE,
    ),
    # AWS access key ids (long-term AKIA, temporary ASIA).
    (re.compile(r"(?<![A-Za-z0-9])(?P<secret>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])"), _CASED, ("AKIA", "ASIA"), _NONE),
    # GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained (github_pat_).
    (
        re.compile(r"(?<![\w-])(?P<secret>(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}))"),
        _CASED,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        _NONE,
    ),
    # Slack tokens: bot, user, app, refresh, legacy.
    (re.compile(r"(?<![\w-])(?P<secret>xox[abeprs]-[A-Za-z0-9-]{10,})"), _CASED, ("xox",), _NONE),
    # name=value / name: value pairs whose name says credential (``db_password``, ``aws_secret_access_key``
    # and ``client_secret`` end in one); quoted values are masked whole.
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9])"
            r"(?:api[_-]?key|apikey|access[_-]?key|secret(?:[_-]?key)?|password|passwd|pwd"
            r"|token|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key|credentials?)"
            r"[\"']?\s*[:=]\s*(?!\[REDACTED\])"
            r"(?P<secret>\"[^\"\r\n]+\"|'[^'\r\n]+'|[^\s\"',;&)}\]]+)"
        ),
        _LOWER,
        ("key", "secret", "passw", "pwd", "token", "credential"),
        (":", "="),
    ),
    # Scheme + credential outside a header name: "Bearer abc.def", "Token 9944b09...", "Basic dXNl=".
    (
        re.compile(r"(?i)(?<![A-Za-z0-9])(?:bearer|token|basic)\s+(?P<secret>(?=[A-Za-z0-9._~+/=-]*[0-9=])[A-Za-z0-9._~+/-]{8,}=*)"),
        _LOWER,
        ("bearer", "token", "basic"),
        _NONE,
    ),
)


def find_secrets(text: str) -> list[Span]:
    """Credentials in ``text`` (kind ``secret``; ``value`` is the credential itself), without
    overlaps: a finding inside an earlier, larger one (a JWT inside a header) is dropped."""
    text = _as_text(text)
    lower = text.lower()
    found: list[Span] = []
    for pattern, case, triggers, separators in _SECRET_PATTERNS:
        haystack = lower if case == _LOWER else text
        if not any(trigger in haystack for trigger in triggers):
            continue
        if separators and not any(separator in text for separator in separators):
            continue  # a name=value pattern without any "=" or ":" in the text
        for match in pattern.finditer(text):
            start, end = match.span("secret")
            if match.group("secret") == SECRET_MASK:
                continue  # already masked: scrubbing twice changes nothing
            found.append(Span("secret", start, end, match.group("secret"), match.group("secret")))
    found.sort(key=lambda span: (span.start, -(span.end - span.start)))
    kept: list[Span] = []
    for span in found:
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def mask_secrets(text: str) -> tuple[str, int]:
    """``text`` with every credential replaced by ``[REDACTED]``, and how many there were."""
    if not isinstance(text, str):
        return text, 0
    spans = find_secrets(text)
    if not spans:
        return text, 0
    pieces: list[str] = []
    cursor = 0
    for span in spans:
        pieces.append(text[cursor : span.start])
        pieces.append(SECRET_MASK)
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces), len(spans)
