"""Row normalization: canonical values, rejections with reasons, warnings, format-independent hashes."""

import dataclasses
import json
import math
from datetime import date, datetime
from decimal import Decimal

import phonenumbers
import pytest

from apps.workers import vocabulary as vocab
from apps.workers.generator import DIRTY_KINDS, generate_workers, planned_defects, write_workers
from apps.workers.normalize import (
    WORKER_FIELDS,
    NormalizedRow,
    Rejection,
    normalize_city,
    normalize_phone,
    normalize_role,
    normalize_row,
    normalize_state,
)
from apps.workers.sources import PARSE_ERROR_KEY, read_rows

FORMATS = ("parquet", "csv", "jsonl")

GOOD_ROW = {
    "worker_id": "W-000123",
    "first_name": "Maria",
    "last_name": "Lopez",
    "email": "maria.lopez@example.com",
    "phone": "(614) 555-0134",
    "city": "Columbus",
    "state": "OH",
    "zip": "43215",
    "role": "forklift_operator",
    "skills": ["pallet jack", "rf scanner"],
    "certifications": ["OSHA-10", "Forklift"],
    "shift_preference": ["night", "weekend"],
    "available_from": "2026-12-01",
    "years_experience": 6,
    "hourly_rate": 19.5,
    "reliability": 0.93,
    "status": "active",
    "sms_opt_out": False,
    "bio": "Forklift operator in cold storage.",
}


def normalized(**changes) -> NormalizedRow:
    result = normalize_row({**GOOD_ROW, **changes})
    assert isinstance(result, NormalizedRow), result
    return result


def rejected(**changes) -> Rejection:
    result = normalize_row({**GOOD_ROW, **changes})
    assert isinstance(result, Rejection), result
    return result


def test_a_good_row_normalizes_to_typed_canonical_values():
    row = normalized()
    assert row.worker_fields() == {
        "worker_id": "W-000123",
        "first_name": "Maria",
        "last_name": "Lopez",
        "email": "maria.lopez@example.com",
        "phone": "+16145550134",
        "city": "Columbus",
        "state": "OH",
        "zip": "43215",
        "role": "forklift_operator",
        "skills": ["pallet jack", "rf scanner"],
        "certifications": ["OSHA-10", "Forklift"],
        "shift_preference": ["night", "weekend"],
        "available_from": date(2026, 12, 1),
        "years_experience": 6,
        "hourly_rate": Decimal("19.50"),
        "reliability": 0.93,
        "status": "active",
        "sms_opt_out": False,
        "bio": "Forklift operator in cold storage.",
    }
    assert row.warnings == []
    assert len(row.content_hash) == 64 and int(row.content_hash, 16) >= 0
    assert tuple(row.worker_fields()) == WORKER_FIELDS == vocab.SOURCE_COLUMNS


def test_normalized_rows_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        normalized().state = "TX"


def test_strings_are_trimmed():
    row = normalized(worker_id="  W-000123 ", first_name=" Maria  ", last_name="Lopez\t", city="  Columbus ", bio="  hi  ")
    assert (row.worker_id, row.first_name, row.last_name, row.city, row.bio) == ("W-000123", "Maria", "Lopez", "Columbus", "hi")


# --- worker_id and state ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("worker_id", [None, "", "   "])
def test_missing_worker_id_is_rejected(worker_id):
    rejection = rejected(worker_id=worker_id)
    assert rejection == Rejection(worker_id=None, reason="missing worker_id")


def test_a_row_without_the_worker_id_column_is_rejected():
    raw = {key: value for key, value in GOOD_ROW.items() if key != "worker_id"}
    assert normalize_row(raw) == Rejection(None, "missing worker_id")


@pytest.mark.parametrize(
    ("state", "expected"),
    [("OH", "OH"), ("oh", "OH"), (" Oh ", "OH"), ("Ohio", "OH"), ("new  york", "NY"), ("DC", "DC"), ("District of Columbia", "DC"), ("PR", "PR")],
)
def test_state_becomes_the_upper_case_usps_code(state, expected):
    assert normalized(state=state).state == expected


