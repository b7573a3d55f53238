"""Writers for worker source files — the mirror of the readers in `apps.workers.sources`.

The same three formats, the same columns (SPEC §3.1 `vocabulary.SOURCE_COLUMNS`) and the same list
separator the readers and the normalizer expect, kept apart from the synthetic corpus that
`apps.workers.generator` makes, so that module is only about what rows look like.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from apps.workers import vocabulary as vocab
from apps.workers.sources import detect_format


def write_workers(rows: Iterable[dict[str, Any]], path: str | os.PathLike, fmt: str | None = None) -> int:
    """Write rows as Parquet, CSV or JSON Lines (by `fmt` or the file extension); return the row count.

    Streams: Parquet is written one row group (`PARQUET_ROW_GROUP_SIZE` rows) at a time. The file
    appears under its final name only once complete, so a crash never leaves a truncated corpus
    that an ingest could mistake for a whole one.
    """
    path = Path(path)
    fmt = detect_format(path, fmt)
    partial = path.with_name(path.name + ".partial")
    writer = {"parquet": _write_parquet, "csv": _write_csv, "jsonl": _write_jsonl}[fmt]
    try:
        written = writer(rows, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return written


PARQUET_ROW_GROUP_SIZE = 10_000
# Human-entered scalars are text in the Parquet file, as in most CRM exports: a malformed value
# ("ten", "next week") must survive into the file so the ingest can reject it with its row number.
_PARQUET_TEXT_COLUMNS = frozenset(vocab.SOURCE_COLUMNS) - set(vocab.LIST_COLUMNS) - {"sms_opt_out"}
PARQUET_SCHEMA = pa.schema(
    [
        pa.field(
            column,
            pa.list_(pa.string()) if column in vocab.LIST_COLUMNS else pa.bool_() if column == "sms_opt_out" else pa.string(),
        )
        for column in vocab.SOURCE_COLUMNS
    ]
)


def _checked(row: dict[str, Any]) -> dict[str, Any]:
    unexpected = row.keys() - set(vocab.SOURCE_COLUMNS)
    if unexpected:
        # Dropping them silently would lose data; the writer only knows the SPEC §3.1 columns.
        raise ValueError(f"unexpected column(s) {sorted(unexpected)}; expected {list(vocab.SOURCE_COLUMNS)}")
    return row


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write_parquet(rows: Iterable[dict[str, Any]], path: Path) -> int:
    written = 0
    with pq.ParquetWriter(path, PARQUET_SCHEMA) as writer:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(_checked(row))
            if len(chunk) == PARQUET_ROW_GROUP_SIZE:
                writer.write_table(_parquet_table(chunk), row_group_size=PARQUET_ROW_GROUP_SIZE)
                written += len(chunk)
                chunk = []
        if chunk or written == 0:
            writer.write_table(_parquet_table(chunk), row_group_size=PARQUET_ROW_GROUP_SIZE)
            written += len(chunk)
    return written


def _parquet_table(chunk: list[dict[str, Any]]) -> pa.Table:
    columns = []
    for column in vocab.SOURCE_COLUMNS:
        values = [row.get(column) for row in chunk]
        if column in _PARQUET_TEXT_COLUMNS:
            values = [_as_text(value) for value in values]
        columns.append(pa.array(values, type=PARQUET_SCHEMA.field(column).type))
    return pa.Table.from_arrays(columns, schema=PARQUET_SCHEMA)


def _csv_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in vocab.LIST_COLUMNS and isinstance(value, (list, tuple)):
        return vocab.LIST_SEPARATOR.join(_as_text(item) or "" for item in value)
    return _as_text(value) or ""


def _write_csv(rows: Iterable[dict[str, Any]], path: Path) -> int:
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(vocab.SOURCE_COLUMNS)
        for row in rows:
            _checked(row)
            writer.writerow([_csv_cell(column, row.get(column)) for column in vocab.SOURCE_COLUMNS])
            written += 1
    return written


def _write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    written = 0
    with open(path, "w", encoding="utf-8") as file:
        for row in rows:
            _checked(row)
            ordered = {column: row.get(column) for column in vocab.SOURCE_COLUMNS}
            file.write(json.dumps(ordered, ensure_ascii=False, default=_as_text))
            file.write("\n")
            written += 1
    return written
