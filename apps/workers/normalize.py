"""Validate and normalize one worker source row (SPEC §3.1, §4.1). Pure: no Django, no I/O.

`normalize_row(raw)` returns either a `NormalizedRow` (typed, canonical values plus a content hash
and any warnings) or a `Rejection` naming every problem found. The distinction follows the SPEC: a
row that would put wrong data in the corpus (no id, unknown state, unparsable date, a value of the
wrong type) is rejected; a row that is merely missing a usable contact detail (unparseable phone,
invalid email) is kept with that field empty and a warning.

Values may come as text (CSV), JSON types (JSON Lines) or Arrow types (Parquet); the same row read
from any of them normalizes to the same values and the same `content_hash`.
"""

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import phonenumbers
import us

from apps.workers import vocabulary as vocab
from apps.workers.sources import PARSE_ERROR_KEY

# Part of every content hash: bump it when a normalization rule changes, so the next ingest sees
# every row as changed and re-embeds it with the new rules.
NORMALIZATION_VERSION = 1

WORKER_FIELDS: tuple[str, ...] = vocab.SOURCE_COLUMNS
# Plausibility bounds: beyond them a value is a data-entry error, not a fact about a worker.
MAX_YEARS_EXPERIENCE = 80
MAX_HOURLY_RATE = Decimal("9999.99")

# USPS codes and names of the states, DC and the inhabited territories. An exact table rather than
# us.states.lookup(): lookup matches names by metaphone, so a typo could silently become a
# different state; an unknown value must be rejected instead.
USPS_CODES: frozenset[str] = frozenset(state.abbr for state in us.states.STATES_AND_TERRITORIES)
_STATE_CODE_BY_NAME: dict[str, str] = {state.name.casefold(): state.abbr for state in us.states.STATES_AND_TERRITORIES}

# "Obviously invalid" only: one @, something before it, a dotted domain, no spaces. Deliverability
# is not knowable offline.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ZIP = re.compile(r"\d{5}(-\d{4})?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_NON_IDENTIFIER = re.compile(r"[^a-z0-9]+")
_CENTS = Decimal("0.01")
# PostgreSQL text and jsonb take neither a NUL character nor a lone UTF-16 surrogate (the latter is
# not even encodable as UTF-8): one such value used to fail the whole batch's COPY, so the whole job.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_LIST_FIELDS = frozenset({"skills", "certifications", "shift_preference"})
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True, slots=True)
class NormalizedRow:
    """A valid worker row: the SPEC §3.1 fields, canonical, plus provenance."""

    worker_id: str
    first_name: str
    last_name: str
    email: str
    phone: str  # E.164 or ""
    city: str
    state: str  # USPS code, upper case
    zip: str
    role: str  # lower snake case
    skills: list[str]
    certifications: list[str]
    shift_preference: list[str]
    available_from: date | None  # None = available now
    years_experience: int | None  # None = not given
    hourly_rate: Decimal | None
    reliability: float | None
    status: str
    sms_opt_out: bool
    bio: str
    raw: dict[str, Any]  # the source row as read, JSON-safe (for a jsonb column), unknown columns included
    content_hash: str
    warnings: list[str] = field(default_factory=list)

    def worker_fields(self) -> dict[str, Any]:
        """The SPEC §3.1 field values, keyed by field name (for building or updating a Worker)."""
        return {name: getattr(self, name) for name in WORKER_FIELDS}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that must not be ingested, and why (every problem found, joined by '; ')."""

    worker_id: str | None
    reason: str


class _Invalid(ValueError):
    """A field value that makes the row unacceptable; its message is the rejection reason."""


def normalize_row(raw: Mapping[str, Any]) -> NormalizedRow | Rejection:
    """Validate and normalize one source row."""
    if not isinstance(raw, Mapping):
        return Rejection(None, f"expected a row of columns, found {type(raw).__name__}")
    raw_id = raw.get("worker_id")
    worker_id = None if _is_container(raw_id) else _storable(_text(raw_id)) or None
    if PARSE_ERROR_KEY in raw:
        return Rejection(worker_id, str(raw[PARSE_ERROR_KEY]))
    unstorable = _unstorable_column(raw)
    if unstorable is not None:
        return Rejection(worker_id, unstorable)

    problems: list[str] = []
    warnings: list[str] = []
    if _is_container(raw_id):
        problems.append(f"worker_id must be a single value, found {_kind(raw_id)}")
    elif worker_id is None:
        problems.append("missing worker_id")
    values: dict[str, Any] = {"worker_id": worker_id}
    for name, parse in _FIELD_PARSERS.items():
        value = raw.get(name)
        shape = _shape_problem(name, value)
        if shape is not None:
            problems.append(shape)
            continue
        try:
            values[name] = parse(value, warnings)
        except _Invalid as problem:
            problems.append(str(problem))
    if problems:
        return Rejection(worker_id, "; ".join(problems))
    return NormalizedRow(**values, raw=_json_safe_row(raw), content_hash=content_hash(values), warnings=warnings)


def _is_container(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple, set))


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, Mapping) else "a list"


def _shape_problem(name: str, value: Any) -> str | None:
    """A JSON object where text belongs used to be stored as its Python repr; it is a bad row."""
    if name in _LIST_FIELDS:
        if isinstance(value, Mapping):
            return f"{name} must be a list of values, found an object"
        if isinstance(value, (list, tuple)) and any(_is_container(item) for item in value):
            return f"{name} must be a list of values, found a nested {'object' if any(isinstance(i, Mapping) for i in value) else 'list'}"
        return None
    if _is_container(value):
        return f"{name} must be a single value, found {_kind(value)}"
    return None


def _storable(text: str) -> str:
    """Text safe to put in an error report (jsonb): NUL and lone surrogates escaped."""
    if not _UNSTORABLE.search(text):
        return text
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _unstorable_column(raw: Mapping[str, Any]) -> str | None:
    """The first column (by name) holding text the database cannot store, as a rejection reason."""
    for column, value in raw.items():
        stack = [column, value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                found = _UNSTORABLE.search(item)
            elif isinstance(item, bytes):
                found = b"\x00" in item
            elif isinstance(item, Mapping):
                stack.extend(item.keys())
                stack.extend(item.values())
                continue
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
                continue
            else:
                continue
            if found:
                name = _storable(str(column))
                if isinstance(item, str) and found.group() != "\x00":
                    return f"column {name!r} holds invalid Unicode (a lone surrogate)"
                return f"column {name!r} holds a NUL character"
    return None


def content_hash(values: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the normalized worker fields (sorted keys, ISO dates)."""
    payload = {name: values[name] for name in WORKER_FIELDS}
    payload["normalization_version"] = NORMALIZATION_VERSION
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_canonical)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def normalize_phone(value: Any) -> tuple[str, str | None]:
    """Return (E.164 phone or "", warning or None). Fictional 555 numbers count as valid.

    phonenumbers.is_valid_number() follows number-assignment metadata (fictional and unassigned
    ranges fail it, and the metadata changes between releases), so it cannot be the test here. A
    North American number is country code 1 plus ten digits whose area code and exchange start
    with 2–9 (the NANP format rule).
    """
    text = _text(value)
    if not text:
        return "", None
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return "", f"unparseable phone {text!r}, stored empty"
    national = str(number.national_number)
    if number.country_code != 1:
        return "", f"phone {text!r} is not a North American number, stored empty"
    if len(national) != 10 or national[0] in "01" or national[3] in "01" or not phonenumbers.is_possible_number(number):
        return "", f"unparseable phone {text!r}, stored empty"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        return e164, f"phone extension {number.extension!r} dropped from {text!r}"
    return e164, None