@pytest.mark.parametrize(("state", "reason"), [("ZZ", "unknown state 'ZZ'"), ("Ohioo", "unknown state 'Ohioo'"), ("", "missing state"), (None, "missing state")])
def test_unknown_state_is_rejected_with_its_value(state, reason):
    assert rejected(state=state) == Rejection("W-000123", reason)


@pytest.mark.parametrize(("city", "expected"), [("columbus", "Columbus"), ("SALT LAKE  CITY", "Salt Lake City"), ("McAllen", "McAllen")])
def test_city_case_is_fixed_only_when_all_one_case(city, expected):
    assert normalized(city=city).city == expected
    assert normalize_city(city) == expected  # what search filters use


def test_public_helpers_for_filters_match_row_normalization():
    assert normalize_state("ohio") == "OH" and normalize_state("ZZ") is None
    assert normalize_role("Forklift Operator") == normalized(role="Forklift Operator").role == "forklift_operator"


# --- phone and email ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    ["(614) 555-0134", "614.555.0134", "+1 614 555 0134", "6145550134", "614-555-0134", "1-614-555-0134", "+16145550134", 6145550134, 6145550134.0],
)
def test_north_american_phone_formats_become_e164(phone):
    assert normalize_phone(phone) == ("+16145550134", None)


def test_fictional_555_numbers_are_accepted_whatever_the_assignment_metadata_says():
    assert normalized(phone="(212) 555-0199").phone == "+12125550199"
    # is_valid_number() follows number-assignment metadata, which changes between releases; the
    # normalizer checks the North American number shape only, so its answer does not change with it.
    assert not phonenumbers.is_valid_number(phonenumbers.parse("(370) 555-0134", "US"))
    assert normalized(phone="(370) 555-0134").phone == "+13705550134"


@pytest.mark.parametrize(
    ("phone", "warning"),
    [
        ("call after 5pm", "unparseable phone 'call after 5pm', stored empty"),
        ("555-0134", "unparseable phone '555-0134', stored empty"),  # no area code
        ("614-555-013", "unparseable phone '614-555-013', stored empty"),  # nine digits
        ("(123) 555-0134", "unparseable phone '(123) 555-0134', stored empty"),  # area codes never start with 1
        ("+44 20 7946 0958", "phone '+44 20 7946 0958' is not a North American number, stored empty"),
    ],
)
def test_unusable_phone_is_stored_empty_with_a_warning_not_a_rejection(phone, warning):
    row = normalized(phone=phone)
    assert row.phone == ""
    assert row.warnings == [warning]
    assert row.raw["phone"] == phone  # the original is kept


def test_phone_extension_is_dropped_with_a_warning():
    row = normalized(phone="614-555-0134 ext. 12")
    assert row.phone == "+16145550134"
    assert row.warnings == ["phone extension '12' dropped from '614-555-0134 ext. 12'"]


def test_empty_phone_and_email_are_fine():
    row = normalized(phone="", email=None)
    assert (row.phone, row.email, row.warnings) == ("", "", [])


def test_email_is_lower_cased_and_trimmed():
    assert normalized(email="  Maria.Lopez@Example.COM ").email == "maria.lopez@example.com"


@pytest.mark.parametrize("email", ["maria.lopez", "maria@", "@example.com", "maria lopez@example.com", "maria@example", "a@b@example.com"])
def test_obviously_invalid_email_is_stored_empty_with_a_warning(email):
    row = normalized(email=email)
    assert row.email == ""
    assert row.warnings == [f"invalid email {email.lower()!r}, stored empty"]


# --- role, lists -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "expected"), [("Forklift Operator", "forklift_operator"), ("CNA", "cna"), ("picker/packer", "picker_packer"), (" line-cook ", "line_cook")])
def test_role_becomes_lower_snake_case(role, expected):
    row = normalized(role=role)
    assert (row.role, row.warnings) == (expected, [])


