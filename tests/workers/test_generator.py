"""The synthetic corpus: deterministic, realistically skewed, dirty exactly where planned."""

import collections
import csv
import json
import re
from datetime import date
from itertools import islice

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zipcodes

from apps.workers import vocabulary as vocab
from apps.workers.generator import (
    DEFECT_EVERY,
    DIRTY_KINDS,
    EMAIL_DOMAINS,
    PARQUET_ROW_GROUP_SIZE,
    ROLE_BIO,
    ROLE_PAY,
    generate_workers,
    planned_defects,
    write_workers,
)

FORMATS = ("parquet", "csv", "jsonl")


@pytest.fixture(scope="module")
def corpus_5k() -> list[dict]:
    return list(generate_workers(5_000, seed=7))


def share(rows: list[dict], predicate) -> float:
    return sum(1 for row in rows if predicate(row)) / len(rows)


# --- vocabulary ---------------------------------------------------------------------------------------------------


def test_vocabulary_has_35_distinct_cities_with_skewed_weights_summing_to_100():
    pairs = [(city.name, city.state) for city in vocab.CITIES]
    assert len(pairs) == len(set(pairs)) == 35
    weights = sorted((city.weight for city in vocab.CITIES), reverse=True)
    assert sum(weights) == pytest.approx(100.0)
    assert sum(weights[:5]) >= 45  # a few big metros carry the bulk
    assert all(0.5 <= weight <= 1.0 for weight in weights[-10:])  # a long tail
    assert vocab.CITY_WEIGHTS[vocab.BENCHMARK_CITY] == pytest.approx(3.0)


def test_vocabulary_zip_codes_are_real_zips_of_their_city():
    real = {(z["zip_code"], z["city"], z["state"]) for z in zipcodes.list_all()}
    for city in vocab.CITIES:
        assert city.zips, city
        for zip_code in city.zips:
            assert (zip_code, city.name, city.state) in real, (zip_code, city)
        assert all(re.fullmatch(r"[2-9]\d\d", code) for code in city.area_codes), city


def test_vocabulary_roles_are_snake_case_and_fully_described():
    assert 18 <= len(vocab.ROLES) <= 22
    assert len(set(vocab.ROLES)) == len(vocab.ROLES)
    for table in (vocab.ROLE_TITLES, vocab.ROLE_WEIGHTS, vocab.ROLE_SKILLS, vocab.ROLE_CERTIFICATIONS, ROLE_PAY, ROLE_BIO):
        assert set(table) == set(vocab.ROLES)
    for role in vocab.ROLES:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", role)
        assert len(vocab.ROLE_SKILLS[role]) >= 2
    assert {"pallet jack", "rf scanner", "reach truck"} <= set(vocab.ROLE_SKILLS["forklift_operator"])
    assert {"OSHA-10", "Forklift"} <= set(vocab.ROLE_CERTIFICATIONS["forklift_operator"])


def test_vocabulary_list_values_survive_a_csv_round_trip():
    skills = [s for skills in vocab.ROLE_SKILLS.values() for s in skills] + list(vocab.GENERAL_SKILLS)
    certifications = [c for certs in vocab.ROLE_CERTIFICATIONS.values() for c in certs]
    for value in skills + certifications:
        assert vocab.LIST_SEPARATOR not in value and value == value.strip()
    assert all(skill == skill.lower() for skill in skills)  # stored as the normalizer will store them


# --- determinism --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_seed_writes_the_same_bytes(tmp_path, fmt):
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    assert write_workers(generate_workers(1_500, seed=3, dirty=True), first) == 1_500
    assert write_workers(generate_workers(1_500, seed=3, dirty=True), second) == 1_500
    assert first.read_bytes() == second.read_bytes()


def test_different_seeds_give_different_corpora():
    assert list(generate_workers(50, seed=1)) != list(generate_workers(50, seed=2))


def test_a_shorter_corpus_is_a_prefix_of_a_longer_one():
    # Lets a 1k demo corpus and the 100k benchmark corpus share their first rows.
    assert list(generate_workers(300, seed=5, dirty=True)) == list(islice(generate_workers(3_000, seed=5, dirty=True), 300))


def test_negative_count_is_refused():
    with pytest.raises(ValueError):
        list(generate_workers(-1, seed=0))


# --- row contents ---------------------------------------------------------------------------------------------------


