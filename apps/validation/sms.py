"""SMS length accounting: GSM-7 vs UCS-2 encoding and multipart segment counts.

A message is GSM-7 when every character is in the GSM 03.38 basic table or its extension table
(extension characters — ``^ { } \\ [ ] ~ | €`` and form feed — are sent as ESC + char and count 2).
Otherwise the whole message goes out as UCS-2 and its length is counted in UTF-16 code units (an
emoji outside the BMP counts 2). A single SMS holds 160 GSM-7 characters or 70 UCS-2 units; a longer
message is split into segments of 153 / 67 (the rest of each segment carries the concatenation
header), and a two-unit character is never split across segments, as handsets and carriers do.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "GSM7_MULTIPART_SEGMENT",
    "GSM7_SINGLE_SEGMENT",
    "UCS2_MULTIPART_SEGMENT",
    "UCS2_SINGLE_SEGMENT",
    "SmsStats",
    "is_gsm7",
    "sms_stats",
]

GSM7_SINGLE_SEGMENT = 160
GSM7_MULTIPART_SEGMENT = 153
UCS2_SINGLE_SEGMENT = 70
UCS2_MULTIPART_SEGMENT = 67

# GSM 03.38 basic table. ESC (0x1B) is left out on purpose: it only introduces extension
# characters and is not something a coordinator can type.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


class SmsStats(TypedDict):
    chars: int
    encoding: str
    segments: int


_NON_GSM7_RE = re.compile("[^" + "".join(re.escape(char) for char in sorted(GSM7_BASIC | GSM7_EXTENSION)) + "]")
_GSM7_EXTENSION_RE = re.compile("[" + "".join(re.escape(char) for char in sorted(GSM7_EXTENSION)) + "]")
_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` can be sent in GSM-7."""
    return _NON_GSM7_RE.search(text) is None


def _segments(text: str, wide: re.Pattern[str], single_limit: int, multipart_limit: int) -> tuple[int, int]:
    """(units, segments) where characters matching ``wide`` take two units and are never split."""
    wide_count = len(wide.findall(text))
    units = len(text) + wide_count
    if units == 0:
        return 0, 0
    if units <= single_limit:
        return units, 1
    if not wide_count:
        return units, -(-units // multipart_limit)
    segments, used = 1, 0
    for char in text:
        size = 2 if wide.match(char) else 1
        if used + size > multipart_limit:
            segments += 1
            used = 0
        used += size
    return units, segments


def sms_stats(text: Any) -> SmsStats:
    """``{"chars", "encoding", "segments"}`` for ``text`` (None counts as empty)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if is_gsm7(text):
        chars, segments = _segments(text, _GSM7_EXTENSION_RE, GSM7_SINGLE_SEGMENT, GSM7_MULTIPART_SEGMENT)
        return {"chars": chars, "encoding": "GSM-7", "segments": segments}
    # Characters above the BMP take a UTF-16 surrogate pair; lone surrogates (possible in a Python
    # str) are one unit each.
    chars, segments = _segments(text, _ASTRAL_RE, UCS2_SINGLE_SEGMENT, UCS2_MULTIPART_SEGMENT)
    return {"chars": chars, "encoding": "UCS-2", "segments": segments}