def test_unknown_role_is_kept_with_a_warning():
    row = normalized(role="Drone Pilot")
    assert row.role == "drone_pilot"
    assert row.warnings == ["role 'drone_pilot' is not in the vocabulary"]


def test_list_columns_accept_lists_or_semicolon_text_and_normalize_the_same():
    from_lists = normalized(skills=["Pallet Jack", " RF  scanner", "pallet jack"], certifications=["OSHA-10", "osha-10", "Forklift "], shift_preference=["Night", "day"])
    from_text = normalized(skills="Pallet Jack; RF  scanner;pallet jack;", certifications="OSHA-10;osha-10;Forklift ", shift_preference="Night;day")
    assert from_lists.skills == from_text.skills == ["pallet jack", "rf scanner"]
    assert from_lists.certifications == from_text.certifications == ["OSHA-10", "Forklift"]  # case kept, deduplicated
    assert from_lists.shift_preference == from_text.shift_preference == ["night", "day"]
    assert from_lists.content_hash == from_text.content_hash


@pytest.mark.parametrize("empty", [None, "", [], ";"])
def test_empty_lists(empty):
    row = normalized(skills=empty, certifications=empty, shift_preference=empty)
    assert (row.skills, row.certifications, row.shift_preference) == ([], [], [])


def test_unknown_shift_is_rejected():
    assert rejected(shift_preference="day;evening").reason == "unknown shift 'evening' in shift_preference"


# --- dates and numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("2026-12-01", date(2026, 12, 1)),
        ("2026-12-01T08:30:00", date(2026, 12, 1)),
        ("12/01/2026", date(2026, 12, 1)),
        (date(2026, 12, 1), date(2026, 12, 1)),
        (datetime(2026, 12, 1, 8, 30), date(2026, 12, 1)),
    ],
)
def test_available_from_parses_to_a_date_or_none(value, expected):
    assert normalized(available_from=value).available_from == expected


@pytest.mark.parametrize("value", ["2026-13-45", "next week", "2026-02-30", "13/01/2026", "soon"])
def test_unparsable_available_from_is_rejected(value):
    assert rejected(available_from=value).reason == f"unparsable date {value!r} in available_from"


@pytest.mark.parametrize(("value", "expected"), [(7, 7), ("7", 7), (" 7 ", 7), (7.0, 7), ("7.0", 7), (0, 0), (None, None), ("", None)])
def test_years_experience_is_a_whole_number(value, expected):
    assert normalized(years_experience=value).years_experience == expected


@pytest.mark.parametrize("value", ["ten", "a few", -1, "-3", 7.5, True, "nan", float("inf"), "2015", 81])
def test_bad_years_experience_is_rejected_naming_field_and_value(value):
    reason = rejected(years_experience=value).reason
    assert reason.startswith(f"invalid years_experience {value!r}")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(19.5, "19.50"), ("19.5", "19.50"), (18.567, "18.57"), ("$1,020.5", "1020.50"), (Decimal("21.005"), "21.01"), (20, "20.00"), (None, None)],
)
def test_hourly_rate_is_a_two_place_decimal(value, expected):
    rate = normalized(hourly_rate=value).hourly_rate
    assert rate == (None if expected is None else Decimal(expected))
    assert expected is None or str(rate) == expected


@pytest.mark.parametrize("value", ["abc", "TBD", -1, "NaN", float("nan"), True, "10000", 1e12])
def test_bad_hourly_rate_is_rejected_naming_field_and_value(value):
    assert rejected(hourly_rate=value).reason.startswith(f"invalid hourly_rate {value!r}")


@pytest.mark.parametrize(("value", "expected"), [(0.93, 0.93), ("0.93", 0.93), (0, 0.0), (1, 1.0), ("", None)])
def test_reliability_is_a_float_in_0_to_1(value, expected):
    assert normalized(reliability=value).reliability == expected


