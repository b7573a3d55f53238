"""Scrub rows already stored before the scrubber existed (used by the data migrations of the apps
that store user-supplied text; SPEC §3.5). Works on historical models, so it takes the model."""

from __future__ import annotations

from typing import Any

from apps.interactions.scrubber import scrub

BATCH = 1000


def scrub_stored_rows(model: Any, fields: tuple[str, ...]) -> int:
    """Scrub ``fields`` of every row of ``model`` in keyset batches; returns how many rows changed."""
    changed_total = 0
    last_pk = None
    while True:
        rows = model.objects.order_by("pk")
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        batch = list(rows.only("pk", *fields)[:BATCH])
        if not batch:
            return changed_total
        last_pk = batch[-1].pk
        changed = []
        for row in batch:
            dirty = False
            for name in fields:
                value = getattr(row, name)
                clean = scrub(value)
                if clean != value:
                    setattr(row, name, clean)
                    dirty = True
            if dirty:
                changed.append(row)
        if changed:
            model.objects.bulk_update(changed, list(fields))
            changed_total += len(changed)
