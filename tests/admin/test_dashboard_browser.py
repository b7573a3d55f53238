"""The console's home page in a real browser: each dependency's state, red when one is down, the
jobs and the last replay's regressions — and the app list below, in working order."""

from __future__ import annotations

import pytest

from tests.admin.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _some_work():
    from django.utils import timezone

    from apps.replay.models import ReplayBatch
    from apps.workers.models import IngestJob

    now = timezone.now()
    IngestJob.objects.create(source="/data/workers.csv", format="csv", status="succeeded", progress=100.0, rows_total=400,
                             rows_read=400, rows_written=396, rows_rejected=4, started_at=now, finished_at=now)
    IngestJob.objects.create(source="/data/more.csv", format="csv", status="running", progress=42.0, rows_total=1000, rows_read=420, started_at=now)
    return ReplayBatch.objects.create(batch_id="rb_dashboard", status="succeeded", progress=100.0, provider="local", total=10, passed=7, failed=2,
                                      errors=1, regressions=2, started_at=now, finished_at=now)


def test_dashboard_shows_every_dependency_up_the_jobs_and_the_regressions(logged_in, celery_worker_process):
    batch = _some_work()
    page, url = logged_in
    page.goto(f"{url}/admin/")
    for row in ("database", "pgvector", "redis", "celery"):
        assert page.locator(f"#health-{row} .lh-dot-ok").count() == 1, row
    assert page.locator("#health-database").inner_text().count("up") == 1
    assert page.locator(".health-queue").count() >= 1
    # The last replay's regressions are a red alert that leads to exactly those runs.
    alert = page.locator("#last-replay-regressions")
    assert alert.inner_text() == "2 regressions"
    assert "regression__exact=1" in alert.get_attribute("href") and batch.batch_id in alert.get_attribute("href")
    assert "lh-banner-bad" in page.locator("#health-banner").get_attribute("class")
    with page.expect_navigation():
        page.click(f"#last-replay a:has-text('{batch.batch_id}')")
    assert page.locator(".field-batch_id .readonly").inner_text() == batch.batch_id  # the link opens that batch
    page.go_back()
    # Jobs: the running one first, each linked to its page.
    first = page.locator("#jobs .job-line").first
    assert "running" in first.inner_text() and first.locator("a").get_attribute("href").endswith("/change/")
    # The app list follows, in working order: orders, workers … authentication last.
    headings = page.locator(".app-list caption, #content-main .module caption").all_inner_texts()
    order = [h.strip().lower() for h in headings]
    assert order.index("job orders") < order.index("workers") < order.index("replay") < order.index("evidence")
    assert order[-1].startswith("auth") or order[-2].startswith("auth")
    assert page.locator("a:has-text('View site')").get_attribute("href") == "/admin/"
    screenshot(page, "dashboard-healthy")


def test_a_stopped_redis_shows_red_quickly(logged_in, settings):
    page, url = logged_in
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: what a stopped Redis looks like
    page.goto(f"{url}/admin/")
    assert page.locator("#health-redis .lh-dot-bad").count() == 1
    assert "down" in page.locator("#health-redis").inner_text()
    assert page.locator("#health-database .lh-dot-ok").count() == 1  # one dependency down hides nothing else
    banner = page.locator("#health-banner")
    assert "redis" in banner.inner_text() and "lh-banner-bad" in banner.get_attribute("class")
    screenshot(page, "dashboard-redis-down")
