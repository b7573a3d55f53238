"""Two accepts that share a worker, at once: one wins, the other re-validates after it and is a 409.

Deterministic rather than a race: thread A accepts inside an outer transaction it keeps open; thread
B then accepts a proposal of another order that shares W-2. With row locks B waits for A's commit and
sees the booking; without them B would book W-2 a second time. (The same race through the API, which
tests/validation had, added nothing: the lock order is the service's, and the 409 envelope of a
stale accept is checked in test_lifecycle.)"""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import connection, connections, transaction

from apps.core.errors import Conflict
from apps.interactions.models import Interaction
from apps.orders import services
from apps.orders.services import client_for_name
from apps.orders.models import FillProposal, JobOrder
from apps.workers.models import Worker

BOUND_S = 60


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_conflicting_accepts_at_once_give_one_409():
    for worker_id in ("W-1", "W-2", "W-3"):
        Worker.objects.create(
            worker_id=worker_id, first_name="Ana", city="Columbus", state="OH", role="forklift_operator",
            certifications=["OSHA-10"], shift_preference=["night"], status="active",
        )
    orders = [
        JobOrder.objects.create(
            order_id=order_id, client=client_for_name("Acme"), city="Columbus", state="OH", role="forklift_operator", headcount=2,
            shift="night", start_date=date(2026, 12, 7),
        )
        for order_id in ("JO-A", "JO-B")
    ]
    first = services.proposal_create(order_id="JO-A", worker_ids=["W-1", "W-2"])
    second = services.proposal_create(order_id="JO-B", worker_ids=["W-2", "W-3"])

    a_accepted, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def accept_and_hold() -> None:
        try:
            with transaction.atomic():
                services.proposal_accept(order_id="JO-A", proposal_id=first.pk, actor="a")
                a_accepted.set()
                assert release.wait(BOUND_S)
            outcomes["a"] = "accepted"
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            outcomes["a"] = exc
            a_accepted.set()
        finally:
            connections.close_all()

    def accept() -> None:
        try:
            services.proposal_accept(order_id="JO-B", proposal_id=second.pk, actor="b")
            outcomes["b"] = "accepted"
        except Exception as exc:  # noqa: BLE001
            outcomes["b"] = exc
        finally:
            connections.close_all()

    thread_a = threading.Thread(target=accept_and_hold)
    thread_a.start()
    assert a_accepted.wait(BOUND_S)
    thread_b = threading.Thread(target=accept)
    thread_b.start()
    _wait_for(lambda: _sessions_waiting_on_a_lock() >= 1 or not thread_b.is_alive(), "B to wait on A's locks")
    release.set()
    thread_a.join(BOUND_S)
    thread_b.join(BOUND_S)

    assert outcomes["a"] == "accepted"
    assert isinstance(outcomes["b"], Conflict) and "DOUBLE_BOOKED" in str(outcomes["b"]), outcomes
    assert FillProposal.objects.get(pk=second.pk).status == "proposed"
    assert [o.status for o in JobOrder.objects.filter(pk__in=[o.pk for o in orders]).order_by("order_id")] == ["filled", "open"]
    # The audit trail: the winner's acceptance only; the refused one wrote nothing.
    assert list(Interaction.objects.filter(kind="proposal_accepted").values_list("order_id", "actor")) == [("JO-A", "a")]
