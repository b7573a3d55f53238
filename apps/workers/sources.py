"""Streaming readers for worker source files: Parquet, CSV, JSON Lines (SPEC §4.1).

`read_rows` yields batches of `SourceRow(line, raw)` and never holds more than one batch (plus one
Parquet record batch) in memory. `line` is what an operator needs to find the row: the physical
line of the file for CSV and JSON Lines, the 1-based row number for Parquet.

A row the reader cannot decode (invalid JSON, JSON nested deeper than ROW_MAX_JSON_DEPTH, a JSON
value that is not an object, a CSV record with too many fields, invalid UTF-8) is not an exception: it comes out as a `SourceRow` whose raw dict
carries `PARSE_ERROR_KEY`, so the normalizer rejects it with its line number and the rest of the
file is still ingested.
"""

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow.parquet as pq

from apps.core.bounded_json import loads_bounded

FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl")
FORMAT_BY_EXTENSION: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
DEFAULT_BATCH_SIZE = 2_000
PARSE_ERROR_KEY = "__parse_error__"
# A worker row is flat (list columns are one level down); anything nested far deeper is not a row.
ROW_MAX_JSON_DEPTH = 16


class SourceRow(NamedTuple):
    """One record as read: where it is in the file, and its columns untouched."""

    line: int
    raw: dict[str, Any]


def detect_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """Return `fmt` if given (validated), else the format implied by the file extension."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    try:
        return FORMAT_BY_EXTENSION[suffix]
    except KeyError:
        raise ValueError(
            f"cannot tell the format of {os.fspath(path)!r} from its extension; "
            f"use one of {', '.join(FORMAT_BY_EXTENSION)} or pass the format explicitly"
        ) from None


def read_rows(
    path: str | os.PathLike, fmt: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[list[SourceRow]]:
    """Iterate over the file's rows in batches of at most `batch_size`, streaming from disk.

    A bad format, batch size or path raises here, at the call, not at the first batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    fmt = detect_format(path, fmt)
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such file: {os.fspath(path)!r}")
    return _batches(path, fmt, batch_size)


def _batches(path: str | os.PathLike, fmt: str, batch_size: int) -> Iterator[list[SourceRow]]:
    if fmt == "parquet":
        # Arrow already hands out record batches of the requested size; pass them through.
        with pq.ParquetFile(path) as parquet_file:
            next_row = 1
            for record_batch in parquet_file.iter_batches(batch_size=batch_size):
                raws = record_batch.to_pylist()
                yield [SourceRow(next_row + offset, raw) for offset, raw in enumerate(raws)]
                next_row += len(raws)
        return
    rows = _csv_rows(path) if fmt == "csv" else _jsonl_rows(path)
    batch: list[SourceRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def count_rows(path: str | os.PathLike, fmt: str | None = None) -> int:
    """Cheap row count for progress bars: Parquet metadata, or non-blank lines of a text file.

    For CSV a quoted field spanning several lines makes this an over-estimate; it sizes a progress
    bar, it is not the ingest's `rows_read`.
    """
    fmt = detect_format(path, fmt)
    if fmt == "parquet":
        with pq.ParquetFile(path) as parquet_file:
            return parquet_file.metadata.num_rows
    with open(path, "rb") as file:
        lines = sum(1 for line in file if line.strip())
    return max(lines - 1, 0) if fmt == "csv" else lines


def _csv_rows(path: str | os.PathLike) -> Iterator[SourceRow]:
    # csv.reader rather than csv.DictReader: DictReader skips blank lines internally, which hides
    # the physical line a record starts on. reader.line_num before a read, plus one, is exactly
    # that line, even when a quoted field spans several lines.
    # errors="replace" keeps one bad byte from aborting the whole file; rows holding the
    # replacement character are flagged below instead of being ingested with mangled text.
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        reader = csv.reader(file)
        header: list[str] | None = None
        while header is None:
            try:
                fields = next(reader)
            except StopIteration:
                return
            if fields:
                header = fields
        while True:
            line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield SourceRow(line, {PARSE_ERROR_KEY: f"malformed CSV: {error}"})
                continue
            if not fields:
                continue
            raw: dict[str, Any] = dict(zip(header, fields))
            if len(fields) < len(header):
                # Some exporters drop trailing empty cells; treat them as absent, like DictReader.
                raw.update((column, None) for column in header[len(fields) :])
            elif len(fields) > len(header):
                raw[PARSE_ERROR_KEY] = f"expected {len(header)} fields, found {len(fields)}"
            if any("\ufffd" in field for field in fields):
                raw[PARSE_ERROR_KEY] = "invalid UTF-8 in CSV line"
            yield SourceRow(line, raw)


def _jsonl_rows(path: str | os.PathLike) -> Iterator[SourceRow]:
    # Bytes, decoded per line: invalid UTF-8 then costs one row (a parse error), not the file.
    with open(path, "rb") as file:
        for line, data in enumerate(file, start=1):
            if not data.strip():
                continue
            try:
                text = data.decode("utf-8-sig" if line == 1 else "utf-8")
            except UnicodeDecodeError:
                yield SourceRow(line, {PARSE_ERROR_KEY: "invalid UTF-8 in JSON line"})
                continue
            try:
                value = loads_bounded(text, max_depth=ROW_MAX_JSON_DEPTH)
            except json.JSONDecodeError as error:
                # error.lineno would be 1 (the line on its own); the file line is `line`.
                yield SourceRow(line, {PARSE_ERROR_KEY: f"invalid JSON: {error.msg} at column {error.colno}"})
                continue
            except ValueError as error:  # nested too deep
                yield SourceRow(line, {PARSE_ERROR_KEY: f"invalid JSON: {error}"})
                continue
            if not isinstance(value, dict):
                yield SourceRow(line, {PARSE_ERROR_KEY: f"expected a JSON object, found {type(value).__name__}"})
                continue
            yield SourceRow(line, value)
