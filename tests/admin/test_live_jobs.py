"""The JSON a job's page polls: staff only, one kind's counters, status and progress as rendered."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_live_view_reports_status_progress_and_counters_to_staff_only(client, admin_client):
    from apps.workers.models import IngestJob

    job = IngestJob.objects.create(source="/data/w.csv", format="csv", status="running", progress=42.0, rows_total=1000, rows_read=420)
    live = f"/admin/workers/ingestjob/{job.pk}/live/"

    assert client.get(live).status_code == 302  # not logged in: the admin's login page

    body = admin_client.get(live).json()
    assert body["status"] == "running" and body["finished"] is False and body["progress"] == 42.0
    assert "job-status-running" in body["status_html"] and 'value="42.0"' in body["progress_html"]
    assert body["fields"]["rows_read"] == "420" and body["fields"]["rows_total"] == "1000"
    assert "errors" not in body["fields"]  # lists stay the page's tables
    assert body["can_cancel"] is True and body["can_retry"] is False

    IngestJob.objects.filter(pk=job.pk).update(status="failed", progress=50.0, error="boom")
    body = admin_client.get(live).json()
    assert body["finished"] is True and body["can_cancel"] is False and body["can_retry"] is True
    assert body["fields"]["error"] == "boom"

    page = admin_client.get(f"/admin/workers/ingestjob/{job.pk}/change/").content.decode()
    assert 'id="job-live"' in page and live in page and "lakehouse/job_live.js" in page
    assert admin_client.get("/admin/workers/ingestjob/999999/live/").status_code in (302, 404)