def normalize_city(value: Any) -> str:
    """Trim and collapse spaces; fix the case only of all-lower or all-upper spellings.

    Mixed case ("McAllen", "DeKalb") is deliberate and kept. Search filters use this too, so a
    filter value matches the stored spelling.
    """
    city = " ".join(_text(value).split())
    if city.islower() or city.isupper():
        return city.title()
    return city


def normalize_state(value: Any) -> str | None:
    """USPS code (upper case) for a code or full name, e.g. "oh" or "Ohio" → "OH"; None if unknown."""
    text = " ".join(_text(value).split())
    if text.upper() in USPS_CODES:
        return text.upper()
    return _STATE_CODE_BY_NAME.get(text.casefold())


def normalize_role(value: Any) -> str:
    """Lower snake case: "Forklift Operator" → "forklift_operator", "picker/packer" → "picker_packer"."""
    return _NON_IDENTIFIER.sub("_", _text(value).lower()).strip("_")


# --- field parsers: (value, warnings) -> normalized value, or raise _Invalid ------------------------------------


def _text(value: Any) -> str:
    """Any scalar as trimmed text; None and NaN as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        # 43215.0 or 6145550134.0 from a spreadsheet round trip mean the integer.
        if value.is_integer():
            return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _name(value: Any, warnings: list[str]) -> str:
    return " ".join(_text(value).split())


def _bio(value: Any, warnings: list[str]) -> str:
    return _text(value)


def _city(value: Any, warnings: list[str]) -> str:
    return normalize_city(value)


def _state(value: Any, warnings: list[str]) -> str:
    text = _text(value)
    if not text:
        raise _Invalid("missing state")
    code = normalize_state(text)
    if code is None:
        raise _Invalid(f"unknown state {text!r}")
    return code


def _zip(value: Any, warnings: list[str]) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:05d}"  # 2134 from a numeric column was "02134"
    text = _text(value)
    if not text or _ZIP.fullmatch(text):
        return text
    if text.isdigit() and len(text) == 9:
        return f"{text[:5]}-{text[5:]}"
    warnings.append(f"invalid zip {text!r}, stored empty")
    return ""


def _phone(value: Any, warnings: list[str]) -> str:
    phone, warning = normalize_phone(value)
    if warning:
        warnings.append(warning)
    return phone


def _email(value: Any, warnings: list[str]) -> str:
    email = _text(value).lower()
    if email and not _EMAIL.fullmatch(email):
        warnings.append(f"invalid email {email!r}, stored empty")
        return ""
    return email


def _role(value: Any, warnings: list[str]) -> str:
    role = normalize_role(value)
    # Kept even when unknown: the vocabulary grows, and a new role is no reason to lose a worker.
    if not role:
        warnings.append("missing role")
    elif role not in vocab.ROLE_TITLES:
        warnings.append(f"role {role!r} is not in the vocabulary")
    return role


def _items(value: Any) -> list[str]:
    """List cells arrive as lists (JSON Lines, Parquet) or ';'-separated text (CSV)."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.split(vocab.LIST_SEPARATOR)
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        parts = [value]
    return [item for item in (" ".join(_text(part).split()) for part in parts) if item]


