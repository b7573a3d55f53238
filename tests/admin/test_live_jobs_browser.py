"""Live jobs (issue 14 item 2): an ingest launched from the console lands on its job page, which
follows the job run by a real Celery worker to `succeeded` without a reload; the unified jobs list
fits 1440 px."""

from __future__ import annotations

import pytest

from tests.admin.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_ingest_launched_from_the_console_is_followed_live_to_succeeded(logged_in, celery_worker_process, tmp_path, settings):
    from apps.workers.generator import generate_workers
    from apps.workers.models import IngestJob
    from apps.workers.source_writers import write_workers

    settings.INGEST_DIRS = [tmp_path]
    path = tmp_path / "live.csv"
    write_workers(generate_workers(300, seed=31), path)

    page, url = logged_in
    page.goto(f"{url}/admin/workers/ingestjob/launch/")
    page.fill("#id_path", str(path))
    with page.expect_navigation():
        page.click("#ingest-form input[type=submit]")
    job = IngestJob.objects.order_by("-pk").first()
    assert page.url.endswith(f"/admin/workers/ingestjob/{job.pk}/change/")  # the launch lands on the job's page
    assert page.locator(f".messagelist a[href$='/ingestjob/{job.pk}/change/']").count() == 1  # and the message links to it

    # A marker on the window: a reload would drop it.
    page.evaluate("window.__stillTheSamePage = true")
    page.wait_for_selector("#job-live[data-status='succeeded']", timeout=180_000)
    assert page.evaluate("window.__stillTheSamePage === true")

    job.refresh_from_db()
    assert job.status == "succeeded" and job.rows_written == 300
    assert page.locator("#job-live .job-status-succeeded").count() == 1
    assert page.locator("#job-live progress").get_attribute("value") == "100.0"
    assert page.locator(".field-rows_written .readonly").inner_text() == "300"  # counters updated in place
    assert page.locator(".field-status_display .job-status-succeeded").count() == 1  # the field's badge too
    page.wait_for_function("document.querySelector('#job-live .job-live-note').textContent === 'finished'")
    assert page.locator(".job-cancel").is_hidden() and page.locator(".job-retry").is_hidden()  # nothing to cancel or retry
    screenshot(page, "job-live-succeeded")

    # Other kinds and states beside it, so the list shows what an operator sees on a working day.
    from apps.replay.models import ReplayBatch

    IngestJob.objects.create(source=str(tmp_path / "big.parquet"), format="parquet", status="running", progress=42.0, rows_total=1000, rows_read=420)
    ReplayBatch.objects.create(batch_id="rb_live_failed", status="failed", provider="local", total=10, passed=3,
                               error="chat provider 'local' answered 503 three times in a row; the batch stopped after 3 runs")
    page.goto(f"{url}/admin/jobs/")
    assert page.locator(f"#jobs a[href$='/ingestjob/{job.pk}/change/']").count() == 1
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths  # fits 1440 px
    screenshot(page, "jobs-list-1440")

    page.goto(f"{url}/admin/")  # the dashboard's jobs panel lists it from the same listing, linked
    assert page.locator(f"#jobs .job-line a[href$='/ingestjob/{job.pk}/change/']").count() == 1
