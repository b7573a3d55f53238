"""The evidence API through the client: roles, 202/201 bodies, the receipt, filters, 400s and 409."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from apps.evidence import services
from apps.evidence.models import MaterializeRun
from apps.interactions.models import Interaction
from tests.evidence.conftest import DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_tasks(monkeypatch) -> list[str]:
    """What would have been sent to the Celery worker."""
    from apps.evidence import tasks

    sent: list[str] = []

    class Result:
        id = "task-123"

    monkeypatch.setattr(tasks.materialize_task, "delay", lambda run_id: sent.append(run_id) or Result())
    return sent


# ------------------------------------------------------------------------------ materialize


def test_staff_queue_a_run_and_get_202_with_its_id(kb_dir, staff_client, queued_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/api/v1/evidence/materialize/", {"day": DAY}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    run = MaterializeRun.objects.get(pk=body["job_id"])
    assert queued_tasks == [run.run_id]
    # (task_id is null in the body here only because the test's transaction defers the on_commit send)
    assert set(body) == {"job_id", "task_id"} and body["job_id"] == run.run_id
    assert (run.status, run.mode, run.day.isoformat(), run.created_by) == ("queued", "range", DAY, "operator")
    assert run.kb_dir == str(kb_dir) and run.task_id == "task-123"


def test_coordinators_cannot_materialize(coordinator_client, queued_tasks):
    response = coordinator_client.post("/api/v1/evidence/materialize/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not MaterializeRun.objects.exists() and queued_tasks == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"days": DAY}, "days"),
        ({"day": "yesterday"}, "day"),
        ({"since": "soon"}, "since"),
        ({"rebuild_day": DAY, "day": DAY}, "rebuild_day"),
    ],
)
def test_bad_materialize_requests_are_400_with_the_field(staff_client, queued_tasks, payload, field):
    response = staff_client.post("/api/v1/evidence/materialize/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not MaterializeRun.objects.exists()


def test_materialize_is_409_while_a_run_holds_the_lock(staff_client, queued_tasks, other_connection_holding_the_lock):
    response = staff_client.post("/api/v1/evidence/materialize/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "materialize_busy"
    assert not MaterializeRun.objects.exists()


# ------------------------------------------------------------------------------------- runs


def test_runs_list_and_detail_show_the_receipt(kb_dir, coordinator_client, make_interaction):
    make_interaction("search", request={"query": "x", "k": "many"})
    make_interaction("chat")
    run = services.build_evidence_index()

    listing = coordinator_client.get("/api/v1/evidence/runs/")
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 1 and body["next"] is None
    item = body["results"][0]
    assert (item["run_id"], item["status"], item["records_written"], item["errors_count"]) == (run.run_id, "succeeded", 1, 1)
    assert "errors" not in item  # the list is a summary

    detail = coordinator_client.get(f"/api/v1/evidence/runs/{run.run_id}/")
    assert detail.status_code == 200
    receipt = detail.json()
    assert receipt["schema"] == "materialize_receipt.v1" and receipt["status"] == "succeeded"
    assert receipt["errors"][0]["transform"] == "search_session" and "request.k" in receipt["errors"][0]["message"]
    assert receipt["files"] == run.files and receipt["per_day"] == {DAY: {"written": 1, "duplicates": 0}}
    assert receipt["sources_scanned"] == {"interaction": 2, "chat_log": 0, "replay_run": 0}

    assert coordinator_client.get("/api/v1/evidence/runs/?status=failed").json()["count"] == 0
    missing = coordinator_client.get("/api/v1/evidence/runs/mr_nope/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_reading_runs_and_records_needs_a_token():
    assert APIClient().get("/api/v1/evidence/runs/").status_code == 401
    assert APIClient().get("/api/v1/evidence/records/").status_code == 401


# ------------------------------------------------------------------------------------ records


def test_records_are_paginated_evidence_records_filtered_by_day_task_type_and_transform(kb_dir, coordinator_client, every_kind):
    services.build_evidence_index()
    page = coordinator_client.get("/api/v1/evidence/records/", {"page_size": 4})
    assert page.status_code == 200
    body = page.json()
    assert body["count"] == 9 and len(body["results"]) == 4 and body["next"]
    assert set(body["results"][0]) == {
        "schema", "evidence_id", "day", "occurred_at", "source_kind", "source_id", "transform", "transform_version", "task_type",
        "input", "output", "model", "prompt_tokens", "completion_tokens", "latency_ms", "verdict", "labels", "metadata",
    }

    sms = coordinator_client.get("/api/v1/evidence/records/", {"day": DAY, "task_type": "draft_sms"}).json()
    assert sms["count"] == 1 and sms["results"][0]["source_id"] == str(every_kind["validate_sms"].id)
    assert sms["results"][0]["schema"] == "evidence_record.v1"
    assert coordinator_client.get("/api/v1/evidence/records/", {"transform": "fill_proposal", "ok": "false"}).json()["count"] == 1
    assert coordinator_client.get("/api/v1/evidence/records/", {"day": "2026-11-21"}).json()["count"] == 0


@pytest.mark.parametrize(("params", "field"), [({"task_type": "juggling"}, "task_type"), ({"day": "tuesday"}, "day"), ({"transform": "pii_redaction"}, "transform")])
def test_bad_record_filters_are_400(coordinator_client, params, field):
    response = coordinator_client.get("/api/v1/evidence/records/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


# ----------------------------------------------------------------------------------- feedback


def test_a_coordinator_gives_feedback_and_it_is_logged_as_an_interaction(coordinator_client, make_interaction):
    target = make_interaction("validate_sms")
    response = coordinator_client.post(
        "/api/v1/evidence/feedback/", {"target_id": str(target.id), "verdict": "edit", "edited_text": "Shorter. Reply STOP"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    logged = Interaction.objects.get(pk=body["id"])
    assert (logged.kind, logged.actor, logged.ok) == ("feedback", "coordinator", True)
    assert logged.request == {"target_id": str(target.id), "verdict": "edit", "edited_text": "Shorter. Reply STOP"}
    assert body == {
        "id": str(logged.id), "kind": "feedback", "occurred_at": body["occurred_at"], "target_id": str(target.id), "verdict": "edit",
        "edited_text": "Shorter. Reply STOP",
    }
    accept = coordinator_client.post("/api/v1/evidence/feedback/", {"target_id": str(target.id), "verdict": "accept"}, format="json")
    assert accept.status_code == 201 and accept.json()["edited_text"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"target_id": "TARGET", "verdict": "maybe"}, "verdict"),
        ({"target_id": str(uuid.uuid4()), "verdict": "accept"}, "target_id"),
        ({"target_id": "not-a-uuid", "verdict": "accept"}, "target_id"),
        ({"target_id": "TARGET", "verdict": "edit"}, "edited_text"),
        ({"target_id": "TARGET", "verdict": "edit", "edited_text": "   "}, "edited_text"),
        ({"target_id": "TARGET", "verdict": "accept", "edited_text": "x"}, "edited_text"),
        ({"target_id": "TARGET", "verdict": "accept", "score": 5}, "score"),
        ({"verdict": "accept"}, "target_id"),
    ],
)
def test_bad_feedback_is_400_with_the_field_and_logs_nothing(coordinator_client, make_interaction, payload, field):
    target = make_interaction("search")
    if payload.get("target_id") == "TARGET":
        payload = {**payload, "target_id": str(target.id)}
    response = coordinator_client.post("/api/v1/evidence/feedback/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Interaction.objects.filter(kind="feedback").exists()


def test_feedback_on_feedback_is_400(coordinator_client, make_interaction):
    target = make_interaction("search")
    first = coordinator_client.post("/api/v1/evidence/feedback/", {"target_id": str(target.id), "verdict": "accept"}, format="json").json()
    response = coordinator_client.post("/api/v1/evidence/feedback/", {"target_id": first["id"], "verdict": "reject"}, format="json")
    assert response.status_code == 400
    assert "target_id" in response.json()["error"]["fields"]


def test_feedback_needs_a_token():
    response = APIClient().post("/api/v1/evidence/feedback/", {"target_id": str(uuid.uuid4()), "verdict": "accept"}, format="json")
    assert response.status_code == 401


def test_the_openapi_schema_documents_the_evidence_endpoints(staff_client):
    schema = staff_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/v1/evidence/materialize/", "/api/v1/evidence/runs/", "/api/v1/evidence/runs/{run_id}/", "/api/v1/evidence/records/", "/api/v1/evidence/feedback/"} <= set(schema["paths"])
