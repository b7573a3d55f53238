"""The materializer's sources, read as the plain dicts apps.evidence.transforms expects.

* Interaction rows, in keyset pages by ``seq`` (bounded memory, no long-lived server-side cursor);
* inbox chat logs: ``*.jsonl`` files of ``chat_log.v1`` lines in ``<kb_dir>/inbox/``, streamed
  line by line (producers should write ``name.jsonl.tmp`` and rename, so a half-written file is
  never picked up);
* replay runs, through ``iter_replay_runs`` — read from whichever app registered the ``replay_run``
  source in apps.evidence.registry (apps.replay does).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from apps.evidence import registry
from apps.evidence.choices import SourceKind
from apps.interactions.choices import InteractionKind
from apps.interactions.models import Interaction

INTERACTION_FIELDS = (
    "id", "seq", "kind", "occurred_at", "actor", "request", "response", "ok", "errors", "latency_ms", "model",
    "prompt_tokens", "completion_tokens",
)

# ------------------------------------------------------------------------------ interactions


def interaction_pages(queryset: QuerySet[Interaction], *, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of source dicts from ``queryset`` in ``seq`` order: each page is one indexed query
    (``seq > last ORDER BY seq LIMIT n``), so memory stays at one page whatever the range."""
    last_seq: int | None = None
    while True:
        page = queryset if last_seq is None else queryset.filter(seq__gt=last_seq)
        rows = list(page.order_by("seq").values(*INTERACTION_FIELDS)[:page_size])
        if not rows:
            return
        last_seq = rows[-1]["seq"]
        targets = _feedback_targets(rows)
        sources = []
        for row in rows:
            source = {"source_kind": SourceKind.INTERACTION.value, **row, "id": str(row["id"])}
            if row["kind"] == InteractionKind.FEEDBACK:
                source["target"] = targets.get(_target_id(row))
            sources.append(source)
        yield sources


def _target_id(row: dict[str, Any]) -> str | None:
    request = row.get("request")
    raw = request.get("target_id") if isinstance(request, dict) else None
    try:
        return str(uuid.UUID(raw)) if isinstance(raw, str) else None
    except ValueError:
        return None  # the feedback transform reports the malformed id


def _feedback_targets(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Kinds of the interactions this page's feedback rows judge, in one query: the feedback record
    names its target's evidence id, which depends on the target's transform."""
    ids = {target for row in rows if row["kind"] == InteractionKind.FEEDBACK and (target := _target_id(row))}
    if not ids:
        return {}
    found = Interaction.objects.filter(id__in=ids).values_list("id", "kind", "request__kind")
    return {str(pk): {"kind": kind, "request_kind": request_kind} for pk, kind, request_kind in found}


# ------------------------------------------------------------------------------ inbox chat logs


def inbox_dir(kb_dir: Path) -> Path:
    return kb_dir / "inbox"


def inbox_files(kb_dir: Path) -> list[Path]:
    directory = inbox_dir(kb_dir)
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.glob("*.jsonl") if path.is_file())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ChatLogLine:
    """One non-blank line of an inbox file: a source for chat_completion, or why it is not one."""

    line: int
    source: dict[str, Any] | None
    error: str | None
    occurred_at: datetime | None  # when it parses (range runs keep only the lines in their range)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _occurred_at(log: dict[str, Any]) -> datetime | None:
    raw = log.get("occurred_at")
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None  # the transform reports it
    return moment.astimezone(timezone.utc)


def read_chat_log(path: Path) -> Iterator[ChatLogLine]:
    """Stream a chat_log.v1 file; a line that is not a JSON object is an error, not a crash."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
            except (UnicodeDecodeError, ValueError) as exc:
                yield ChatLogLine(number, None, f"line {number} is not valid JSON: {exc}", None)
                continue
            if not isinstance(value, dict):
                yield ChatLogLine(number, None, f"line {number} is not a JSON object", None)
                continue
            source = {"source_kind": SourceKind.CHAT_LOG.value, "log": value, "origin": {"file": path.name, "line": number}}
            yield ChatLogLine(number, source, None, _occurred_at(value))


# ------------------------------------------------------------------------------ replay runs


def iter_replay_runs(*, since: datetime | None = None, until: datetime | None = None) -> Iterator[dict[str, Any]]:
    """replay_run.v1 dicts (SPEC §4.8) of runs finished in [since, until), as sources for replay_result.

    Read through apps.evidence.registry: the replay app registers its reader when it is installed
    (ReplayConfig.ready); without it this yields nothing.
    """
    for run in registry.read_source(SourceKind.REPLAY_RUN.value, since=since, until=until):
        yield {"source_kind": SourceKind.REPLAY_RUN.value, "run": run}