def test_rows_have_the_source_columns_and_plausible_values(corpus_5k):
    zips_by_city = {(city.name, city.state): set(city.zips) for city in vocab.CITIES}
    state_names = {"Ohio": "OH", "Texas": "TX", "Florida": "FL", "California": "CA", "New York": "NY"}
    for index, row in enumerate(corpus_5k):
        assert tuple(row) == vocab.SOURCE_COLUMNS
        assert row["worker_id"] == f"W-{index + 1:06d}"
        state = state_names.get(row["state"], row["state"])
        assert row["zip"] in zips_by_city[(row["city"], state)]
        role = row["role"]
        allowed_skills = set(vocab.ROLE_SKILLS[role]) | set(vocab.GENERAL_SKILLS)
        assert {skill.lower() for skill in row["skills"]} <= allowed_skills
        assert len(row["skills"]) >= 2
        assert set(row["certifications"]) <= set(vocab.ROLE_CERTIFICATIONS[role])
        assert row["shift_preference"] and row["shift_preference"] == [s for s in vocab.SHIFTS if s in row["shift_preference"]]
        assert row["available_from"] is None or date.fromisoformat(row["available_from"]) >= date(2026, 11, 30)
        assert isinstance(row["years_experience"], int) and 0 <= row["years_experience"] <= 35
        assert round(row["hourly_rate"], 2) == row["hourly_rate"] and ROLE_PAY[role][0] <= row["hourly_rate"] <= ROLE_PAY[role][1] + 4
        assert round(row["reliability"], 3) == row["reliability"] and 0 <= row["reliability"] <= 1
        assert row["status"] in vocab.STATUSES
        assert isinstance(row["sms_opt_out"], bool)
        assert 20 < len(row["bio"]) < 400


def test_distributions_match_their_targets(corpus_5k):
    cities = collections.Counter((row["city"], row["state"]) for row in corpus_5k if len(row["state"]) == 2)
    biggest = cities.most_common(5)
    assert sum(count for _, count in biggest) / len(corpus_5k) > 0.45
    assert cities[vocab.BENCHMARK_CITY] / len(corpus_5k) == pytest.approx(0.03, abs=0.008)
    assert len({row["city"] for row in corpus_5k}) == 35
    assert share(corpus_5k, lambda r: r["status"] == "active") == pytest.approx(0.85, abs=0.025)
    assert share(corpus_5k, lambda r: r["status"] == "inactive") == pytest.approx(0.10, abs=0.02)
    assert share(corpus_5k, lambda r: r["status"] == "do_not_contact") == pytest.approx(0.05, abs=0.015)
    assert share(corpus_5k, lambda r: r["sms_opt_out"]) == pytest.approx(0.08, abs=0.015)
    assert share(corpus_5k, lambda r: r["email"] == "") == pytest.approx(0.08, abs=0.02)
    assert share(corpus_5k, lambda r: r["available_from"] is None) == pytest.approx(0.4, abs=0.03)
    assert {row["role"] for row in corpus_5k} == set(vocab.ROLES)


def test_contact_details_are_fictional_varied_and_unique(corpus_5k):
    emails = [row["email"].strip().lower() for row in corpus_5k if row["email"]]
    assert len(emails) == len(set(emails))
    assert {email.split("@")[1] for email in emails} == set(EMAIL_DOMAINS)
    phones = [row["phone"] for row in corpus_5k]
    digits = [re.sub(r"\D", "", phone)[-10:] for phone in phones if len(re.sub(r"\D", "", phone)) >= 10]
    assert len(digits) == len(set(digits))  # no two workers share a number
    assert all(d[3:6] == "555" for d in digits)  # the exchange reserved for fiction
    shapes = {re.sub(r"\d", "9", phone) for phone in phones}
    assert {"(999) 999-9999", "999.999.9999", "+9 999 999 9999", "9999999999"} <= shapes
    assert share(corpus_5k, lambda r: r["phone"] == "") == pytest.approx(0.02, abs=0.01)


def test_bios_are_varied_and_about_the_role(corpus_5k):
    bios = [row["bio"] for row in corpus_5k]
    assert len(set(bios)) / len(bios) > 0.95
    for row in corpus_5k[:500]:
        settings, highlights = ROLE_BIO[row["role"]]
        assert any(phrase in row["bio"] or phrase[0].upper() + phrase[1:] in row["bio"] for phrase in settings + highlights)


# --- dirty rows ---------------------------------------------------------------------------------------------------


