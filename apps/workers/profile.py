"""The text embedded for a worker (SPEC §4.2) — pure: one definition for ingest, re-embed and tests."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


def profile_text(worker: Mapping[str, Any]) -> str:
    """The text embedded for a worker (SPEC §4.2):
    "{role} in {city}, {state}. Skills: a, b. Certifications: c. Shifts: night. {n} years
    experience. {bio}" — parts the worker lacks are left out, never rendered empty.

    Changing this function changes every worker's embedding: bump HashEmbedder.model with it.
    """
    role = _clean(worker.get("role")).replace("_", " ")
    location = ", ".join(part for part in (_clean(worker.get("city")), _clean(worker.get("state"))) if part)
    sentences = []
    if role and location:
        sentences.append(f"{role} in {location}.")
    elif role or location:
        sentences.append(f"{role or location}.")
    for label, field in (
        ("Skills", "skills"),
        ("Certifications", "certifications"),
        ("Shifts", "shift_preference"),
    ):
        items = _items(worker.get(field))
        if items:
            sentences.append(f"{label}: {', '.join(items)}.")
    years = _whole_number(worker.get("years_experience"))
    if years is not None:
        sentences.append(f"{years} year{'' if years == 1 else 's'} experience.")
    bio = _clean(worker.get("bio"))
    if bio:
        sentences.append(bio)
    return " ".join(sentences)


def _clean(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


def _items(value: Any) -> list[str]:
    """List fields arrive as lists from the database and as "a;b" strings from raw CSV rows."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(";")
    elif not isinstance(value, Iterable):
        value = [value]
    items = (_clean(item).rstrip(".").strip() for item in value)
    return [item for item in items if item]


def _whole_number(value: Any) -> int | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None
