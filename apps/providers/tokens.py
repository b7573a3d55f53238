"""Token counts when a model reports none — pure, the one rule of thumb everywhere.

Four characters per token is the usual estimate for English with BPE tokenizers: good enough for
budgeting, and always flagged as an estimate where it is stored.
"""

from __future__ import annotations

import math


def tokens_for_chars(chars: int) -> int:
    """Estimated tokens for `chars` characters of text: one per four, rounded up."""
    return math.ceil(chars / 4)


def estimate_tokens(text: str) -> int:
    return tokens_for_chars(len(text))