def test_dirty_rows_are_exactly_the_planned_ones_at_half_a_percent():
    count = 5_000
    clean = list(generate_workers(count, seed=11))
    dirty = list(generate_workers(count, seed=11, dirty=True))
    plan = planned_defects(count, seed=11)
    changed = {index for index, (a, b) in enumerate(zip(clean, dirty)) if a != b}
    assert changed == set(plan)
    assert len(plan) / count == pytest.approx(0.005)
    assert set(plan.values()) == set(DIRTY_KINDS)
    assert all(index // DEFECT_EVERY == n for n, index in enumerate(sorted(plan)))  # one per block


def test_each_defect_kind_corrupts_its_column():
    count = 2_800
    rows = list(generate_workers(count, seed=4, dirty=True))
    plan = planned_defects(count, seed=4)
    assert sorted(collections.Counter(plan.values()).values()) == [2] * len(DIRTY_KINDS)
    ids_so_far: set[str] = set()
    for index, row in enumerate(rows):
        kind = plan.get(index)
        if kind == "missing_worker_id":
            assert row["worker_id"].strip() == ""
        elif kind == "bad_state":
            assert row["state"] in ("ZZ", "XX", "QQ", "Atlantis")
        elif kind == "bad_date":
            assert row["available_from"] in ("2026-13-45", "next week", "2026-02-30", "soon")
        elif kind == "duplicate_worker_id":
            assert row["worker_id"] in ids_so_far  # repeats an id seen earlier in the file
        elif kind == "bad_years_experience":
            assert isinstance(row["years_experience"], str) and not row["years_experience"].isdigit()
        elif kind == "bad_reliability":
            assert isinstance(row["reliability"], str)
        elif kind == "bad_hourly_rate":
            assert isinstance(row["hourly_rate"], str)
        else:
            assert row["worker_id"] == f"W-{index + 1:06d}"
        ids_so_far.add(row["worker_id"])


# --- writers ------------------------------------------------------------------------------------------------------


def test_parquet_is_written_in_row_groups(tmp_path):
    path = tmp_path / "workers.parquet"
    count = 2 * PARQUET_ROW_GROUP_SIZE + 500
    assert write_workers(generate_workers(count, seed=1), path) == count
    metadata = pq.ParquetFile(path).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [PARQUET_ROW_GROUP_SIZE, PARQUET_ROW_GROUP_SIZE, 500]
    schema = pq.read_schema(path)
    assert schema.names == list(vocab.SOURCE_COLUMNS)
    assert schema.field("skills").type.value_type == pa.string()
    assert schema.field("sms_opt_out").type == pa.bool_()


def test_csv_has_a_header_and_semicolon_joined_lists(tmp_path):
    rows = list(generate_workers(20, seed=9))
    path = tmp_path / "workers.csv"
    write_workers(rows, path)
    with open(path, newline="", encoding="utf-8") as file:
        records = list(csv.DictReader(file))
    assert list(records[0]) == list(vocab.SOURCE_COLUMNS)
    for row, record in zip(rows, records):
        assert record["skills"] == ";".join(row["skills"])
        assert record["sms_opt_out"] == ("true" if row["sms_opt_out"] else "false")
        assert record["available_from"] == (row["available_from"] or "")


def test_jsonl_holds_one_object_per_line(tmp_path):
    rows = list(generate_workers(20, seed=9))
    path = tmp_path / "workers.jsonl"
    write_workers(rows, path)
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == rows


def test_format_can_be_forced_and_unknown_extensions_are_refused(tmp_path):
    path = tmp_path / "workers.data"
    with pytest.raises(ValueError, match="extension"):
        write_workers(generate_workers(1, seed=0), path)
    assert write_workers(generate_workers(3, seed=0), path, fmt="jsonl") == 3
    assert len(path.read_text().splitlines()) == 3


def test_unknown_columns_are_refused_rather_than_dropped(tmp_path):
    rows = [{**next(generate_workers(1, seed=0)), "favourite_color": "blue"}]
    for fmt in FORMATS:
        with pytest.raises(ValueError, match="favourite_color"):
            write_workers(rows, tmp_path / f"workers.{fmt}")
        assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_a_failed_write_leaves_no_file(tmp_path):
    def rows_then_crash():
        yield from generate_workers(10, seed=0)
        raise RuntimeError("source died")

    for fmt in FORMATS:
        with pytest.raises(RuntimeError):
            write_workers(rows_then_crash(), tmp_path / f"workers.{fmt}")
    assert list(tmp_path.iterdir()) == []


def test_empty_corpus_writes_valid_empty_files(tmp_path):
    for fmt in FORMATS:
        assert write_workers([], tmp_path / f"empty.{fmt}") == 0
    assert pq.ParquetFile(tmp_path / "empty.parquet").metadata.num_rows == 0
    assert (tmp_path / "empty.csv").read_text().strip() == ",".join(vocab.SOURCE_COLUMNS)
    assert (tmp_path / "empty.jsonl").read_text() == ""
