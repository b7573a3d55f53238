"""Proposals and the order lifecycle through the API (SPEC §3.2, §4.8a steps 2 and 4), on the real
database: propose (validated, nothing written on a failing verdict), accept (re-validated, fills the
order, records the playbook), reject and cancel (free the workers)."""

from __future__ import annotations

from datetime import date

import pytest

from apps.orders.services import client_for_name
from apps.orders.models import FillProposal, JobOrder
from apps.playbooks.models import Playbook
from apps.workers.models import Worker

pytestmark = pytest.mark.django_db


def _worker(worker_id: str, **overrides) -> Worker:
    fields = dict(
        first_name="Ana", city="Columbus", state="OH", role="forklift_operator", certifications=["OSHA-10"],
        shift_preference=["night"], status="active",
    )
    return Worker.objects.create(worker_id=worker_id, **{**fields, **overrides})


def _order(order_id: str = "JO-1", **overrides) -> JobOrder:
    fields = dict(
        client=client_for_name("Acme"), city="Columbus", state="OH", role="forklift_operator", headcount=2, shift="night",
        start_date=date(2026, 12, 7), required_certifications=["OSHA-10"],
    )
    return JobOrder.objects.create(order_id=order_id, **{**fields, **overrides})


@pytest.fixture
def workers(db) -> None:
    for i in range(1, 6):
        _worker(f"W-{i}")
    _worker("W-9", city="Dayton")


def _propose(client, order_id: str, worker_ids: list[str]):
    return client.post(f"/api/v1/orders/{order_id}/proposals/", {"worker_ids": worker_ids}, format="json")


def test_propose_accept_fills_the_order_and_records_the_playbook(coordinator_client, workers):
    _order()
    created = _propose(coordinator_client, "JO-1", ["W-1", "W-2"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["ok"], body["verdict"], body["worker_ids"]) == ("proposed", True, {"ok": True, "errors": []}, ["W-1", "W-2"])
    listed = coordinator_client.get("/api/v1/orders/JO-1/proposals/").json()
    assert [p["id"] for p in listed["results"]] == [body["id"]]

    accepted = coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{body['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert JobOrder.objects.get().status == "filled"  # 2 of 2: the order used to stay open
    playbook = Playbook.objects.get()
    assert (playbook.outcome, playbook.worker_ids, playbook.order.order_id) == ("filled", ["W-1", "W-2"], "JO-1")


def test_a_failing_proposal_is_a_400_naming_each_worker_and_writes_nothing(coordinator_client, workers):
    _order()
    response = _propose(coordinator_client, "JO-1", ["W-1", "W-9"])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "fill_invalid"
    assert error["fields"]["worker_ids"] == [
        {"worker_id": "W-9", "code": "LOCATION_MISMATCH", "message": error["fields"]["worker_ids"][0]["message"]}
    ]
    assert not FillProposal.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"worker_ids": []}, {"worker_ids": "W-1"}, {"worker_ids": ["W-1"], "extra": 1}])
