"""Find candidates for an order (SPEC §4.8a step 1): the shared search with the order's filters,
explained, without the workers already proposed, accepted or double-booked for it."""

from __future__ import annotations

from datetime import date

import pytest

from apps.orders import services
from apps.orders.models import FillProposal, JobOrder
from apps.orders.selectors import coordinator_home
from apps.search.services import order_candidate_request, order_candidates
from tests.admin.records import add_worker

pytestmark = pytest.mark.django_db

START = date(2026, 12, 7)


def _order(order_id: str, **fields) -> JobOrder:
    values = {"client": "Acme", "city": "Columbus", "state": "OH", "role": "forklift_operator", "headcount": 1, "shift": "night",
              "start_date": START, **fields}
    return services.order_create(order_id=order_id, **values)


def test_candidates_use_the_orders_filters_and_exclude_proposed_accepted_and_double_booked():
    for n in range(1, 7):
        add_worker(f"W-{n}")
    add_worker("W-dayton", city="Dayton")
    add_worker("W-welder", role="welder")
    add_worker("W-days", shift_preference=["day"])
    add_worker("W-late", available_from=date(2027, 1, 1))
    order = _order("JO-1", required_certifications=["OSHA-10"])
    other = _order("JO-2", start_date=date(2026, 12, 5), end_date=date(2026, 12, 9))  # overlaps JO-1's start
    later = _order("JO-3", start_date=date(2026, 12, 20))  # does not overlap

    services.proposal_create(order_id="JO-1", worker_ids=["W-1"])
    rejected = services.proposal_create(order_id="JO-1", worker_ids=["W-3"])
    services.proposal_reject(order_id="JO-1", proposal_id=rejected.pk)
    accepted = services.proposal_create(order_id="JO-1", worker_ids=["W-2"])
    services.proposal_accept(order_id="JO-1", proposal_id=accepted.pk)
    booked = services.proposal_create(order_id=other.order_id, worker_ids=["W-4"])
    services.proposal_accept(order_id=other.order_id, proposal_id=booked.pk)
    far = services.proposal_create(order_id=later.order_id, worker_ids=["W-5"])
    services.proposal_accept(order_id=later.order_id, proposal_id=far.pk)

    request = order_candidate_request(order)
    assert set(request.exclude_ids) == {"W-1", "W-2", "W-4"} and request.client == "Acme"
    assert request.explain and request.use_playbook and request.query.startswith("forklift operator night shift")
    body = order_candidates(order, k=100)
    mine = {f"W-{n}" for n in range(1, 7)} | {"W-dayton", "W-welder", "W-days", "W-late"}
    found = [r["worker_id"] for r in body["results"] if r["worker_id"] in mine]  # the session corpus may be there too
    # The rejected proposal's worker and the one booked on a later order are free again.
    assert sorted(found) == ["W-3", "W-5", "W-6"]
    assert all(r["explain"]["matched"]["certifications"] == ["OSHA-10"] and r["explain"]["matched"]["shift"] for r in body["results"])
    assert body["interaction_id"]


def test_the_inline_verdict_counts_only_the_open_seats():
    add_worker("W-1")
    add_worker("W-2")
    _order("JO-1", headcount=2)
    assert services.proposal_check(order_id="JO-1", worker_ids=["W-2"])["errors"][0]["code"] == "HEADCOUNT_MISMATCH"
    assert services.proposal_check(order_id="JO-1", worker_ids=["W-1", "W-2"])["ok"] is True
    assert not FillProposal.objects.exists()  # checking writes nothing


def test_coordinator_home_lists_my_open_orders_with_filled_counts_and_proposals_awaiting():
    from django.utils import timezone

    for n in range(1, 5):
        add_worker(f"W-{n}")
    soon = _order("JO-soon", headcount=2, start_date=timezone.localdate())
    _order("JO-later", start_date=date(2027, 3, 1))
    accepted = services.proposal_create(order_id="JO-soon", worker_ids=["W-1", "W-2"], actor="coord")
    services.proposal_accept(order_id="JO-soon", proposal_id=accepted.pk)
    soon.refresh_from_db()
    assert soon.status == "filled"
    _order("JO-soon2", headcount=2, start_date=timezone.localdate())
    waiting = services.proposal_create(order_id="JO-soon2", worker_ids=["W-3", "W-4"], actor="coord")

    home = coordinator_home(actor="coord")
    assert home["mine_only"] and [o.order_id for o in home["my_orders"]] == ["JO-soon2"]  # JO-soon is filled
    assert [(o.order_id, o.filled, o.headcount) for o in home["starting_soon"]] == [("JO-soon2", 0, 2)]
    assert home["awaiting"] == [waiting]
    assert coordinator_home(actor="someone-else")["mine_only"] is False  # nothing of theirs: every open order


def test_filled_counts_leave_out_no_shows_and_declines_but_keep_completed_assignments():
    from apps.orders.selectors import filled_counts

    for n in range(1, 4):
        add_worker(f"W-{n}")
    order = _order("JO-1", headcount=3)
    accepted = services.proposal_create(order_id="JO-1", worker_ids=["W-1", "W-2", "W-3"])
    services.proposal_accept(order_id="JO-1", proposal_id=accepted.pk)
    assert filled_counts([order]) == {order.pk: 3}

    services.assignment_end(order_id="JO-1", worker_id="W-1", reason="no_show")
    services.assignment_end(order_id="JO-1", worker_id="W-2", reason="completed")
    assert filled_counts([order]) == {order.pk: 2}  # the no-show's seat is free again; a completed one is not