def _deduplicated(items: list[str], key=lambda item: item) -> list[str]:
    seen: set[str] = set()
    unique = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            unique.append(item)
    return unique


def _skills(value: Any, warnings: list[str]) -> list[str]:
    return _deduplicated([item.lower() for item in _items(value)])


def _certifications(value: Any, warnings: list[str]) -> list[str]:
    # Case is kept ("OSHA-10"), but "osha-10" after "OSHA-10" is the same certification.
    return _deduplicated(_items(value), key=str.casefold)


def _shifts(value: Any, warnings: list[str]) -> list[str]:
    shifts = _deduplicated([item.lower() for item in _items(value)])
    for shift in shifts:
        if shift not in vocab.SHIFTS:
            raise _Invalid(f"unknown shift {shift!r} in shift_preference")
    return shifts


def _available_from(value: Any, warnings: list[str]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    us_date = _US_DATE.fullmatch(text)  # 12/01/2026, as US spreadsheets write dates
    if us_date:
        month, day, year = (int(part) for part in us_date.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise _Invalid(f"unparsable date {text!r} in available_from")


def _years_experience(value: Any, warnings: list[str]) -> int | None:
    if value is None or value == "":
        return None
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip()) if value.strip() else None
        except ValueError:
            raise _Invalid(f"invalid years_experience {value!r}") from None
        if number is None:
            return None
    if isinstance(number, bool) or not isinstance(number, (int, float, Decimal)):
        raise _Invalid(f"invalid years_experience {value!r}")
    # The upper bound catches a year typed into the wrong column ("2015").
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= MAX_YEARS_EXPERIENCE:
        raise _Invalid(f"invalid years_experience {value!r} (expected a whole number from 0 to {MAX_YEARS_EXPERIENCE})")
    return int(number)


def _hourly_rate(value: Any, warnings: list[str]) -> Decimal | None:
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise _Invalid(f"invalid hourly_rate {value!r}")
    if isinstance(value, float):
        text = repr(value)  # shortest round-trip form: 18.57, not 18.5699999…
    else:
        text = _text(value).removeprefix("$").replace(",", "")
    if not text:
        return None
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise _Invalid(f"invalid hourly_rate {value!r}") from None
    if not rate.is_finite() or not 0 <= rate <= MAX_HOURLY_RATE:
        raise _Invalid(f"invalid hourly_rate {value!r} (expected an amount from 0 to {MAX_HOURLY_RATE})")
    return rate.quantize(_CENTS, rounding=ROUND_HALF_UP)


def _reliability(value: Any, warnings: list[str]) -> float | None:
    if isinstance(value, bool):
        raise _Invalid(f"invalid reliability {value!r}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        reliability = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise _Invalid(f"invalid reliability {value!r}") from None
    if not 0.0 <= reliability <= 1.0:  # also false for NaN
        raise _Invalid(f"invalid reliability {value!r} (expected a number from 0 to 1)")
    return reliability


def _status(value: Any, warnings: list[str]) -> str:
    status = _NON_IDENTIFIER.sub("_", _text(value).lower()).strip("_")  # "Do Not Contact" → do_not_contact
    if not status:
        return vocab.DEFAULT_STATUS
    if status not in vocab.STATUSES:
        raise _Invalid(f"unknown status {_text(value)!r}")
    return status


def _sms_opt_out(value: Any, warnings: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = _text(value).lower()
    if not text or text in _FALSE:
        return False
    if text in _TRUE:
        return True
    raise _Invalid(f"invalid sms_opt_out {value!r}")


_FIELD_PARSERS = {
    "first_name": _name,
    "last_name": _name,
    "email": _email,
    "phone": _phone,
    "city": _city,
    "state": _state,
    "zip": _zip,
    "role": _role,
    "skills": _skills,
    "certifications": _certifications,
    "shift_preference": _shifts,
    "available_from": _available_from,
    "years_experience": _years_experience,
    "hourly_rate": _hourly_rate,
    "reliability": _reliability,
    "status": _status,
    "sms_opt_out": _sms_opt_out,
    "bio": _bio,
}


# --- JSON ---------------------------------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """json.dumps fallback for the normalized types: dates as ISO text, money as fixed-point text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot canonicalize {type(value).__name__}")


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # jsonb has no NaN
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "item"):  # numpy scalars
        return _json_safe(value.item())
    return str(value)  # Decimal and anything else: lossless as text


def _json_safe_row(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key): _json_safe(value) for key, value in raw.items()}
