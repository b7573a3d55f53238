"""After the start (SPEC §4.8a step 5): ending an assignment. A no-show or decline frees the seat,
reopens a filled order and teaches the playbook; any ended assignment stops booking the worker; the
backfill candidates leave out everyone already tried for the order and the client's banned workers."""

from __future__ import annotations

from datetime import date

import pytest

from apps.indexes.embedders import get_embedder
from apps.orders import services
from apps.orders.models import JobOrder
from apps.playbooks.models import Playbook
from apps.search.services import backfill_candidates
from apps.workers.models import Worker
from apps.workers.profile import profile_text

pytestmark = pytest.mark.django_db


# A city no generated corpus has: the session's search corpus may share the database.
def _worker(worker_id: str) -> Worker:
    fields = dict(
        first_name="Ana", city="Testville", state="OH", role="forklift_operator", certifications=["OSHA-10"],
        shift_preference=["night"], status="active", skills=["pallet jack"],
    )
    fields["embedding"] = get_embedder().embed([profile_text(fields)])[0]  # searchable, as ingest would make it
    return Worker.objects.create(worker_id=worker_id, **fields)


def _filled_order(order_id: str = "JO-1", workers=("W-1", "W-2")) -> JobOrder:
    services.order_create(
        order_id=order_id, client="Acme", city="Testville", state="OH", role="forklift_operator", headcount=len(workers),
        shift="night", start_date=date(2026, 12, 7),
    )
    proposal = services.proposal_create(order_id=order_id, worker_ids=list(workers))
    services.proposal_accept(order_id=order_id, proposal_id=proposal.pk)
    return JobOrder.objects.get(order_id=order_id)


def _end(api, worker_id: str, reason: str, order_id: str = "JO-1"):
    return api.post(f"/api/v1/orders/{order_id}/assignments/{worker_id}/end/", {"reason": reason}, format="json")


def test_a_no_show_frees_the_seat_reopens_the_order_and_records_a_negative_playbook(coordinator_client):
    for worker_id in ("W-1", "W-2", "W-3"):
        _worker(worker_id)
    assert _filled_order().status == "filled"
    response = _end(coordinator_client, "W-1", "no_show")
    assert response.status_code == 200, response.content
    assert response.json()["order_status"] == "open" and response.json()["ended_by"] == "coordinator"
    assert JobOrder.objects.get(order_id="JO-1").status == "open"
    negative = Playbook.objects.get(outcome="no_show")
    assert negative.worker_ids == ["W-1"] and negative.order.order_id == "JO-1"

    again = coordinator_client.post("/api/v1/orders/JO-1/proposals/", {"worker_ids": ["W-1"]}, format="json")
    assert again.status_code == 400 and again.json()["error"]["fields"]["worker_ids"][0]["code"] == "DUPLICATE_WORKER"
    replacement = coordinator_client.post("/api/v1/orders/JO-1/proposals/", {"worker_ids": ["W-3"]}, format="json")
    assert replacement.status_code == 201, replacement.content
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{replacement.json()['id']}/accept/").status_code == 200
    assert JobOrder.objects.get(order_id="JO-1").status == "filled"


def test_ending_is_checked(coordinator_client):
    for worker_id in ("W-1", "W-2"):
        _worker(worker_id)
    _filled_order()
    assert _end(coordinator_client, "W-1", "vanished").status_code == 400
    assert _end(coordinator_client, "W-9", "declined").status_code == 404
    assert _end(coordinator_client, "W-1", "declined").status_code == 200
    assert _end(coordinator_client, "W-1", "no_show").status_code == 409
    assert Playbook.objects.filter(outcome="declined").count() == 1


def test_a_completed_assignment_keeps_the_seat_but_stops_booking_the_worker(coordinator_client):
    for worker_id in ("W-1", "W-2"):
        _worker(worker_id)
    _filled_order()
    services.order_create(
        order_id="JO-2", client="Globex", city="Testville", state="OH", role="forklift_operator", headcount=1, shift="night",
        start_date=date(2026, 12, 7),
    )
    booked = coordinator_client.post("/api/v1/orders/JO-2/proposals/", {"worker_ids": ["W-1"]}, format="json")
    assert booked.status_code == 400 and booked.json()["error"]["fields"]["worker_ids"][0]["code"] == "DOUBLE_BOOKED"
    assert _end(coordinator_client, "W-1", "completed").json()["order_status"] == "filled"
    assert not Playbook.objects.exclude(outcome="filled").exists()
    assert coordinator_client.post("/api/v1/orders/JO-2/proposals/", {"worker_ids": ["W-1"]}, format="json").status_code == 201


def test_backfill_candidates_leave_out_everyone_tried_and_the_banned():
    for i in range(1, 7):
        _worker(f"W-{i}")
    _filled_order(workers=("W-1", "W-2"))
    _filled_order("JO-B", workers=("W-6",))  # booked elsewhere on the same date
    services.assignment_end(order_id="JO-1", worker_id="W-1", reason="no_show")
    services.proposal_create(order_id="JO-1", worker_ids=["W-3"])  # proposed, not yet decided
    services.do_not_assign_add(client="Acme", worker_id="W-4", reason="Client request")
    assert [c["worker_id"] for c in backfill_candidates("JO-1")] == ["W-5"]