@pytest.mark.parametrize("value", ["high", 1.2, -0.1, float("nan"), "nan", False])
def test_bad_reliability_is_rejected_naming_field_and_value(value):
    assert rejected(reliability=value).reason.startswith(f"invalid reliability {value!r}")


# --- status and opt-out ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(None, "active"), ("", "active"), ("Inactive", "inactive"), ("Do Not Contact", "do_not_contact"), ("do-not-contact", "do_not_contact")])
def test_status_defaults_to_active_and_accepts_human_spellings(value, expected):
    assert normalized(status=value).status == expected


def test_unknown_status_is_rejected():
    assert rejected(status="retired").reason == "unknown status 'retired'"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("FALSE", False), ("1", True), ("0", False), (1, True), (0, False), ("yes", True), ("No", False), ("", False), (None, False)],
)
def test_sms_opt_out_accepts_common_boolean_spellings(value, expected):
    assert normalized(sms_opt_out=value).sms_opt_out is expected


def test_unknown_sms_opt_out_is_rejected():
    assert rejected(sms_opt_out="maybe").reason == "invalid sms_opt_out 'maybe'"


# --- rejections, raw, hashes -----------------------------------------------------------------------------------------


def test_every_problem_of_a_row_is_reported():
    rejection = rejected(state="ZZ", available_from="next week", years_experience="ten")
    assert rejection.worker_id == "W-000123"
    assert rejection.reason == "unknown state 'ZZ'; unparsable date 'next week' in available_from; invalid years_experience 'ten'"


def test_reader_parse_errors_are_rejections():
    assert normalize_row({PARSE_ERROR_KEY: "invalid JSON: Expecting value at column 1"}) == Rejection(None, "invalid JSON: Expecting value at column 1")
    assert normalize_row({"worker_id": "W-9", PARSE_ERROR_KEY: "expected 3 fields, found 4"}) == Rejection("W-9", "expected 3 fields, found 4")
    assert normalize_row(["not", "a", "row"]) == Rejection(None, "expected a row of columns, found list")


def test_raw_keeps_the_source_row_and_unknown_columns_json_safe():
    row = normalized(source_system="legacy-crm", imported_at=datetime(2026, 11, 1, 9, 0), bonus=Decimal("1.50"), score=float("nan"))
    assert row.raw["source_system"] == "legacy-crm"
    assert row.raw["imported_at"] == "2026-11-01T09:00:00"
    assert row.raw["bonus"] == "1.50"
    assert row.raw["score"] is None
    assert row.raw["phone"] == "(614) 555-0134"  # as read, not normalized
    json.dumps(row.raw, allow_nan=False)  # storable in a jsonb column


def test_content_hash_ignores_representation_but_not_content():
    base = normalized()
    same = normalized(
        state="Ohio", phone="614.555.0134", email=" MARIA.LOPEZ@example.com", hourly_rate="19.50", years_experience="6",
        reliability="0.93", skills="pallet jack;rf scanner", available_from="12/01/2026", sms_opt_out="no", source_system="x",
    )
    assert same.content_hash == base.content_hash
    for change in ({"city": "Dayton"}, {"hourly_rate": 19.51}, {"skills": ["pallet jack"]}, {"available_from": None}, {"bio": "Other."}):
        assert normalized(**change).content_hash != base.content_hash, change


# --- end to end over generated files ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory):
    """The same 1,400-row dirty corpus (every defect kind present) in all three formats."""
    directory = tmp_path_factory.mktemp("corpus")
    paths = {fmt: directory / f"workers.{fmt}" for fmt in FORMATS}
    for path in paths.values():
        write_workers(generate_workers(1_400, seed=21, dirty=True), path)
    return paths


def read_and_normalize(path):
    return [(row.line, normalize_row(row.raw)) for batch in read_rows(path, batch_size=500) for row in batch]


