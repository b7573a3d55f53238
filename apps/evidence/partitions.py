"""The evidence index on disk: ``<kb_dir>/evidence/day=YYYY-MM-DD/*.jsonl`` and receipts.

Plain file handling, no Django. Every file a run writes is reported with its path (relative to
``kb_dir``), sha256 and record count. Lines are the deterministic JSON of apps.evidence.transforms.dumps.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REBUILD_FILE = "part-rebuild.jsonl"


def day_dir(kb_dir: Path, day: str) -> Path:
    return kb_dir / "evidence" / f"day={day}"


def receipt_path(kb_dir: Path, run_id: str) -> Path:
    return kb_dir / "receipts" / f"materialize-{run_id}.json"


def _relative(kb_dir: Path, path: Path) -> str:
    return path.relative_to(kb_dir).as_posix()


class RunFiles:
    """One run's appended records: ``day=D/<file_name>`` per day it touched.

    The sha256 is kept incrementally while writing. A file that already exists (the same run
    re-executed after a crash) is hashed and counted first, so the receipt describes the whole file.
    """

    def __init__(self, kb_dir: Path, file_name: str) -> None:
        self.kb_dir = kb_dir
        self.file_name = file_name
        self._state: dict[str, tuple[Path, Any, int]] = {}  # day → (path, sha256, records)

    def append(self, day: str, lines: list[str]) -> None:
        if not lines:
            return
        if day not in self._state:
            path = day_dir(self.kb_dir, day) / self.file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            digest, count = hashlib.sha256(), 0
            if path.exists():
                with open(path, "rb") as handle:
                    for raw in handle:
                        digest.update(raw)
                        count += 1
            self._state[day] = (path, digest, count)
        path, digest, count = self._state[day]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        with open(path, "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        digest.update(data)
        self._state[day] = (path, digest, count + len(lines))

    def files(self) -> list[dict[str, Any]]:
        return [
            {"path": _relative(self.kb_dir, path), "sha256": digest.hexdigest(), "records": count}
            for path, digest, count in sorted(self._state.values(), key=lambda state: state[0])
        ]


def rewrite_day(kb_dir: Path, day: str, lines: Iterable[str]) -> dict[str, Any]:
    """Replace a day's partition with one file holding ``lines`` (already in their final order).

    Written to a temporary name and renamed over ``part-rebuild.jsonl``, then the day's other files
    are removed: readers see either the old files or the new one plus stale ones for a moment, never
    a half-written file. ``previous`` lists the files the day had before (path, sha256, records), so
    the receipt shows what a rebuild replaced — e.g. files rewritten after their records were
    scrubbed of secrets (SPEC §3.5) — next to the new file's sha256.
    """
    directory = day_dir(kb_dir, day)
    directory.mkdir(parents=True, exist_ok=True)
    previous = [_describe(kb_dir, path) for path in sorted(directory.glob("*.jsonl"))]
    target = directory / REBUILD_FILE
    temporary = directory / f".{REBUILD_FILE}.tmp"
    digest, count = hashlib.sha256(), 0
    with open(temporary, "wb") as handle:
        for line in lines:
            data = (line + "\n").encode("utf-8")
            handle.write(data)
            digest.update(data)
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    replaced = sorted(p.name for p in directory.glob("*.jsonl") if p.name != REBUILD_FILE)
    for name in replaced:
        (directory / name).unlink(missing_ok=True)
    return {
        "path": _relative(kb_dir, target),
        "sha256": digest.hexdigest(),
        "records": count,
        "replaced": replaced,
        "previous": previous,
    }


def _describe(kb_dir: Path, path: Path) -> dict[str, Any]:
    digest, count = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for raw in handle:
            digest.update(raw)
            count += 1
    return {"path": _relative(kb_dir, path), "sha256": digest.hexdigest(), "records": count}


def write_receipt(path: Path, receipt: dict[str, Any]) -> None:
    """Atomically (temp file + rename) write a receipt as indented, key-sorted JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(receipt, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
