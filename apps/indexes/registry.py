"""Which tables carry a vector index. Each app registers its index in AppConfig.ready(); the registry
row (`VectorIndex`) holds the mutable state (version, state, timestamps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


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
