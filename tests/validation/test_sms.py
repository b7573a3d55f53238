"""Unit tests for apps.validation.sms: encoding detection and segment counts."""

from __future__ import annotations

import pytest

from apps.validation.sms import GSM7_BASIC, GSM7_EXTENSION, is_gsm7, sms_stats


@pytest.mark.parametrize(
    ("text", "chars", "encoding", "segments"),
    [
        ("", 0, "GSM-7", 0),
        ("a", 1, "GSM-7", 1),
        ("a" * 160, 160, "GSM-7", 1),
        ("a" * 161, 161, "GSM-7", 2),
        ("a" * 306, 306, "GSM-7", 2),  # 2 x 153
        ("a" * 307, 307, "GSM-7", 3),
        ("é" * 160, 160, "GSM-7", 1),  # é is in the basic table
        ("€" * 80, 160, "GSM-7", 1),  # extension characters count 2
        ("a" * 79 + "€", 81, "GSM-7", 1),
        ("a" * 159 + "€", 161, "GSM-7", 2),
        ("[]{}~^|\\", 16, "GSM-7", 1),
        ("ç", 1, "UCS-2", 1),  # only upper-case Ç is in the GSM table
        ("a" * 70 + "’", 71, "UCS-2", 2),  # a curly apostrophe forces UCS-2
        ("ç" * 70, 70, "UCS-2", 1),
        ("ç" * 71, 71, "UCS-2", 2),
        ("ç" * 134, 134, "UCS-2", 2),  # 2 x 67
        ("ç" * 135, 135, "UCS-2", 3),
        ("😀" * 35, 70, "UCS-2", 1),  # emoji above the BMP are two UTF-16 units
        ("a" * 69 + "😀", 71, "UCS-2", 2),
        ("\ud800", 1, "UCS-2", 1),  # a lone surrogate is one unit, not a crash
    ],
)
def test_sms_stats(text: str, chars: int, encoding: str, segments: int) -> None:
    assert sms_stats(text) == {"chars": chars, "encoding": encoding, "segments": segments}


def test_two_unit_characters_are_never_split_across_segments() -> None:
    # 152 septets then "€" (2): the euro does not fit in the first 153-septet segment and moves on.
    assert sms_stats("a" * 152 + "€" + "a" * 153)["segments"] == 3
    assert sms_stats("a" * 151 + "€" + "a" * 153)["segments"] == 2
    # 66 units then an emoji (2) in UCS-2: the pair moves to the second 67-unit segment.
    assert sms_stats("ç" * 66 + "😀" + "ç" * 66)["segments"] == 3
    assert sms_stats("ç" * 65 + "😀" + "ç" * 67)["segments"] == 2


def test_sms_stats_accepts_none_and_non_strings() -> None:
    assert sms_stats(None) == {"chars": 0, "encoding": "GSM-7", "segments": 0}
    assert sms_stats(12345) == {"chars": 5, "encoding": "GSM-7", "segments": 1}


def test_gsm7_tables() -> None:
    assert len(GSM7_BASIC) == 127  # 128 code points minus ESC
    assert "\x1b" not in GSM7_BASIC
    assert GSM7_EXTENSION == frozenset("\f^{}\\[~]|€")
    assert is_gsm7("Hi Ana, £5 bonus @ Dock 4 §2 ¿Qué? ÄÖÑÜ äöñüà")
    assert not is_gsm7("Olá")  # á is not in GSM-7
    assert not is_gsm7("👍")
