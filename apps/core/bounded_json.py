"""JSON parsing with a nesting bound. Pure: no Django.

Python's C JSON parser recurses: a document nested deeper than the interpreter's recursion limit
raises RecursionError (not ValueError), and a merely deep one parses into a structure that every
recursive walk downstream (serializers, jsonb adaptation, redaction) trips over. Callers that take
JSON from outside parse it here and get a ValueError for both.
"""

from __future__ import annotations

import json
from typing import Any

# No request of the API nests more than a handful of levels; 64 leaves room and keeps every
# recursive walk downstream far from Python's recursion limit.
MAX_JSON_DEPTH = 64


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests containers deeper than `limit` (iterative: safe on any depth)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def loads_bounded(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads that raises ValueError (never RecursionError) for input nested deeper than max_depth."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    if json_depth_exceeds(value, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return value
