"""An order's page shows its history (SPEC §4.8a step 6, §6), in headless Chromium at 1440 px: a
proposal accepted and another rejected from the fill page, each with a note, a no-show, then the order
cancelled from the fill page with a note — each decision a row with time, actor, decision, linked
workers and why, newest first, on a page that fits the screen. The cancelled order's pages are then
read-only and say why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.admin.conftest import OPERATOR, screenshot
from tests.admin.records import add_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_accept_reject_and_cancel_appear_in_the_orders_history(logged_in):
    from django.utils import timezone

    from apps.orders import services
    from apps.orders.models import JobOrder
    from apps.workers.models import Worker

    for n, name in enumerate(["Ana", "Ben", "Cleo", "Dev"], start=1):
        add_worker(f"W-00010{n}", first_name=name)
    order = services.order_create(
        order_id="JO-1003", client="Acme Logistics", city="Columbus", state="OH", role="forklift_operator", headcount=2, shift="night",
        start_date=timezone.localdate() + timedelta(days=1), actor=OPERATOR[0],
    )
    first = services.proposal_create(order_id="JO-1003", worker_ids=["W-000101", "W-000102"], actor="maria", note="both drove here in October")
    second = services.proposal_create(order_id="JO-1003", worker_ids=["W-000103", "W-000104"], actor="maria")
    page, url = logged_in

    # The order's title names the role by its label, never its slug.
    page.goto(f"{url}/admin/orders/joborder/{order.pk}/change/")
    assert page.locator("#content h2").first.inner_text() == "JO-1003 2× Forklift operator, Columbus, OH"
    assert "forklift_operator" not in page.locator("#content").inner_text()
    screenshot(page, "order-title-role-label")

    # Decide on the fill page, each with a note: accept the first proposal (the order fills), reject the second.
    page.goto(f"{url}/admin/orders/joborder/{order.pk}/fill/")
    assert "2 × Forklift operator, Columbus, OH" in page.locator("h1 .lh-subtitle").inner_text()
    page.fill(f"#decision-note-{first.pk}", "client confirmed both by phone")
    page.locator("#proposals").scroll_into_view_if_needed()
    screenshot(page, "order-fill-decision-note")
    with page.expect_navigation():
        page.click(f"#proposal-{first.pk} button:has-text('Accept')")
    page.fill(f"#decision-note-{second.pk}", "the client wants forklift-certified drivers only")
    with page.expect_navigation():
        page.click(f"#proposal-{second.pk} button:has-text('Reject')")
    assert JobOrder.objects.get(pk=order.pk).status == "filled"

    # A no-show the next morning (the API's path), then the client cancels: the fill page's button,
    # with a note and a confirmation.
    services.assignment_end(order_id="JO-1003", worker_id="W-000102", reason="no_show", actor="maria", note="did not answer two calls")
    page.reload()
    page.fill("#cancel-note", "client closed the night shift")
    confirmations: list[str] = []
    page.once("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.click("#cancel-order-button")
    assert confirmations and "JO-1003" in confirmations[0]
    assert JobOrder.objects.get(pk=order.pk).status == "cancelled"
    # The fill page of a cancelled order offers nothing that writes.
    assert "JO-1003 is cancelled" in page.locator("#order-closed").inner_text()
    assert page.locator("#proposals button, #find-button, #outreach-form, #cancel-order-form").count() == 0
    screenshot(page, "order-fill-cancelled")

    page.goto(f"{url}/admin/orders/joborder/{order.pk}/change/")
    # Read-only, and it says why: no Save, the values shown, not editable.
    assert "JO-1003 is cancelled" in page.locator("#order-closed").inner_text()
    assert page.locator("input[name=_save], input[name=_continue], input[name=city], select[name=role]").count() == 0
    assert page.locator(".field-role .readonly").inner_text() == "Forklift operator"
    screenshot(page, "order-cancelled-read-only")
    history = page.locator("#order-history")
    rows = history.locator("tr.lh-history-row")
    decisions = rows.evaluate_all("rows => rows.map(r => r.querySelector('td:nth-child(3) strong').textContent)")
    assert decisions == [
        "order cancelled", "assignment ended", "proposal rejected", "proposal accepted", "proposal created", "proposal created",
    ]
    actors = rows.evaluate_all("rows => rows.map(r => r.querySelector('td:nth-child(2)').textContent)")
    assert actors == [OPERATOR[0], "maria", OPERATOR[0], OPERATOR[0], "maria", "maria"]
    assert "client closed the night shift" in rows.nth(0).inner_text()
    assert "the client wants forklift-certified drivers only" in rows.nth(2).inner_text()
    assert "client confirmed both by phone" in rows.nth(3).inner_text()
    no_show = rows.nth(1)
    assert "no show — did not answer two calls" in no_show.inner_text() and "order filled → open" in no_show.inner_text()
    assert "both drove here in October" in rows.nth(5).inner_text()
    # Workers link to their pages; the proposal to its page.
    ben = Worker.objects.get(worker_id="W-000102")
    assert no_show.locator("a:has-text('W-000102')").get_attribute("href") == f"/admin/workers/worker/{ben.pk}/change/"
    assert rows.nth(3).locator(f"a:has-text('proposal {first.pk}')").count() == 1
    # Within 1440 px: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    history.scroll_into_view_if_needed()
    screenshot(page, "order-history")
