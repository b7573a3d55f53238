"""The replay read API (SPEC §4.8): runs filter by batch, status, task type and regression, and one run
reads in full, bundle included."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.replay.api.serializers import ReplayRunDetailSerializer
from apps.replay.models import ReplayBatch, ReplayRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(db) -> None:
    now = timezone.now()
    batches = [ReplayBatch.objects.create(batch_id=b, provider="local") for b in ("rb_1", "rb_2")]
    rows = [
        ("rr_a", batches[0], "draft_sms", "pass", False),
        ("rr_b", batches[0], "draft_sms", "fail", True),
        ("rr_c", batches[0], "propose_fill", "fail", False),
        ("rr_d", batches[1], "propose_fill", "error", False),
    ]
    for run_id, batch, task_type, status, regression in rows:
        ReplayRun.objects.create(
            run_id=run_id, batch=batch, evidence_id=f"ev_{run_id}", task_type=task_type, status=status, regression=regression,
            provider="local", bundle={"messages": [{"role": "user", "content": f"task {run_id}"}]}, bundle_sha256="0" * 64,
            started_at=now, finished_at=now,
        )


def _ids(client, **params) -> set[str]:
    response = client.get("/api/v1/replay/runs/", params)
    assert response.status_code == 200, response.content
    return {r["run_id"] for r in response.json()["results"]}


def test_runs_filter_by_status_task_type_regression_and_batch(coordinator_client, runs):
    assert _ids(coordinator_client) == {"rr_a", "rr_b", "rr_c", "rr_d"}
    assert _ids(coordinator_client, status="fail") == {"rr_b", "rr_c"}  # used to be ignored: all four came back
    assert _ids(coordinator_client, task_type="propose_fill") == {"rr_c", "rr_d"}
    assert _ids(coordinator_client, regression="true") == {"rr_b"}
    assert _ids(coordinator_client, regression="false") == {"rr_a", "rr_c", "rr_d"}
    assert _ids(coordinator_client, batch="rb_1", status="fail", task_type="draft_sms") == {"rr_b"}
    assert _ids(coordinator_client, batch="rb_2") == {"rr_d"}


@pytest.mark.parametrize("params, field", [({"status": "failed"}, "status"), ({"task_type": "guessing"}, "task_type"), ({"regression": "maybe"}, "regression")])
def test_a_bad_filter_is_a_400_naming_it(coordinator_client, runs, params, field):
    response = coordinator_client.get("/api/v1/replay/runs/", params)
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_a_run_reads_in_full_with_its_bundle(coordinator_client, runs):
    listed = coordinator_client.get("/api/v1/replay/runs/", {"batch": "rb_2"}).json()["results"][0]
    assert "bundle" not in listed  # the list stays the replay_run.v1 line
    detail = coordinator_client.get("/api/v1/replay/runs/rr_d/")
    assert detail.status_code == 200
    body = detail.json()
    assert body == {**listed, "bundle": {"messages": [{"role": "user", "content": "task rr_d"}]}}
    assert coordinator_client.get("/api/v1/replay/runs/rr_nope/").status_code == 404
    # The schema's shape is the body's shape.
    assert set(body) == set(ReplayRunDetailSerializer().fields)
    shape = ReplayRunDetailSerializer(data=body)
    assert shape.is_valid(), shape.errors


def test_a_batch_can_be_launched_against_a_baseline_batch(staff_client, coordinator_client):
    ReplayBatch.objects.create(batch_id="rb_base", provider="local", status="succeeded")
    bad = staff_client.post("/api/v1/replay/batches/", {"provider": "local", "baseline_batch": "rb_nope"}, format="json")
    assert bad.status_code == 400 and "baseline_batch" in bad.json()["error"]["fields"]
    assert ReplayBatch.objects.count() == 1  # nothing written
    accepted = staff_client.post("/api/v1/replay/batches/", {"provider": "local", "baseline_batch": "rb_base"}, format="json")
    assert accepted.status_code == 202
    body = coordinator_client.get(f"/api/v1/replay/batches/{accepted.json()['job_id']}/").json()
    assert body["baseline_batch"] == "rb_base" and "cost_usd" in body and "unpriced" in body
