"""Streaming readers: batches, line numbers an operator can find, parse errors as rows, bounded memory."""

import json
import tracemalloc
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apps.workers.generator import generate_workers, write_workers
from apps.workers.sources import PARSE_ERROR_KEY, SourceRow, count_rows, detect_format, read_rows


def all_rows(path, **kwargs) -> list[SourceRow]:
    return [row for batch in read_rows(path, **kwargs) for row in batch]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("w.parquet", "parquet"), ("w.PQ", "parquet"), ("w.csv", "csv"), ("W.CSV", "csv"), ("w.jsonl", "jsonl"), ("w.ndjson", "jsonl")],
)
def test_detect_format_by_extension(name, expected):
    assert detect_format(name) == expected


def test_detect_format_explicit_wins_and_is_validated():
    assert detect_format("upload.bin", "csv") == "csv"
    with pytest.raises(ValueError, match="extension"):
        detect_format("upload.bin")
    with pytest.raises(ValueError, match="unknown format"):
        detect_format("w.csv", "xlsx")


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_batches_are_bounded_and_rows_come_back_in_order(tmp_path, fmt):
    path = tmp_path / f"workers.{fmt}"
    rows = list(generate_workers(1_050, seed=2))
    write_workers(rows, path)
    batches = read_rows(path, batch_size=200)
    assert isinstance(batches, Iterator)
    batches = list(batches)
    assert [len(batch) for batch in batches] == [200] * 5 + [50]
    read = [row for batch in batches for row in batch]
    assert [row.raw["worker_id"] for row in read] == [row["worker_id"] for row in rows]
    first_line = {"csv": 2, "jsonl": 1, "parquet": 1}[fmt]  # CSV line 1 is the header
    assert [row.line for row in read] == list(range(first_line, first_line + len(rows)))
    assert count_rows(path) == len(rows)


def test_csv_line_numbers_are_physical_lines_across_blank_lines_and_multiline_fields(tmp_path):
    path = tmp_path / "workers.csv"
    path.write_text(
        "worker_id,bio\n"  # 1
        "W-1,short\n"  # 2
        "\n"  # 3 (blank)
        'W-2,"a bio\nspanning\nthree lines"\n'  # 4-6
        "W-3,after\n"  # 7
        "\n\n"  # 8, 9
        "W-4,last\n",  # 10
        encoding="utf-8",
    )
    rows = all_rows(path)
    assert [(row.line, row.raw["worker_id"]) for row in rows] == [(2, "W-1"), (4, "W-2"), (7, "W-3"), (10, "W-4")]
    assert rows[1].raw["bio"] == "a bio\nspanning\nthree lines"


def test_csv_keeps_values_as_text_and_unknown_columns(tmp_path):
    path = tmp_path / "workers.csv"
    path.write_text("\ufeffworker_id,skills,source_system\nW-1,pallet jack;rf scanner,legacy-crm\n", encoding="utf-8")
    [row] = all_rows(path)
    # The byte-order mark Excel writes is not part of the first column's name.
    assert row.raw == {"worker_id": "W-1", "skills": "pallet jack;rf scanner", "source_system": "legacy-crm"}


def test_csv_short_rows_get_none_and_long_rows_a_parse_error(tmp_path):
    path = tmp_path / "workers.csv"
    path.write_text("worker_id,city,state\nW-1,Columbus\nW-2,Columbus,OH,extra\nW-3,Dayton,OH\n", encoding="utf-8")
    short, long, good = all_rows(path)
    assert short.raw == {"worker_id": "W-1", "city": "Columbus", "state": None}
    assert PARSE_ERROR_KEY not in short.raw
    assert (long.line, long.raw["worker_id"]) == (3, "W-2")
    assert long.raw[PARSE_ERROR_KEY] == "expected 3 fields, found 4"
    assert good.raw == {"worker_id": "W-3", "city": "Dayton", "state": "OH"}


def test_csv_invalid_utf8_costs_one_row_not_the_file(tmp_path):
    path = tmp_path / "workers.csv"
    path.write_bytes(b"worker_id,city\nW-1,Columbus\nW-2,Col\xffumbus\nW-3,Dayton\n")
    rows = all_rows(path)
    assert [row.line for row in rows] == [2, 3, 4]
    assert PARSE_ERROR_KEY in rows[1].raw
    assert PARSE_ERROR_KEY not in rows[0].raw and rows[2].raw == {"worker_id": "W-3", "city": "Dayton"}


