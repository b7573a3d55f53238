"""The one secret scrubber (SPEC §3.5): applied to user-supplied text before it is written anywhere —
interaction rows, playbooks, evidence records and their files, log lines.

Credentials of every common shape become ``[REDACTED]`` and SSNs and card numbers become ``[SSN]`` /
``[CARD]``, using the detectors in ``apps.core.detectors`` (the same ones the validators use).
Phones and emails are left alone here: outreach requests are about them, and the evidence files
mask them separately. Plain Python, no Django import; scrubbing twice changes nothing.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from apps.core.detectors import NEVER_STORED_KINDS, SECRET_MASK, mask_pii, mask_secrets

# Dict keys whose value is a credential whatever it looks like ("api_key", "X-Api-Key", "auth_token",
# "password"...). Whole words only: "prompt_tokens" and "max_tokens" are counts, not credentials.
_SECRET_KEY = re.compile(
    r"(?i)^(?:.*[_.\- ])?(?:api[_\- ]?key|apikey|access[_\- ]?key|secret(?:[_\- ]?key)?|client[_\- ]?secret|password"
    r"|passwd|pwd|token|access[_\- ]?token|auth[_\- ]?token|refresh[_\- ]?token|private[_\- ]?key|authorization"
    r"|credentials?|cookie)$"
)


@lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """True for a dict key whose value is a credential whatever it looks like (``api_key``, ``password``)."""
    return bool(_SECRET_KEY.match(name))


def scrub_text(text: str) -> str:
    """``text`` without credentials, SSNs or card numbers."""
    if not isinstance(text, str) or not text:
        return text
    if len(text) <= _MEMO_MAX_CHARS:
        return _scrub_short(text)
    return _scrub(text)


def _scrub(text: str) -> str:
    text, _ = mask_secrets(text)
    text, _ = mask_pii(text, NEVER_STORED_KINDS)
    return text


# Scrubbing is a pure function of the text, and an interaction row repeats the same short strings
# (keys, worker ids, cities) on every request: remembered, they cost a dict lookup instead of the
# detectors (the scrub was half of the interaction log's CPU under load, issue 18).
_MEMO_MAX_CHARS = 64
_scrub_short = lru_cache(maxsize=16384)(_scrub)


# Values with nothing to scrub, by exact type: every logged search carries a few dozen of them (ids
# and scores), and skipping the call for each halves the scrub's cost.
_PLAIN_TYPES = frozenset({int, float, bool, type(None)})


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value with every string scrubbed, keys included, and the whole value of a
    credential-named key (``{"api_key": ...}``) replaced by ``[REDACTED]``."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str):
                if is_secret_key(key) and item not in (None, "", SECRET_MASK):
                    out[scrub_text(key)] = SECRET_MASK
                    continue
                key = scrub_text(key)
            out[key] = item if type(item) in _PLAIN_TYPES else scrub(item)
        return out
    if isinstance(value, (list, tuple)):
        return [item if type(item) in _PLAIN_TYPES else scrub(item) for item in value]
    return value


class ScrubSecretsFilter(logging.Filter):
    """A logging filter that scrubs every record's message and arguments before any handler sees it
    (installed on the handlers in settings.LOGGING), so a secret never reaches a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                message = record.getMessage()
            except Exception:  # a malformed call: leave it to the handler to report, scrubbed below
                message = str(record.msg)
            record.msg, record.args = scrub_text(message), None
        elif isinstance(record.msg, str):
            record.msg = scrub_text(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        return True