def test_clean_generated_rows_all_normalize_and_warn_only_about_phones():
    results = [normalize_row(row) for row in generate_workers(3_000, seed=8)]
    assert all(isinstance(result, NormalizedRow) for result in results)
    warnings = [warning for result in results for warning in result.warnings]
    assert 0 < len(warnings) < 0.02 * len(results)  # ~1 % of phones are unparseable on purpose
    assert all(warning.startswith("unparseable phone") for warning in warnings)
    assert sum(1 for result in results if result.phone.startswith("+1")) / len(results) > 0.95
    assert {result.state for result in results} == {state for _, state in vocab.CITY_WEIGHTS}  # full names mapped back


EXPECTED_REASON_START = {
    "missing_worker_id": "missing worker_id",
    "bad_state": "unknown state '",
    "bad_date": "unparsable date '",
    "bad_years_experience": "invalid years_experience '",
    "bad_reliability": "invalid reliability '",
    "bad_hourly_rate": "invalid hourly_rate '",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_defect_is_rejected_with_its_reason_at_its_physical_line(corpus_files, fmt):
    plan = planned_defects(1_400, seed=21)
    assert set(plan.values()) == set(DIRTY_KINDS)
    line_of = {"csv": lambda index: index + 2, "jsonl": lambda index: index + 1, "parquet": lambda index: index + 1}[fmt]
    results = read_and_normalize(corpus_files[fmt])
    assert len(results) == 1_400
    rejections = {line: result for line, result in results if isinstance(result, Rejection)}
    expected_lines = {line_of(index): kind for index, kind in plan.items() if kind != "duplicate_worker_id"}
    assert set(rejections) == set(expected_lines)
    for line, kind in expected_lines.items():
        assert rejections[line].reason.startswith(EXPECTED_REASON_START[kind]), (line, kind, rejections[line])
        if kind == "bad_date":
            assert rejections[line].reason.endswith("' in available_from")
        if kind != "missing_worker_id":
            assert rejections[line].worker_id is not None


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicated_worker_ids_normalize_so_the_ingest_can_deduplicate_them(corpus_files, fmt):
    [duplicate_index] = [index for index, kind in planned_defects(1_400, seed=21).items() if kind == "duplicate_worker_id"]
    results = read_and_normalize(corpus_files[fmt])
    line, duplicate = results[duplicate_index]
    assert isinstance(duplicate, NormalizedRow)
    earlier = [result for _, result in results[:duplicate_index] if isinstance(result, NormalizedRow) and result.worker_id == duplicate.worker_id]
    assert len(earlier) == 1 and earlier[0].content_hash != duplicate.content_hash


def test_the_same_rows_hash_the_same_from_parquet_csv_and_jsonl(corpus_files):
    by_format = {fmt: [result for _, result in read_and_normalize(path)] for fmt, path in corpus_files.items()}
    parquet, csv_rows, jsonl = by_format["parquet"], by_format["csv"], by_format["jsonl"]
    assert len(parquet) == len(csv_rows) == len(jsonl) == 1_400
    compared = 0
    for a, b, c in zip(parquet, csv_rows, jsonl):
        if isinstance(a, Rejection):
            assert a == b == c  # same reason whatever the format
            continue
        assert a.content_hash == b.content_hash == c.content_hash
        assert a.worker_fields() == b.worker_fields() == c.worker_fields()
        compared += 1
    assert compared > 1_390


def test_normalized_values_respect_the_model_types(corpus_files):
    for _, result in read_and_normalize(corpus_files["csv"]):
        if isinstance(result, Rejection):
            continue
        assert result.state in {state for _, state in vocab.CITY_WEIGHTS}
        assert result.role in vocab.ROLES
        assert set(result.shift_preference) <= set(vocab.SHIFTS)
        assert result.status in vocab.STATUSES
        assert isinstance(result.hourly_rate, Decimal) and result.hourly_rate.as_tuple().exponent == -2
        assert isinstance(result.years_experience, int)
        assert 0 <= result.reliability <= 1 and not math.isnan(result.reliability)
        assert all(skill == skill.lower() for skill in result.skills)
