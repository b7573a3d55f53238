"""The operators' console in a real browser (Debian's headless Chromium driven by Playwright):
log in, reset an index with its typed confirmation, launch an ingest and inspect the run."""

from __future__ import annotations

import shutil
import time

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still plain sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


@pytest.fixture
def operator(transactional_db):
    from apps.core.services import issue_api_token

    issue_api_token(username="console-operator", staff=True, password="correct horse battery")
    return "console-operator", "correct horse battery"


def _login(page, live_server, operator):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", operator[0])
    page.fill("#id_password", operator[1])
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_login_and_reset_the_playbook_memory_with_typed_confirmation(live_server, operator, browser_page):
    from apps.playbooks.models import Playbook
    from apps.workers.generator import generate_workers
    from apps.workers.models import Worker
    from apps.workers.normalize import normalize_row

    Worker.objects.all().delete()
    Playbook.objects.all().delete()
    row = normalize_row(next(generate_workers(1, seed=3)))
    Worker.objects.create(**row.worker_fields())
    Playbook.objects.create(query="forklift", query_embedding=[0.1] * 768, worker_ids=[row.worker_id], outcome="filled")

    page = browser_page
    _login(page, live_server, operator)
    assert "Site administration" in page.content()
    page.goto(f"{live_server.url}/admin/indexes/vectorindex/")
    assert page.locator("text=playbook_memory").count() >= 1

    page.check("tr:has-text('playbook_memory') input.action-select")
    page.select_option("select[name=action]", "reset_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#confirm-reset")
    page.fill("input[name=confirm_playbook_memory]", "wrong name")
    page.click("#do-reset")
    page.wait_for_selector("text=the typed name did not match")
    assert Playbook.objects.count() == 1

    page.check("tr:has-text('playbook_memory') input.action-select")
    page.select_option("select[name=action]", "reset_selected")
    page.click("button[name=index]")
    page.fill("input[name=confirm_playbook_memory]", "playbook_memory")
    page.click("#do-reset")
    page.wait_for_selector("text=playbook_memory reset: now empty")
    assert Playbook.objects.count() == 0
    assert Worker.objects.count() == 1  # only the chosen index was reset


def test_launch_an_ingest_and_inspect_the_run(live_server, operator, browser_page, tmp_path, settings):
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.models import IngestJob
    from apps.workers.services import run_ingest

    settings.INGEST_DIRS = [tmp_path]
    path = tmp_path / "dirty.csv"
    write_workers(generate_workers(400, seed=8, dirty=True), path)

    page = browser_page
    _login(page, live_server, operator)
    page.goto(f"{live_server.url}/admin/workers/ingestjob/")
    page.click("text=Ingest a file")
    page.fill("#id_path", "/etc/passwd")
    with page.expect_navigation():
        page.click("#ingest-form input[type=submit]")
    assert "ingest directories" in page.content()
    page.fill("#id_path", str(path))
    with page.expect_navigation():
        page.click("#ingest-form input[type=submit]")
    assert "queued" in page.content()

    job = IngestJob.objects.order_by("-pk").first()
    run_ingest(job.pk)  # what the Celery worker would do with the queued job
    # (when a test worker took the job first, run_ingest leaves it to that runner: wait for its end)
    deadline = time.monotonic() + 60
    while not IngestJob.objects.get(pk=job.pk).is_finished:
        assert time.monotonic() < deadline, "the ingest never ended"
        time.sleep(0.1)
    page.goto(f"{live_server.url}/admin/workers/ingestjob/{job.pk}/change/")
    content = page.content()
    assert "succeeded" in content
    first_error = IngestJob.objects.get(pk=job.pk).errors[0]
    assert first_error["reason"] in content  # the rejected rows are inspectable with their reasons
