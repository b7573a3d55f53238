"""Run inspection in a real browser: a regression is a red alert (never a green tick), the bundle
reads as a conversation with the candidates as a table, the batch groups its runs."""

from __future__ import annotations

import pytest

from tests.admin.conftest import screenshot
from tests.admin.records import seed_everything

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_regression_run_shows_an_alert_and_its_bundle_as_a_conversation(logged_in):
    seeded = seed_everything()
    batch, run, worker = seeded.batch, seeded.regressed_run, seeded.worker
    page, url = logged_in

    page.goto(f"{url}/admin/replay/replayrun/")
    row = page.locator(f"#result_list tr:has(span[title='{run.run_id}'])")
    assert row.locator(".lh-alert-bad").inner_text() == "REGRESSION"
    fine = page.locator("#result_list tr:not(:has-text('REGRESSION'))").filter(has=page.locator("td"))
    assert fine.count() == 1
    assert fine.locator(".lh-alert-bad").count() == 0 and fine.locator("img[alt]").count() == 0  # no ✗ for a normal run
    screenshot(page, "replay-runs-list")

    page.goto(f"{url}/admin/replay/replayrun/{run.run_id}/change/")
    assert page.locator(".field-regression_display .lh-alert-bad").inner_text() == "REGRESSION"
    conversation = page.locator("#conversation")
    assert conversation.locator(".lh-role-system").count() == 1 and conversation.locator(".lh-role-user").count() == 1
    assert conversation.locator(".lh-role-assistant").count() == 1
    # The candidates are a table with a linked worker id, not an escaped JSON string.
    candidates = conversation.locator(".lh-candidates table")
    assert candidates.locator(f"a:has-text('{worker.worker_id}')").count() == 1
    assert '{\\"context' not in page.content() and '"candidates":' not in conversation.inner_text()
    assert page.locator("#validator-errors").inner_text().count("SMS_") == 2
    assert "Reply STOP" in page.locator("#baseline").inner_text()  # the baseline sits next to the response
    assert page.locator(f"a:has-text('{batch.batch_id}')").count() >= 1 and page.locator("a:has-text('ev_')").count() >= 1
    assert page.locator("input[type=submit][name=_save]").count() == 0
    screenshot(page, "replay-run-regression")

    page.goto(f"{url}/admin/replay/replaybatch/{batch.batch_id}/change/")
    assert page.locator(f"#regressed-runs a:has-text('{run.run_id}')").count() == 1
    assert "SMS_TOO_LONG" in page.locator("#runs-by-error_code").inner_text()
    assert "draft_sms" in page.locator("#runs-by-task_type").inner_text()
    assert page.locator(".field-regressions_display .lh-alert-bad").count() == 1
    screenshot(page, "replay-batch-grouped")
    # Each group links to exactly its runs.
    with page.expect_navigation():
        page.click("#runs-by-error_code a:has-text('SMS_TOO_LONG')")
    assert page.locator("#result_list tbody tr").count() == 1
    assert page.locator(f"#result_list span[title='{run.run_id}']").count() == 1