def test_malformed_proposals_are_400(coordinator_client, workers, payload):
    _order()
    response = coordinator_client.post("/api/v1/orders/JO-1/proposals/", payload, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"]
    assert not FillProposal.objects.exists()


def test_unknown_order_or_proposal_is_404(coordinator_client, workers):
    assert _propose(coordinator_client, "JO-404", ["W-1"]).status_code == 404
    _order()
    assert coordinator_client.post("/api/v1/orders/JO-1/proposals/999/accept/").status_code == 404
    other = FillProposal.objects.create(order=_order("JO-2"), worker_ids=["W-1", "W-2"], ok=True)
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{other.pk}/reject/").status_code == 404  # not this order's


def test_accept_rechecks_a_booking_made_since_the_proposal(coordinator_client, workers):
    _order("JO-1")
    _order("JO-2", end_date=date(2026, 12, 9))
    first = _propose(coordinator_client, "JO-1", ["W-1", "W-2"]).json()
    second = _propose(coordinator_client, "JO-2", ["W-2", "W-3"]).json()  # W-2 is not booked yet: valid
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{first['id']}/accept/").status_code == 200
    conflict = coordinator_client.post(f"/api/v1/orders/JO-2/proposals/{second['id']}/accept/")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "proposal_invalid"
    assert "DOUBLE_BOOKED" in conflict.json()["error"]["message"]
    assert FillProposal.objects.get(pk=second["id"]).status == "proposed"
    # A filled order still books its workers (bookings used to count open orders only).
    assert JobOrder.objects.get(order_id="JO-1").status == "filled"
    assert _propose(coordinator_client, "JO-2", ["W-2", "W-4"]).status_code == 400


def test_reject_frees_the_workers_and_reopens_the_order(coordinator_client, workers):
    _order("JO-1")
    _order("JO-2")
    proposal = _propose(coordinator_client, "JO-1", ["W-1", "W-2"]).json()
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/accept/")
    rejected = coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/reject/")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected" and rejected.json()["decided_at"]
    assert JobOrder.objects.get(order_id="JO-1").status == "open"
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/reject/").status_code == 409
    assert _propose(coordinator_client, "JO-2", ["W-1", "W-2"]).status_code == 201  # free again


def test_partial_fills_count_toward_the_headcount(coordinator_client, workers):
    _order(headcount=3)
    first = _propose(coordinator_client, "JO-1", ["W-1", "W-2", "W-3"]).json()
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{first['id']}/accept/")
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{first['id']}/reject/")
    two = _propose(coordinator_client, "JO-1", ["W-1", "W-2"])
    assert two.status_code == 400 and {e["code"] for e in two.json()["error"]["fields"]["worker_ids"]} == {"HEADCOUNT_MISMATCH"}
    one = _propose(coordinator_client, "JO-1", ["W-1", "W-2", "W-4"]).json()
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{one['id']}/accept/")
    assert JobOrder.objects.get().status == "filled"
    # A filled order takes no proposals.
    assert _propose(coordinator_client, "JO-1", ["W-5"]).status_code == 409


def test_cancel_rejects_open_proposals_frees_workers_and_is_for_operators(coordinator_client, staff_client, workers):
    _order("JO-1")
    _order("JO-2")
    accepted = _propose(coordinator_client, "JO-1", ["W-1", "W-2"]).json()
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{accepted['id']}/accept/")
    JobOrder.objects.filter(order_id="JO-1").update(status="open", headcount=4)
    pending = _propose(coordinator_client, "JO-1", ["W-3", "W-4"]).json()

    assert coordinator_client.post("/api/v1/orders/JO-1/cancel/").status_code == 403
    cancelled = staff_client.post("/api/v1/orders/JO-1/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert FillProposal.objects.get(pk=pending["id"]).status == "rejected"
    assert staff_client.post("/api/v1/orders/JO-1/cancel/").status_code == 409
    assert _propose(coordinator_client, "JO-1", ["W-3", "W-4"]).status_code == 409
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{pending['id']}/accept/").status_code == 409
    assert _propose(coordinator_client, "JO-2", ["W-1", "W-2"]).status_code == 201  # a cancelled order books no one


def test_validate_fill_creates_nothing(coordinator_client, workers):
    _order()
    for _ in range(3):
        body = coordinator_client.post("/api/v1/validate/fill", {"order_id": "JO-1", "worker_ids": ["W-1", "W-2"]}, format="json").json()
        assert body.pop("interaction_id") and body == {"ok": True, "errors": []}
    assert not FillProposal.objects.exists()


def test_a_headcount_change_fills_or_reopens_the_order(coordinator_client, staff_client, workers):
    _order(headcount=2)
    proposal = _propose(coordinator_client, "JO-1", ["W-1", "W-2"]).json()
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/accept/")
    assert staff_client.patch("/api/v1/orders/JO-1/", {"headcount": 3}, format="json").json()["status"] == "open"
    assert _propose(coordinator_client, "JO-1", ["W-3"]).status_code == 201  # one seat left
    assert staff_client.patch("/api/v1/orders/JO-1/", {"headcount": 2}, format="json").json()["status"] == "filled"
