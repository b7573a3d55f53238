"""The operators' console in a real browser (Debian's headless Chromium driven by Playwright): the
typed confirmations that guard data, an ingest launched and inspected, and the shared checks over
every admin page — no 500, no horizontal scrollbar at 1440 px, no JavaScript error."""

from __future__ import annotations

import time

import pytest
from django.contrib import admin

from tests.admin.conftest import screenshot
from tests.admin.records import seed_everything

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reset_the_playbook_memory_with_typed_confirmation(logged_in):
    from apps.playbooks.models import Playbook
    from apps.workers.generator import generate_workers
    from apps.workers.models import Worker
    from apps.workers.normalize import normalize_row

    row = normalize_row(next(generate_workers(1, seed=3)))
    Worker.objects.create(**row.worker_fields())
    Playbook.objects.create(query="forklift", query_embedding=[0.1] * 768, worker_ids=[row.worker_id], outcome="filled")

    page, url = logged_in
    page.goto(f"{url}/admin/indexes/vectorindex/")
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


@pytest.mark.celery_worker
def test_drop_before_ingest_refuses_without_the_typed_confirmation_and_keeps_every_row(logged_in, celery_worker_process, tmp_path, settings):
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.models import IngestJob, Worker
    from apps.workers.normalize import normalize_row

    for worker in generate_workers(12, seed=21):
        Worker.objects.create(**normalize_row(worker).worker_fields())
    settings.INGEST_DIRS = [tmp_path]
    path = tmp_path / "five.csv"
    write_workers(generate_workers(5, seed=22), path)

    page, url = logged_in
    page.goto(f"{url}/admin/workers/ingestjob/launch/")
    page.fill("#id_path", str(path))
    page.check("#id_drop")
    with page.expect_navigation():
        page.click("#ingest-form input[type=submit]")
    error = page.locator(".errorlist").inner_text()
    assert "deletes all 12 workers" in error and "Type workers to confirm" in error
    screenshot(page, "ingest-drop-refused-without-typed-confirmation")
    assert not IngestJob.objects.exists() and Worker.objects.count() == 12  # nothing queued, nothing deleted

    page.fill("#id_confirm_drop", "yes")  # anything but the word is still a refusal
    with page.expect_navigation():
        page.click("#ingest-form input[type=submit]")
    assert "deletes all 12 workers" in page.locator(".errorlist").inner_text() and not IngestJob.objects.exists()

    page.fill("#id_confirm_drop", "workers")
    with page.expect_navigation():
        page.click("#ingest-form input[type=submit]")
    job = IngestJob.objects.get()
    assert job.drop is True and page.url.endswith(f"/admin/workers/ingestjob/{job.pk}/change/")
    # The confirmed job runs in the worker: wait for its end (the test's teardown empties the tables,
    # which must not race a running ingest), then the drop took the 12 and the file's 5 are the index.
    deadline = time.monotonic() + 180
    while job.status in ("queued", "running"):
        assert time.monotonic() < deadline, f"ingest job still {job.status}; see var/test-celery-worker.log"
        time.sleep(0.1)  # the poll interval; the deadline is the bound
        job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert set(Worker.objects.values_list("worker_id", flat=True)) == {w["worker_id"] for w in generate_workers(5, seed=22)}


def test_launch_an_ingest_and_inspect_the_run(logged_in, tmp_path, settings):
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.models import IngestJob
    from apps.workers.services import run_ingest

    settings.INGEST_DIRS = [tmp_path]
    path = tmp_path / "dirty.csv"
    write_workers(generate_workers(400, seed=8, dirty=True), path)

    page, url = logged_in
    page.goto(f"{url}/admin/workers/ingestjob/")
    page.click("text=Ingest a file")
    page.fill("#id_path", "/etc/passwd")
    with page.expect_navigation():
        page.click("#ingest-form input[type=submit]")
    assert "ingest directories" in page.content()
    page.fill("#id_path", str(path))
    with page.expect_navigation():
        page.click("#ingest-form input[type=submit]")
    job = IngestJob.objects.order_by("-pk").first()
    assert page.locator(f".messagelist a[href$='/ingestjob/{job.pk}/change/']").count() == 1  # the message links to the job

    run_ingest(job.pk)  # what the Celery worker would do with the queued job
    # (when a test worker took the job first, run_ingest leaves it to that runner: wait for its end)
    deadline = time.monotonic() + 60
    while not IngestJob.objects.get(pk=job.pk).is_finished:
        assert time.monotonic() < deadline, "the ingest never ended"
        time.sleep(0.1)
    page.goto(f"{url}/admin/workers/ingestjob/{job.pk}/change/")
    assert "succeeded" in page.content()
    first_error = IngestJob.objects.get(pk=job.pk).errors[0]
    assert first_error["reason"] in page.content()  # the rejected rows are inspectable with their reasons
    assert page.locator(".field-timings_pretty table.lh-kv").count() == 1  # timings as a table, not JSON
    screenshot(page, "ingest-job-inspected")