def test_empty_and_header_only_csv_yield_nothing(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("worker_id,city\n")
    assert all_rows(tmp_path / "empty.csv") == [] == all_rows(tmp_path / "header.csv")
    assert count_rows(tmp_path / "empty.csv") == 0 == count_rows(tmp_path / "header.csv")


def test_jsonl_garbage_lines_become_parse_error_rows_with_their_line(tmp_path):
    path = tmp_path / "workers.jsonl"
    lines = [
        json.dumps({"worker_id": "W-1"}),  # 1
        "{not json",  # 2
        "",  # 3 (blank: skipped, still counted as a line)
        "[1, 2, 3]",  # 4
        '"just a string"',  # 5
        json.dumps({"worker_id": "W-2", "skills": ["a", "b"], "years_experience": 4}),  # 6
    ]
    path.write_bytes("\n".join(lines).encode() + b"\n" + b'{"worker_id": "W-\xff"}\n' + b'{"worker_id": "W-3"}')
    rows = all_rows(path)
    assert [row.line for row in rows] == [1, 2, 4, 5, 6, 7, 8]
    assert rows[0].raw == {"worker_id": "W-1"}
    assert rows[1].raw[PARSE_ERROR_KEY].startswith("invalid JSON")
    assert rows[2].raw == {PARSE_ERROR_KEY: "expected a JSON object, found list"}
    assert rows[3].raw == {PARSE_ERROR_KEY: "expected a JSON object, found str"}
    assert rows[4].raw == {"worker_id": "W-2", "skills": ["a", "b"], "years_experience": 4}
    assert rows[5].raw == {PARSE_ERROR_KEY: "invalid UTF-8 in JSON line"}
    assert rows[6].raw == {"worker_id": "W-3"}  # last line without a trailing newline
    assert count_rows(path) == 7


def test_parquet_row_numbers_continue_across_batches_and_keep_native_types(tmp_path):
    path = tmp_path / "typed.parquet"
    table = pa.table(
        {
            "worker_id": [f"W-{i}" for i in range(1, 8)],
            "years_experience": pa.array(range(7), type=pa.int64()),
            "skills": [["pallet jack"]] * 7,
        }
    )
    pq.write_table(table, path, row_group_size=3)
    batches = list(read_rows(path, batch_size=2))
    assert all(len(batch) <= 2 for batch in batches)
    rows = [row for batch in batches for row in batch]
    assert [row.line for row in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert rows[6].raw == {"worker_id": "W-7", "years_experience": 6, "skills": ["pallet jack"]}
    assert count_rows(path) == 7


def test_bad_arguments_fail_at_the_call_not_at_the_first_batch(tmp_path):
    path = tmp_path / "w.jsonl"
    path.write_text("{}\n")
    with pytest.raises(ValueError, match="batch_size"):
        read_rows(path, batch_size=0)
    with pytest.raises(ValueError, match="format"):
        read_rows(path, fmt="xlsx")
    with pytest.raises(FileNotFoundError):
        read_rows(tmp_path / "missing.csv")


def test_reading_100k_parquet_rows_holds_one_batch_at_a_time(tmp_path):
    path = tmp_path / "big.parquet"
    sample = tmp_path / "sample.parquet"
    write_workers(generate_workers(2_000, seed=1), sample)
    block = pq.read_table(sample)
    with pq.ParquetWriter(path, block.schema) as writer:
        for _ in range(50):
            writer.write_table(block, row_group_size=10_000)
    assert count_rows(path) == 100_000

    tracemalloc.start()
    try:
        batches = read_rows(path, batch_size=2_000)
        assert isinstance(batches, Iterator) and not isinstance(batches, list)
        rows = sizes = 0
        for batch in batches:
            assert len(batch) <= 2_000
            rows += len(batch)
            sizes += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 100_000 and sizes == 50
    # All 100k rows as Python dicts take ~200 MB; one 2,000-row batch a few MB.
    assert peak < 40_000_000, f"peak Python memory {peak / 1e6:.0f} MB: rows are being accumulated"


def test_jsonl_lines_nested_too_deep_or_with_a_bom_are_rows_not_exceptions(tmp_path):
    path = tmp_path / "workers.jsonl"
    deep = '{"worker_id": "W-2", "x": ' + "[" * 50_000 + "]" * 50_000 + "}"
    shallow_but_over = '{"worker_id": "W-3", "x": ' + "[" * 20 + "]" * 20 + "}"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"worker_id": "W-1"}\n' + f"{deep}\n{shallow_but_over}\n".encode() + b'{"worker_id": "W-4", "bio": "\\ud800"}\n')
    rows = all_rows(path)
    assert [row.line for row in rows] == [1, 2, 3, 4]
    assert rows[0].raw == {"worker_id": "W-1"}  # the byte-order mark is not part of the first key
    assert "nested deeper" in rows[1].raw[PARSE_ERROR_KEY] and "nested deeper" in rows[2].raw[PARSE_ERROR_KEY]
    assert rows[3].raw == {"worker_id": "W-4", "bio": "\ud800"}  # valid JSON: the normalizer rejects it
