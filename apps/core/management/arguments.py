"""Argument types for management commands: a bad value is argparse's usage error naming the option,
never a traceback from deep in a service or a database constraint."""

from __future__ import annotations

import argparse
from typing import Callable


def int_between(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An integer in [minimum, maximum] (no upper bound when maximum is None)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
        if number < minimum or (maximum is not None and number > maximum):
            bounds = f"≥ {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise argparse.ArgumentTypeError(f"{number} is out of range: must be {bounds}")
        return number

    parse.__name__ = "integer"  # argparse names the type in "invalid <type> value" messages
    return parse