def _widths(page) -> list[int]:
    """[needed, visible] widths of the changelist's results box, then of the page: the result table
    sits in a scrolling box, so compare what it needs with what it has."""
    return page.evaluate(
        "() => { const r = document.querySelector('#changelist .results') || document.documentElement;"
        " return [r.scrollWidth, r.clientWidth, document.documentElement.scrollWidth, window.innerWidth]; }"
    )


def test_the_indexes_page_says_which_graph_a_rebuild_would_change(logged_in, settings):
    from apps.indexes.services import ensure_all_vector_indexes

    ensure_all_vector_indexes()
    settings.HNSW_EF_CONSTRUCTION += 40  # raised since the workers graphs were built
    page, url = logged_in
    page.goto(f"{url}/admin/indexes/vectorindex/")
    badges = page.locator("#result_list .lh-badge-warn")
    assert badges.count() == 2  # workers and workers_semantic; the playbook memory has its own setting
    assert page.locator("tr:has-text('playbook_memory') .lh-badge-warn").count() == 0
    assert badges.first.inner_text() == f"settings: m={settings.HNSW_M}, ef_construction={settings.HNSW_EF_CONSTRUCTION} · rebuild to apply"
    assert badges.first.is_visible()
    needed, visible, page_needed, page_visible = _widths(page)
    assert needed <= visible + 1 and page_needed <= page_visible + 1, "the list no longer fits 1440 px"
    screenshot(page, "indexes-settings-changed-rebuild-to-apply")


def _admin_models():
    return sorted(admin.site._registry, key=lambda model: (model._meta.app_label, model._meta.model_name))


def test_every_changelist_and_change_page_answers_fits_1440px_and_logs_no_error(logged_in):
    seeded = seed_everything()
    page, url = logged_in
    too_wide, failures = [], []
    for model in _admin_models():
        opts = model._meta
        listing = page.goto(f"{url}/admin/{opts.app_label}/{opts.model_name}/")
        if listing.status >= 500:
            failures.append(f"{opts.label} changelist: {listing.status}")
            continue
        widths = _widths(page)
        if widths[0] > widths[1] + 1 or widths[2] > widths[3] + 1:
            too_wide.append(f"{opts.label}: {widths}")
            screenshot(page, f"too-wide-{opts.app_label}-{opts.model_name}")
        link = page.locator("#result_list tbody tr:first-child th a, #result_list tbody tr:first-child td a").first
        if link.count() == 0:
            failures.append(f"{opts.label}: no object to open")
            continue
        change = page.goto(url + link.get_attribute("href"))
        if change.status >= 500:
            failures.append(f"{opts.label} change page: {change.status}")
    assert not failures, failures
    assert not too_wide, too_wide
    page.goto(f"{url}/admin/workers/worker/")
    screenshot(page, "workers-list-1440")
    page.goto(f"{url}/admin/evidence/evidencerecord/")
    screenshot(page, "evidence-records-list-1440")

    # Records are linked both ways: evidence -> its interaction -> back to the evidence, and its replays.
    page.goto(f"{url}/admin/evidence/evidencerecord/{seeded.evidence.pk}/change/")
    assert page.locator(f".field-replays a:has-text('{seeded.regressed_run.run_id}')").count() == 1
    screenshot(page, "evidence-record-linked")
    with page.expect_navigation():
        page.click(f".field-source_link a:has-text('{seeded.interaction.pk}')")
    assert page.locator(f".field-evidence_links a:has-text('{seeded.evidence.evidence_id}')").count() == 1
    screenshot(page, "interaction-linked")
    # The interaction search matches more than the actor: the model, or the id an evidence record names.
    for term in ("local-chat", str(seeded.interaction.pk)):
        page.goto(f"{url}/admin/interactions/interaction/?q={term}")
        assert page.locator("#result_list tbody tr").count() == 1, term
