"""Unit tests for apps.orders.fill_validator (SPEC §4.5)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from apps.orders.fill_validator import FillValidator, FillVerdict

ORDER: dict[str, Any] = {
    "order_id": "O-100",
    "city": "Columbus",
    "state": "OH",
    "role": "forklift_operator",
    "headcount": 2,
    "shift": "night",
    "start_date": date(2026, 12, 1),
    "required_certifications": ["OSHA-10", "Forklift"],
}


def make_worker(**overrides: Any) -> dict[str, Any]:
    worker = {
        "status": "active",
        "available_from": None,
        "shift_preference": ["night"],
        "city": "Columbus",
        "state": "OH",
        "role": "forklift_operator",
        "certifications": ["OSHA-10", "Forklift"],
    }
    worker.update(overrides)
    return worker


@pytest.fixture
def validator() -> FillValidator:
    return FillValidator()


def errors_of(verdict: FillVerdict) -> list[tuple[str, str | None]]:
    return [(error["code"], error["worker_id"]) for error in verdict.errors]


def test_fitting_proposal_is_ok(validator: FillValidator) -> None:
    workers = {"W-1": make_worker(), "W-2": make_worker()}
    verdict = validator.validate(ORDER, ["W-1", "W-2"], workers, [])
    assert verdict.to_dict() == {"ok": True, "errors": []}


def test_error_shape_and_headcount_has_null_worker(validator: FillValidator) -> None:
    verdict = validator.validate(ORDER, ["W-1"], {"W-1": make_worker()}, [])
    assert verdict.to_dict() == {
        "ok": False,
        "errors": [
            {
                "code": "HEADCOUNT_MISMATCH",
                "worker_id": None,
                "message": "The order needs 2 worker(s); 1 distinct worker(s) proposed.",
            }
        ],
    }


def test_errors_follow_proposal_order_with_one_error_per_code(validator: FillValidator) -> None:
    workers = {
        "W-1": make_worker(city="Dayton"),
        "W-2": make_worker(status="inactive", shift_preference=["day"], available_from="2027-01-01"),
    }
    verdict = validator.validate(ORDER, ["W-2", "W-404", "W-1"], workers, [])
    assert errors_of(verdict) == [
        ("HEADCOUNT_MISMATCH", None),
        ("WORKER_UNAVAILABLE", "W-2"),
        ("UNKNOWN_WORKER", "W-404"),
        ("LOCATION_MISMATCH", "W-1"),
    ]
    unavailable = verdict.errors[1]["message"]
    assert "status is inactive" in unavailable
    assert "2027-01-01" in unavailable
    assert "night" in unavailable


def test_duplicate_is_reported_once_and_checked_once(validator: FillValidator) -> None:
    workers = {"W-1": make_worker(role="cna"), "W-2": make_worker()}
    verdict = validator.validate(ORDER, ["W-1", "W-2", "W-1", "W-1"], workers, [])
    assert errors_of(verdict) == [("DUPLICATE_WORKER", "W-1"), ("ROLE_MISMATCH", "W-1")]
    assert "3 times" in verdict.errors[0]["message"]


def test_unknown_worker_gets_no_other_errors(validator: FillValidator) -> None:
    bookings = [{"order_id": "O-9", "worker_ids": ["W-404"], "start_date": "2026-12-01"}]
    verdict = validator.validate(dict(ORDER, headcount=1), ["W-404"], {}, bookings)
    assert errors_of(verdict) == [("UNKNOWN_WORKER", "W-404")]


@pytest.mark.parametrize(
    ("available_from", "ok"),
    [
        (None, True),
        ("2026-11-30", True),
        ("2026-12-01", True),
        (date(2026, 12, 1), True),
        (datetime(2026, 12, 1, 23, 59), True),
        ("2026-12-02", False),
        (date(2026, 12, 2), False),
        ("not a date", True),  # unparseable availability is treated as unknown, not as a refusal
    ],
)
def test_availability_date(validator: FillValidator, available_from: Any, ok: bool) -> None:
    workers = {"W-1": make_worker(available_from=available_from)}
    verdict = validator.validate(dict(ORDER, headcount=1), ["W-1"], workers, [])
    assert verdict.ok is ok
    if not ok:
        assert errors_of(verdict) == [("WORKER_UNAVAILABLE", "W-1")]


def test_location_role_and_certifications_compare_leniently(validator: FillValidator) -> None:
    workers = {
        "W-1": make_worker(
            city="  COLUMBUS ", state="oh", role="Forklift Operator", certifications=["osha-10", "FORKLIFT"]
        ),
        "W-2": make_worker(city="columbus", role="forklift-operator", certifications=["Forklift", "OSHA-10", "CPR"]),
    }
    assert validator.validate(ORDER, ["W-1", "W-2"], workers, []).ok


def test_missing_certifications_are_listed(validator: FillValidator) -> None:
    verdict = validator.validate(dict(ORDER, headcount=1), ["W-1"], {"W-1": make_worker(certifications=[])}, [])
    [error] = verdict.errors
    assert error["code"] == "MISSING_CERTIFICATION"
    assert "OSHA-10" in error["message"] and "Forklift" in error["message"]


def test_same_city_other_state_is_a_location_mismatch(validator: FillValidator) -> None:
    workers = {"W-1": make_worker(city="Columbus", state="GA")}
    verdict = validator.validate(dict(ORDER, headcount=1), ["W-1"], workers, [])
    assert errors_of(verdict) == [("LOCATION_MISMATCH", "W-1")]


@pytest.mark.parametrize(
    ("booking", "double_booked"),
    [
        ({"start_date": "2026-12-01"}, True),
        ({"start_date": date(2026, 12, 1)}, True),
        ({"start_date": "2026-11-28", "end_date": "2026-12-03"}, True),
        ({"start_date": "2026-11-28", "end_date": "2026-11-30"}, False),
        ({"start_date": "2026-12-02"}, False),
        ({"start_date": None}, False),
    ],
)
def test_double_booking_overlaps_the_start_date(
    validator: FillValidator, booking: dict[str, Any], double_booked: bool
) -> None:
    bookings = [dict(booking, order_id="O-200", worker_ids=["W-1"])]
    verdict = validator.validate(dict(ORDER, headcount=1), ["W-1"], {"W-1": make_worker()}, bookings)
    assert verdict.ok is not double_booked
    if double_booked:
        assert errors_of(verdict) == [("DOUBLE_BOOKED", "W-1")]
        assert "O-200" in verdict.errors[0]["message"]


def test_multi_day_order_overlaps_later_bookings(validator: FillValidator) -> None:
    order = dict(ORDER, headcount=1, end_date="2026-12-10")
    bookings = [{"order_id": "O-200", "worker_ids": ["W-1"], "start_date": "2026-12-09"}]
    verdict = validator.validate(order, ["W-1"], {"W-1": make_worker()}, bookings)
    assert errors_of(verdict) == [("DOUBLE_BOOKED", "W-1")]


def test_the_orders_own_fill_is_not_a_double_booking(validator: FillValidator) -> None:
    bookings = [{"order_id": "O-100", "worker_ids": ["W-1"], "start_date": "2026-12-01"}]
    verdict = validator.validate(dict(ORDER, headcount=1), ["W-1"], {"W-1": make_worker()}, bookings)
    assert verdict.ok


def test_inline_order_without_id_checks_every_booking(validator: FillValidator) -> None:
    order = {key: value for key, value in ORDER.items() if key != "order_id"}
    bookings = [{"order_id": "O-100", "worker_ids": ["W-1"], "start_date": "2026-12-01"}]
    verdict = validator.validate(dict(order, headcount=1), ["W-1"], {"W-1": make_worker()}, bookings)
    assert errors_of(verdict) == [("DOUBLE_BOOKED", "W-1")]


def test_worker_without_shift_preferences_is_available_for_any_shift(validator: FillValidator) -> None:
    verdict = validator.validate(dict(ORDER, headcount=1), ["W-1"], {"W-1": make_worker(shift_preference=[])}, [])
    assert verdict.ok


@pytest.mark.parametrize(
    ("field", "value"), [("start_date", None), ("start_date", "soon"), ("headcount", None), ("headcount", "two")]
)
def test_malformed_order_is_a_caller_error(validator: FillValidator, field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        validator.validate(dict(ORDER, **{field: value}), ["W-1"], {"W-1": make_worker()}, [])
