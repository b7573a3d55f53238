"""What other apps plug into the evidence app, so evidence imports none of them (the way
apps.indexes.registry lets apps register their vector indexes): extra sources for the materializer,
and actions on the evidence records' admin list. Apps register in their AppConfig.ready().
Plain Python, no Django import."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: A source reader: the source dicts of one kind whose moment falls in [since, until).
SourceReader = Callable[..., Iterable[dict[str, Any]]]

_SOURCES: dict[str, SourceReader] = {}


def register_source(source_kind: str, reader: SourceReader) -> None:
    """``reader(since=..., until=...)`` yields the payloads of ``source_kind`` (e.g. replay_run.v1 dicts)."""
    _SOURCES[source_kind] = reader


def unregister_source(source_kind: str) -> None:
    _SOURCES.pop(source_kind, None)


def source_reader(source_kind: str) -> SourceReader | None:
    return _SOURCES.get(source_kind)


def read_source(source_kind: str, *, since: datetime | None, until: datetime | None) -> Iterable[dict[str, Any]]:
    """The registered reader's payloads; nothing when no app provides this kind of source."""
    reader = _SOURCES.get(source_kind)
    return () if reader is None else reader(since=since, until=until)


@dataclass(frozen=True)
class RecordAction:
    """An admin action on selected evidence records, offered to users for whom ``allowed(request)``."""

    action: Callable[..., Any]  # a Django admin action: (modeladmin, request, queryset)
    allowed: Callable[[Any], bool]

    @property
    def name(self) -> str:
        return self.action.__name__


_RECORD_ACTIONS: dict[str, RecordAction] = {}


def register_record_action(action: Callable[..., Any], *, allowed: Callable[[Any], bool]) -> None:
    _RECORD_ACTIONS[action.__name__] = RecordAction(action, allowed)


def record_actions() -> list[RecordAction]:
    return list(_RECORD_ACTIONS.values())
