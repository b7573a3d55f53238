"""Fill validation (SPEC §4.5): do the proposed workers really fit the job order?

``FillValidator().validate(order, worker_ids, workers, bookings)`` works on plain data that the
caller looked up once, in bulk: ``workers`` maps worker_id → worker dict (SPEC §3.1 fields) and
``bookings`` lists accepted fills of other open orders (``{"order_id", "worker_ids", "start_date",
"end_date"?}``) and ``banned`` maps worker_id → reason for the order's client's do-not-assign list
(SPEC §3.2a).

Decisions where the spec is silent:

* An order or booking without ``end_date`` occupies its start date only; two date ranges overlap
  when they share at least one day (both ends inclusive). A booking of the order being validated is
  ignored, so re-validating an order's own accepted fill does not report it as double-booked.
* A worker with no ``shift_preference`` at all has stated no constraint and is not unavailable for
  any shift; with preferences, the order's shift must be one of them (case-insensitive).
* ``available_from`` equal to the start date is available; null means available now, and so does
  an unparseable value (unknown availability is not evidence of unavailability).
* Cities compare case- and whitespace-insensitively, states case-insensitively; roles compare after
  lower-casing and turning spaces/dashes into underscores ("Forklift Operator" = "forklift_operator");
  certifications compare case- and whitespace-insensitively.
* Each worker gets at most one error per code, in proposal order; a duplicated id is reported once
  and checked once. An unknown worker gets only ``UNKNOWN_WORKER``.
* A malformed order (no parseable ``start_date``, non-integer ``headcount``) is a caller bug and
  raises ``ValueError``; the API rejects such requests with a 400 before calling.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = [
    "DOUBLE_BOOKED",
    "DUPLICATE_WORKER",
    "FillValidator",
    "FillVerdict",
    "HEADCOUNT_MISMATCH",
    "LOCATION_MISMATCH",
    "MISSING_CERTIFICATION",
    "ROLE_MISMATCH",
    "UNKNOWN_WORKER",
    "WORKER_DO_NOT_ASSIGN",
    "WORKER_UNAVAILABLE",
]

HEADCOUNT_MISMATCH = "HEADCOUNT_MISMATCH"
DUPLICATE_WORKER = "DUPLICATE_WORKER"
UNKNOWN_WORKER = "UNKNOWN_WORKER"
WORKER_UNAVAILABLE = "WORKER_UNAVAILABLE"
LOCATION_MISMATCH = "LOCATION_MISMATCH"
ROLE_MISMATCH = "ROLE_MISMATCH"
MISSING_CERTIFICATION = "MISSING_CERTIFICATION"
DOUBLE_BOOKED = "DOUBLE_BOOKED"
WORKER_DO_NOT_ASSIGN = "WORKER_DO_NOT_ASSIGN"

FillError = dict[str, Any]


@dataclass
class FillVerdict:
    """Outcome of one fill validation."""

    ok: bool
    errors: list[FillError] = field(default_factory=list)

    @property
    def error_codes(self) -> set[str]:
        return {error["code"] for error in self.errors}

    def to_dict(self) -> dict[str, Any]:
        """The SPEC §4.5 response body."""
        return {"ok": self.ok, "errors": [dict(error) for error in self.errors]}


def _error(code: str, worker_id: str | None, message: str) -> FillError:
    return {"code": code, "worker_id": worker_id, "message": message}


def _parse_date(value: Any) -> date | None:
    """A date from a date, a datetime or an ISO string; None when absent or unparseable."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


_WHITESPACE = re.compile(r"\s+")
_ROLE_SEPARATORS = re.compile(r"[\s\-]+")


def _city_key(value: Any) -> str:
    return _WHITESPACE.sub(" ", str(value or "")).strip().casefold()


def _state_key(value: Any) -> str:
    return str(value or "").strip().upper()


def _role_key(value: Any) -> str:
    return _ROLE_SEPARATORS.sub("_", str(value or "").strip().casefold())


def _certification_key(value: Any) -> str:
    return _WHITESPACE.sub(" ", str(value)).strip().casefold()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, Iterable) else [value]


def _ranges_overlap(start_a: date, end_a: date, start_b: date, end_b: date) -> bool:
    return start_a <= end_b and start_b <= end_a


