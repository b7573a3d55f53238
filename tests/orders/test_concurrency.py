"""Two accepts that share a worker, at once: one wins, the other re-validates after it and is a 409.

Deterministic rather than a race: thread A accepts inside an outer transaction it keeps open; thread
B then accepts a proposal of another order that shares W-2. With row locks B waits for A's commit and
sees the booking; without them B would book W-2 a second time. (The same race through the API, which
tests/validation had, added nothing: the lock order is the service's, and the 409 envelope of a
stale accept is checked in test_lifecycle.)"""

from __future__ import annotations

from datetime import date

import pytest

from apps.core.errors import Conflict
from apps.interactions.models import Interaction
from apps.orders import services
from apps.orders.services import client_for_name
from apps.orders.models import FillProposal, JobOrder
from apps.workers.models import Worker
from tests.orders.lock_race import race_behind_held_transaction





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

    a, b = race_behind_held_transaction(
        lambda: services.proposal_accept(order_id="JO-A", proposal_id=first.pk, actor="a"),
        lambda: services.proposal_accept(order_id="JO-B", proposal_id=second.pk, actor="b"),
    )

    assert isinstance(a, FillProposal) and a.status == "accepted", a
    assert isinstance(b, Conflict) and "DOUBLE_BOOKED" in str(b), b
    assert FillProposal.objects.get(pk=second.pk).status == "proposed"
    assert [o.status for o in JobOrder.objects.filter(pk__in=[o.pk for o in orders]).order_by("order_id")] == ["filled", "open"]
    # The audit trail: the winner's acceptance only; the refused one wrote nothing.
    assert list(Interaction.objects.filter(kind="proposal_accepted").values_list("order_id", "actor")) == [("JO-A", "a")]
