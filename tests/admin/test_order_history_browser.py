"""An order's page shows its history (SPEC §4.8a step 6, §6), in headless Chromium at 1440 px: a
proposal accepted and another rejected from the fill page, a no-show, then the order cancelled from
the order list — each decision a row with time, actor, decision, linked workers and reason, newest
first, on a page that fits the screen."""

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

    # Decide on the fill page: accept the first proposal (the order fills), reject the second.
    page.goto(f"{url}/admin/orders/joborder/{order.pk}/fill/")
    with page.expect_navigation():
        page.click(f"#proposal-{first.pk} button:has-text('Accept')")
    with page.expect_navigation():
        page.click(f"#proposal-{second.pk} button:has-text('Reject')")
    assert JobOrder.objects.get(pk=order.pk).status == "filled"

    # A no-show the next morning (the API's path), then the client cancels: the order list's action.
    services.assignment_end(order_id="JO-1003", worker_id="W-000102", reason="no_show", actor="maria", note="did not answer two calls")
    page.goto(f"{url}/admin/orders/joborder/")
    page.check(f"input[name=_selected_action][value='{order.pk}']")
    page.select_option("select[name=action]", "cancel_orders")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert JobOrder.objects.get(pk=order.pk).status == "cancelled"

    page.goto(f"{url}/admin/orders/joborder/{order.pk}/change/")
    history = page.locator("#order-history")
    rows = history.locator("tr.lh-history-row")
    decisions = rows.evaluate_all("rows => rows.map(r => r.querySelector('td:nth-child(3) strong').textContent)")
    assert decisions == [
        "order cancelled", "assignment ended", "proposal rejected", "proposal accepted", "proposal created", "proposal created",
    ]
    actors = rows.evaluate_all("rows => rows.map(r => r.querySelector('td:nth-child(2)').textContent)")
    assert actors == [OPERATOR[0], "maria", OPERATOR[0], OPERATOR[0], "maria", "maria"]
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
