"""A deterministic lock race for the order services' concurrency tests: the holder's work runs in a
transaction kept open; the waiter starts once the holder's writes are in, and the holder commits only
after the waiter is seen blocked on a PostgreSQL lock (or has already ended, which the caller's
assertions then catch). Without the row locks under test the waiter would not block and would act on
the state from before the holder's commit."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from django.db import connection, connections, transaction

BOUND_S = 60


def _sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


def race_behind_held_transaction(holder: Callable[[], Any], waiter: Callable[[], Any]) -> tuple[Any, Any]:
    """Run both and return (holder's result, waiter's result); a side that raised returns its exception."""
    holding, release = threading.Event(), threading.Event()
    outcomes: dict[str, Any] = {}

    def hold() -> None:
        try:
            with transaction.atomic():
                outcomes["holder"] = holder()
                holding.set()
                assert release.wait(BOUND_S)
        except Exception as exc:  # noqa: BLE001 - returned to the caller's assertions
            outcomes["holder"] = exc
            holding.set()
        finally:
            connections.close_all()

    def wait() -> None:
        try:
            outcomes["waiter"] = waiter()
        except Exception as exc:  # noqa: BLE001
            outcomes["waiter"] = exc
        finally:
            connections.close_all()

    holder_thread = threading.Thread(target=hold)
    holder_thread.start()
    assert holding.wait(BOUND_S), "the holder never finished its work"
    waiter_thread = threading.Thread(target=wait)
    waiter_thread.start()
    deadline = time.monotonic() + BOUND_S
    while _sessions_waiting_on_a_lock() < 1 and waiter_thread.is_alive():
        assert time.monotonic() < deadline, "the waiter never waited on the holder's lock"
        time.sleep(0.02)
    release.set()
    holder_thread.join(BOUND_S)
    waiter_thread.join(BOUND_S)
    return outcomes["holder"], outcomes["waiter"]