class FillValidator:
    """Validates a fill proposal against its order (SPEC §4.5). Stateless and thread-safe."""

    def validate(
        self,
        order: Mapping[str, Any],
        worker_ids: Iterable[Any],
        workers: Mapping[str, Mapping[str, Any]],
        bookings: Iterable[Mapping[str, Any]] = (),
        *,
        banned: Mapping[str, str] | None = None,
    ) -> FillVerdict:
        """Check ``worker_ids`` against ``order``; see the module docstring for the rules."""
        start = _parse_date(order.get("start_date"))
        if start is None:
            raise ValueError(f"order.start_date must be a date or ISO date string, got {order.get('start_date')!r}")
        end = _parse_date(order.get("end_date")) or start
        try:
            headcount = int(order.get("headcount"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"order.headcount must be an integer, got {order.get('headcount')!r}") from None

        proposed = [str(worker_id) for worker_id in _as_list(worker_ids)]
        occurrences = Counter(proposed)
        errors: list[FillError] = []
        if len(occurrences) != headcount:
            errors.append(
                _error(
                    HEADCOUNT_MISMATCH,
                    None,
                    f"The order needs {headcount} worker(s); {len(occurrences)} distinct worker(s) proposed.",
                )
            )

        bookings_by_worker = self._other_bookings_by_worker(order.get("order_id"), start, end, bookings)
        required = {_certification_key(cert): str(cert) for cert in _as_list(order.get("required_certifications"))}
        seen: set[str] = set()
        for worker_id in proposed:
            if worker_id in seen:
                continue
            seen.add(worker_id)
            if occurrences[worker_id] > 1:
                errors.append(
                    _error(DUPLICATE_WORKER, worker_id, f"{worker_id} is proposed {occurrences[worker_id]} times.")
                )
            worker = workers.get(worker_id) if isinstance(workers, Mapping) else None
            if not isinstance(worker, Mapping):
                errors.append(_error(UNKNOWN_WORKER, worker_id, f"{worker_id} is not in the worker corpus."))
                continue
            errors += self._worker_errors(worker_id, worker, order, start, required)
            if banned and worker_id in banned:
                errors.append(
                    _error(
                        WORKER_DO_NOT_ASSIGN,
                        worker_id,
                        f"{worker_id} is on {order.get('client') or 'the client'}'s do-not-assign list: {banned[worker_id]}",
                    )
                )
            if worker_id in bookings_by_worker:
                other_orders = ", ".join(sorted(bookings_by_worker[worker_id]))
                errors.append(
                    _error(
                        DOUBLE_BOOKED,
                        worker_id,
                        f"{worker_id} is already booked on order {other_orders} over the same dates.",
                    )
                )
        return FillVerdict(ok=not errors, errors=errors)

    @staticmethod
    def _worker_errors(
        worker_id: str,
        worker: Mapping[str, Any],
        order: Mapping[str, Any],
        start: date,
        required: Mapping[str, str],
    ) -> list[FillError]:
        errors: list[FillError] = []

        reasons = []
        status = str(worker.get("status") or "").strip().lower()
        if status != "active":
            reasons.append(f"status is {status or 'unknown'}")
        available_from = _parse_date(worker.get("available_from"))
        if available_from is not None and available_from > start:
            reasons.append(f"available from {available_from.isoformat()}, after the start date {start.isoformat()}")
        shift = str(order.get("shift") or "").strip().lower()
        preferences = {str(pref).strip().lower() for pref in _as_list(worker.get("shift_preference"))}
        if shift and preferences and shift not in preferences:
            reasons.append(f"does not work {shift} shifts (prefers {', '.join(sorted(preferences))})")
        if reasons:
            errors.append(_error(WORKER_UNAVAILABLE, worker_id, f"{worker_id} is unavailable: {'; '.join(reasons)}."))

        if _city_key(worker.get("city")) != _city_key(order.get("city")) or _state_key(
            worker.get("state")
        ) != _state_key(order.get("state")):
            errors.append(
                _error(
                    LOCATION_MISMATCH,
                    worker_id,
                    f"{worker_id} is in {worker.get('city')}, {worker.get('state')}; "
                    f"the order is in {order.get('city')}, {order.get('state')}.",
                )
            )

        if _role_key(worker.get("role")) != _role_key(order.get("role")):
            errors.append(
                _error(
                    ROLE_MISMATCH,
                    worker_id,
                    f"{worker_id} is a {worker.get('role')}; the order needs a {order.get('role')}.",
                )
            )

        held = {_certification_key(cert) for cert in _as_list(worker.get("certifications"))}
        missing = [label for key, label in required.items() if key not in held]
        if missing:
            errors.append(
                _error(
                    MISSING_CERTIFICATION,
                    worker_id,
                    f"{worker_id} lacks required certification(s): {', '.join(missing)}.",
                )
            )
        return errors

    @staticmethod
    def _other_bookings_by_worker(
        order_id: Any, start: date, end: date, bookings: Iterable[Mapping[str, Any]]
    ) -> dict[str, set[str]]:
        """worker_id → ids of other orders whose accepted fill overlaps this order's dates."""
        booked: dict[str, set[str]] = {}
        for booking in _as_list(bookings):
            if not isinstance(booking, Mapping):
                continue
            booking_order = booking.get("order_id")
            if order_id is not None and booking_order == order_id:
                continue
            booking_start = _parse_date(booking.get("start_date"))
            if booking_start is None:
                continue
            booking_end = _parse_date(booking.get("end_date")) or booking_start
            if not _ranges_overlap(start, end, booking_start, booking_end):
                continue
            for worker_id in _as_list(booking.get("worker_ids")):
                booked.setdefault(str(worker_id), set()).add(str(booking_order))
        return booked
