"""Which tables carry a vector index. Each app registers its index in AppConfig.ready(); the registry
row (`VectorIndex`) holds the mutable state (version, state, timestamps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class VectorIndexSpec:
    name: str  # public name, e.g. "workers", "playbook_memory"
    model_label: str  # "workers.Worker"
    column: str  # vector column
    index_name: str  # the PostgreSQL HNSW index
    # Re-embedding recomputes vectors from each row's text; None when the index cannot be re-embedded.
    reembed: Callable[..., int] | None = None
    # Resetting the workers index deletes the corpus, so it needs an explicit confirmation.
    reset_needs_confirmation: bool = False
    # An index on an optional column of a table that other indexes share (the workers' semantic
    # vector) resets by clearing its column, not by emptying the table. None: TRUNCATE the table.
    reset: Callable[[], None] | None = None
    # The setting a re-embed's vectors must match in size (the registry row keeps the stored dim).
    dim_setting: str = "EMBEDDING_DIM"
    # The setting its HNSW graph is built with (m is HNSW_M for every index); a rebuild applies it.
    ef_construction_setting: str = "HNSW_EF_CONSTRUCTION"
    # Why a re-embed cannot run now (its provider is not configured); None or "" when it can.
    unavailable_reason: Callable[[], str | None] | None = None
    # Rows whose vector is not from the current model (a Q on the table): what "only missing" re-embeds.
    stale_rows: Callable[[], Any] | None = None
    # A trigger on the table keeps the registry row's row_count (an app migration creates it), so the
    # size is one indexed read instead of a count that grows with the table.
    keeps_row_count: bool = False

    def model(self):
        from django.apps import apps

        return apps.get_model(self.model_label)


_SPECS: dict[str, VectorIndexSpec] = {}


def register(spec: VectorIndexSpec) -> None:
    _SPECS[spec.name] = spec


def get_spec(name: str) -> VectorIndexSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"unknown vector index {name!r}; known: {sorted(_SPECS)}") from None


def all_specs() -> list[VectorIndexSpec]:
    return [_SPECS[name] for name in sorted(_SPECS)]
